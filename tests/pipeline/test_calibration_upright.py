"""The automatic calibration re-levels only from upright quiet periods (floor rests keep the mounting)."""

from __future__ import annotations

import math

import numpy as np

from sensor.events import SetEvent
from sensor.frames import STANDARD_GRAVITY_MPS2
from sensor.pipeline.calibration import MountingCalibrator
from sensor.pipeline.pipeline import HipPipeline
from sensor.pipeline.reps.counter import RepStage
from sensor.sim import ExerciseSet, Mounting, Rest, Scenario, SensorModel, Standing, Tempo, Walking, simulate
from tests.pipeline._sims import TILTED

FS_HZ = 104.0


def _quiet(up: np.ndarray, seconds: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    n = round(seconds * FS_HZ)
    acc = STANDARD_GRAVITY_MPS2 * up / np.linalg.norm(up) + rng.normal(0.0, 0.03, (n, 3))
    gyr = np.array([0.01, -0.02, 0.005]) + rng.normal(0.0, 0.005, (n, 3))
    return acc, gyr


def _angle_deg(a: np.ndarray, b: np.ndarray) -> float:
    c = float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))
    return math.degrees(math.acos(max(-1.0, min(1.0, c))))


def _vertical(cal: MountingCalibrator) -> np.ndarray:
    v = cal.standing_vertical
    assert v is not None
    return v


def _sets_end_to_end(sc: Scenario, *, chunk_s: float) -> tuple[np.ndarray, np.ndarray, list[tuple[str, int]]]:
    """The true and the final automatic mounting and the ``(exercise, reps)`` of every set of ``sc`` through the
    running pipeline's automatic calibration."""
    res = simulate(sc)
    p = HipPipeline(FS_HZ, stages=[RepStage()])
    events = []
    for blk in res.block.chunks(round(chunk_s * FS_HZ)):
        events += p.feed(blk)
    events += p.finish()
    sets = [(str(e.exercise), e.reps) for e in events if isinstance(e, SetEvent)]
    return res.truth.r_pelvis_from_sensor, p.mounting.r_pelvis_from_sensor, sets


def test_lying_rest_keeps_the_standing_vertical_and_a_small_tilt_relevels() -> None:
    rng = np.random.default_rng(3)
    stand_up = np.array([0.1, 0.2, 1.0])
    cal = MountingCalibrator(FS_HZ)
    cal.feed_rest(*_quiet(stand_up, 5.0, rng))
    assert _angle_deg(_vertical(cal), stand_up) < 0.5
    # lying on the back: gravity ~90 deg away in the sensor frame; the bias is still learnt there
    lying_up = np.cross(stand_up, np.array([1.0, 0.0, 0.0]))
    bias_updates = cal.feed_rest(*_quiet(lying_up, 20.0, rng))
    assert _angle_deg(_vertical(cal), stand_up) < 0.5
    assert bias_updates
    assert float(np.max(np.abs(bias_updates[-1][1] - np.array([0.01, -0.02, 0.005])))) < 2e-3
    # standing again with a clip moved by 20 deg: re-levelled
    rot = np.array([[1.0, 0.0, 0.0], [0.0, math.cos(0.35), -math.sin(0.35)], [0.0, math.sin(0.35), math.cos(0.35)]])
    moved_up = rot @ stand_up
    cal.feed_rest(*_quiet(moved_up, 5.0, rng))
    assert _angle_deg(_vertical(cal), moved_up) < 0.5


def test_bridge_sets_after_walking_are_recognised_with_the_automatic_mounting() -> None:
    sc = Scenario(
        segments=[
            Standing(duration_s=6.0),
            Walking(duration_s=25.0),
            Standing(duration_s=4.0),
            ExerciseSet(exercise="glute_bridge", reps=10),
            Rest(duration_s=40.0, mode="fidget", posture="supine"),
            ExerciseSet(exercise="glute_bridge", reps=10),
            Standing(duration_s=5.0),
        ],
        sensor=SensorModel(sampling_rate_hz=FS_HZ),
        mounting=TILTED,
        seed=17,
    )
    truth_r, mounting_r, sets = _sets_end_to_end(sc, chunk_s=0.5)
    # the vertical of the final mounting is still the standing one, after 40 s lying on the back
    assert _angle_deg(mounting_r[2], truth_r[2]) < 3.0
    assert sets == [("glute_bridge", 10), ("glute_bridge", 10)]


def test_exercise_steps_and_floor_work_do_not_flip_the_forward_sign() -> None:
    """Romanian deadlifts and slow step-ups after a walk, then donkey kicks on all fours (the accuracy bench's
    end-to-end seed 15).

    Every step-up stops on the step and steps back down: the velocity lost before and gained after each pause
    was taken for gait stops and starts and, over 24 reps, outvoted the walk; the forward axis flipped by
    180 deg and the kneeling rest read as lying on the back (0 of 11 kicks). Only starts and stops next to an
    upright rest that gain or lose walking speed are evidence now, and floor segments are not gait.
    """
    sc = Scenario(
        segments=[
            Standing(duration_s=10.0),
            Walking(duration_s=34.0),
            Rest(duration_s=25.0, mode="walk", posture="standing"),
            ExerciseSet(
                exercise="romanian_deadlift",
                reps=12,
                tempo=Tempo(eccentric_s=0.44, concentric_s=0.57, pause_far_s=0.17, pause_near_s=1.08),
            ),
            Rest(duration_s=38.0, mode="still", posture="standing"),
            ExerciseSet(
                exercise="step_up",
                reps=24,
                side="right",
                tempo=Tempo(eccentric_s=2.39, concentric_s=1.37, pause_far_s=0.61, pause_near_s=0.03),
            ),
            Rest(duration_s=43.0, mode="still", posture="quadruped"),
            ExerciseSet(exercise="donkey_kick", reps=11, side="right"),
            Standing(duration_s=5.0),
        ],
        sensor=SensorModel(sampling_rate_hz=FS_HZ),
        mounting=Mounting(euler_deg=(143.8, -20.6, 6.2)),
        seed=15,
    )
    truth_r, mounting_r, sets = _sets_end_to_end(sc, chunk_s=2.0)
    # the forward axis of the final mounting points forward (not backward), and the kicks are counted
    assert _angle_deg(mounting_r[0], truth_r[0]) < 10.0
    assert sets == [("romanian_deadlift", 12), ("step_up", 24), ("donkey_kick", 11)]
