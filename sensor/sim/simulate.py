"""``simulate(scenario) -> SimResult``: the one entry point of the simulator."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

from sensor.errors import ScenarioError
from sensor.model import ImuBlock
from sensor.sim.imu import SensorRealisation, pelvis_imu
from sensor.sim.kinematics import MotionModel, build
from sensor.sim.scenario import Scenario
from sensor.sim.truth import Truth

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True, eq=False)
class SimResult:
    """The recording (``block``, sensor frame, SI units, with the simulated loss) and its ground truth.

    ``acc_true_mps2`` / ``gyr_true_radps`` are the error-free readings in the sensor frame for every sample
    (including lost ones), handy for separating estimator error from sensor error.
    """

    scenario: Scenario
    block: ImuBlock
    truth: Truth
    acc_true_mps2: FloatArray
    gyr_true_radps: FloatArray


def _rotate_rows(v: FloatArray, r_ps: FloatArray) -> FloatArray:
    """``R_sp v`` for row vectors ``v`` (n, 3), i.e. ``v @ R_ps``, as 9 scaled adds (no BLAS threads)."""
    out = np.empty_like(v)
    for j in range(3):
        out[:, j] = v[:, 0] * r_ps[0, j] + v[:, 1] * r_ps[1, j] + v[:, 2] * r_ps[2, j]
    return out


def simulate(scenario: Scenario, seed: int | None = None) -> SimResult:
    """Simulate a scenario. Deterministic for ``seed`` (default: ``scenario.seed``).

    The motion and the sensor errors draw from independent random streams, so changing the sensor model keeps
    the motion (and its truth) identical for the same seed.
    """
    root = np.random.SeedSequence(scenario.seed if seed is None else seed)
    motion_seq, sensor_seq = root.spawn(2)
    kin = build(scenario, motion_seq)
    lever = np.asarray(scenario.mounting.lever_arm_m, dtype=float)
    r_ps = scenario.mounting.r_pelvis_from_sensor()
    f_p, w_p = pelvis_imu(kin.channels, lever)
    acc = _rotate_rows(f_p, r_ps)
    gyr = _rotate_rows(w_p, r_ps)
    sensor = SensorRealisation(scenario.sensor, sensor_seq, float(kin.t_s[-1]) if kin.t_s.size else 0.0)
    block = sensor.apply(0, kin.t_s, acc, gyr, scenario.sensor_id)
    err = sensor.errors
    ch = kin.channels
    truth = Truth(
        sampling_rate_hz=scenario.sensor.sampling_rate_hz,
        t_s=kin.t_s,
        roll_deg=np.degrees(ch.roll.v),
        pitch_deg=np.degrees(ch.pitch.v),
        yaw_deg=np.degrees(ch.heading.v + ch.yaw_osc.v),
        z_m=ch.z.v.copy(),
        activity_code=kin.activity_code,
        quiet_standing=kin.quiet_standing,
        steps=kin.steps,
        reps=kin.reps,
        sets=kin.sets,
        holds=kin.holds,
        segments=kin.segments,
        r_pelvis_from_sensor=r_ps,
        lever_arm_m=lever,
        gyr_bias_t_s=err.gyr_bias_t_s,
        gyr_bias_radps=err.gyr_bias_radps,
        acc_bias_t_s=err.acc_bias_t_s,
        acc_bias_mps2=err.acc_bias_mps2,
        acc_scale=err.acc_scale,
        gyr_scale=err.gyr_scale,
        scenario=scenario.model_dump(mode="json"),
    )
    return SimResult(scenario, block, truth, acc, gyr)


#: The longest run :func:`simulate_stream` makes, s (its memory grows by ~32 bytes per second of run).
MAX_STREAM_S: Final = 7 * 86_400.0


def simulate_stream(scenario: Scenario, seed: int | None = None, *, chunk_samples: int = 2080) -> Iterator[ImuBlock]:
    """The recording of :func:`simulate`, generated window by window (constant memory for hours of data).

    The concatenation of the yielded blocks equals ``simulate(scenario, seed).block`` sample for sample, whatever
    ``chunk_samples`` is (every random draw is tied to a segment or to a fixed block of samples, not to the
    window). Windows in which every sample was lost yield nothing. No truth is produced here: use
    :func:`simulate` for it.
    """
    if chunk_samples <= 0:
        raise ScenarioError(f"chunk_samples must be > 0, got {chunk_samples}", key="chunk_samples")
    root = np.random.SeedSequence(scenario.seed if seed is None else seed)
    motion_seq, sensor_seq = root.spawn(2)
    mm = MotionModel(scenario, motion_seq)
    if mm.plans[-1].t1 > MAX_STREAM_S:
        raise ScenarioError(
            f"scenario {scenario.name!r} lasts {mm.plans[-1].t1:,.0f} s, more than the {MAX_STREAM_S:,.0f} s (7 days) "
            "simulate_stream generates (the sensor's bias walk is drawn per second for the whole run up front); "
            "split it into several scenarios",
            key="segments",
        )
    lever = np.asarray(scenario.mounting.lever_arm_m, dtype=float)
    r_ps = scenario.mounting.r_pelvis_from_sensor()
    n = mm.n_samples
    sensor = SensorRealisation(scenario.sensor, sensor_seq, (n - 1) / mm.fs if n else 0.0)
    last_kept = -1
    for i0 in range(0, n, chunk_samples):
        i1 = min(i0 + chunk_samples, n)
        t, ch = mm.channels(i0, i1)
        f_p, w_p = pelvis_imu(ch, lever)
        block = sensor.apply(i0, t, _rotate_rows(f_p, r_ps), _rotate_rows(w_p, r_ps), scenario.sensor_id, last_kept)
        if len(block):
            last_kept = int(block.sample_index[-1])
            yield block
