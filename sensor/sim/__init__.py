"""The motion simulator: physically consistent hip-IMU recordings with exact ground truth.

Public API (stable)::

    from sensor.sim import Scenario, simulate
    from sensor.sim import Standing, Sitting, Walking, Running, ExerciseSet, Hold, Rest, Turn, Hill, Tempo
    from sensor.sim import SensorModel, Mounting, Subject, SimResult, Truth

    sc = Scenario.preset("demo")                  # or Scenario.from_file("x.yaml"), or built in Python:
    sc = Scenario(segments=[Standing(duration_s=10), Running(duration_s=600, drop_left_deg=5, drop_right_deg=9)],
                  sensor=SensorModel(sampling_rate_hz=208), mounting=Mounting(euler_deg=(180, 8, -12)), seed=1)
    res = simulate(sc, seed=None)                 # seed defaults to sc.seed; deterministic
    res.block                                     # ImuBlock: sensor frame, m/s^2 with gravity, rad/s, loss marked
    res.truth.roll_deg / pitch_deg / yaw_deg      # per sample, sensor.frames conventions (obliquity = roll)
    res.truth.t_s, res.truth.activity             # true sample times (all samples), per-sample activity labels
    res.truth.steps.t_ic_s / t_to_s / side / pelvic_drop_deg / neutral_deg / neutral_source / in_turn / steady
    res.truth.steps.step_time_s / contact_time_s / vertical_oscillation_m / target_drop_deg / activity
    res.truth.reps (t_start_s, t_far_s, t_return_s, t_end_s, eccentric_s, concentric_s, pause_s, exercise, side,
                    index_in_set, set_index, rom, vertical_travel_m, tilt_range_deg, lateral_tilt_deg)
    res.truth.sets (t_start_s, t_end_s, exercise, reps, side), res.truth.holds (t_start_s, t_end_s, exercise)
    res.truth.r_pelvis_from_sensor                # mounting: sensor-frame vectors -> pelvis frame (3x3)
    res.truth.gyr_bias_at(t_s)                    # true gyroscope bias, sensor frame
    res.truth.to_json() / Truth.from_json(text)

Times: ``block.t_s`` equals ``truth.t_s[block.sample_index]`` unless timestamp jitter is simulated.
Pelvic drop truth uses :func:`sensor.definitions.pelvic_drop_deg` (the same function the analysis uses).

Streaming: ``simulate`` is vectorised (an hour of 208 Hz data in about a second of CPU, bench/bench_sim.py), so a
live source can simulate once and stream slices (``res.block.chunks(6)``). For hours of data in constant memory,
``simulate_stream(sc, seed=None, chunk_samples=2080)`` yields the same samples window by window: the
concatenation equals ``simulate(sc).block`` exactly, for any chunk size.

Models and what they leave out: ``docs/simulator.md``.
"""

from sensor.sim.imu import rotation_world_from_pelvis
from sensor.sim.presets import PRESETS
from sensor.sim.scenario import (
    ExerciseSet,
    Hill,
    Hold,
    Mounting,
    Rest,
    Running,
    Scenario,
    Segment,
    SensorModel,
    Sitting,
    Standing,
    Subject,
    Tempo,
    Turn,
    Walking,
)
from sensor.sim.simulate import SimResult, simulate, simulate_stream
from sensor.sim.truth import ACTIVITY_LABELS, Truth

__all__ = [
    "ACTIVITY_LABELS",
    "PRESETS",
    "ExerciseSet",
    "Hill",
    "Hold",
    "Mounting",
    "Rest",
    "Running",
    "Scenario",
    "Segment",
    "SensorModel",
    "SimResult",
    "Sitting",
    "Standing",
    "Subject",
    "Tempo",
    "Truth",
    "Turn",
    "Walking",
    "rotation_world_from_pelvis",
    "simulate",
    "simulate_stream",
]
