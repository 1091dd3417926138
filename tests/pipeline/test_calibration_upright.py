"""The automatic calibration re-levels only from upright quiet periods (floor rests keep the mounting)."""

from __future__ import annotations

import math

import numpy as np

from sensor.events import SetEvent
from sensor.frames import STANDARD_GRAVITY_MPS2
from sensor.pipeline.calibration import MountingCalibrator
from sensor.pipeline.pipeline import HipPipeline
from sensor.pipeline.reps.counter import RepStage
from sensor.sim import ExerciseSet, Rest, Scenario, SensorModel, Standing, Walking, simulate
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
    res = simulate(sc)
    p = HipPipeline(FS_HZ, stages=[RepStage()])
    events = []
    for blk in res.block.chunks(round(0.5 * FS_HZ)):
        events += p.feed(blk)
    events += p.finish()
    # the vertical of the final mounting is still the standing one, after 40 s lying on the back
    v_true = res.truth.r_pelvis_from_sensor[2]
    assert _angle_deg(p.mounting.r_pelvis_from_sensor[2], v_true) < 3.0
    sets = [e for e in events if isinstance(e, SetEvent)]
    assert [(s.exercise, s.reps) for s in sets] == [("glute_bridge", 10), ("glute_bridge", 10)]
