"""Sign of the forward axis from the collision at initial contact (sensor.pipeline.calibration)."""

from __future__ import annotations

import numpy as np
import pytest

from sensor.frames import STANDARD_GRAVITY_MPS2
from sensor.pipeline import calibration
from sensor.pipeline.calibration import MountingCalibrator

FS = 100.0
STEP_S = 0.55


def _gait(direction: np.ndarray, *, braking_fast: bool, seconds: float = 30.0, seed: int = 4) -> np.ndarray:
    """Walking-like specific force (sensor frame, z up): no standing start, so no start/stop evidence.

    Along ``direction`` the forward acceleration of every step rises slowly (push-off) and falls within 60 ms
    (the collision braking of the new stance leg); ``braking_fast=False`` plays it backwards in time.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(round(seconds * FS)) / FS
    ph = (t / STEP_S) % 1.0
    rise = 1.0 - 0.06 / STEP_S
    saw = np.where(ph < rise, ph / rise, (1.0 - ph) / (1.0 - rise))  # 0 -> 1 slowly, 1 -> 0 fast
    if not braking_fast:
        saw = saw[::-1]
    ap = 3.0 * (saw - saw.mean())
    ml = 0.8 * np.sin(np.pi * t / STEP_S)  # one sway cycle per stride
    v = STANDARD_GRAVITY_MPS2 + 1.5 * np.cos(2 * np.pi * t / STEP_S)
    d = direction / np.linalg.norm(direction)
    side = np.cross([0.0, 0.0, 1.0], d)
    acc = ap[:, None] * d + ml[:, None] * side + v[:, None] * np.array([0.0, 0.0, 1.0])
    return acc + rng.normal(0.0, 0.05, acc.shape)


@pytest.mark.parametrize("braking_fast", [True, False])
def test_forward_sign_from_the_collision_braking(braking_fast: bool) -> None:
    d = np.array([0.0, 1.0, 0.0])  # the prior (identity) forward is x: perpendicular, so it casts no vote
    acc = _gait(d, braking_fast=braking_fast)
    up = np.tile([0.0, 0.0, 1.0], (acc.shape[0], 1))
    cal = MountingCalibrator(FS)
    cal.feed_rest(acc, None)
    cal.feed_motion(acc, None, up)
    m = cal.mounting
    f = m.r_pelvis_from_sensor[0]
    assert m.forward_source == "gait"
    assert m.sign_source == "collision"
    # fast braking: the forward axis is the direction of the slow rise; played backwards, the opposite
    expected = d if braking_fast else -d
    assert float(f @ expected) > 0.95
    assert m.confidence > 0.3


def test_collision_evidence_is_chunk_invariant() -> None:
    acc = _gait(np.array([1.0, -1.0, 0.0]), braking_fast=True, seconds=20.0)
    up = np.tile([0.0, 0.0, 1.0], (acc.shape[0], 1))
    whole = MountingCalibrator(FS)
    whole.feed_rest(acc, None)
    whole.feed_motion(acc, None, up)
    chunked = MountingCalibrator(FS)
    for a in range(0, acc.shape[0], 37):
        chunked.feed_rest(acc[a : a + 37], None)
        chunked.feed_motion(acc[a : a + 37], None, up[a : a + 37])
    np.testing.assert_allclose(
        chunked.mounting.r_pelvis_from_sensor, whole.mounting.r_pelvis_from_sensor, rtol=0, atol=1e-9
    )
    f = whole.mounting.r_pelvis_from_sensor[0]
    assert whole._collision_evidence(f) > 0.5


def _sign_run(acc: np.ndarray, chunk: int | None = None) -> MountingCalibrator:
    up = np.tile([0.0, 0.0, 1.0], (acc.shape[0], 1))
    cal = MountingCalibrator(FS)
    step = chunk or acc.shape[0]
    for a in range(0, acc.shape[0], step):
        cal.feed_rest(acc[a : a + step], None)
        cal.feed_motion(acc[a : a + step], None, up[a : a + step])
    return cal


def test_sampled_jerk_moments_after_the_first_minute(monkeypatch: pytest.MonkeyPatch) -> None:
    """After _JERK_FULL gait segments only every third adds its jerk moments, three times: the sums keep their
    scale, the collision evidence stays that of every segment, and the result is the same for any chunks."""
    acc = _gait(np.array([1.0, -1.0, 0.0]), braking_fast=True, seconds=150.0)
    sampled = _sign_run(acc)
    f = sampled.mounting.r_pelvis_from_sensor[0]
    monkeypatch.setattr(calibration, "_JERK_FULL", 10**9)
    every = _sign_run(acc)
    monkeypatch.undo()
    s_all, s_some = every._s, sampled._s
    assert s_all.gait_segments > calibration._JERK_FULL + 60  # the sampled regime is exercised
    # (g - 1) jerk samples per counted segment: the same count within one weighted segment's worth
    assert abs(s_some.jerk_n - s_all.jerk_n) <= calibration._JERK_EVERY * FS
    e_all, e_some = every._collision_evidence(f), sampled._collision_evidence(f)
    assert e_all > 0.5
    assert abs(e_some - e_all) < 0.1 * e_all
    chunked = _sign_run(acc, chunk=37)
    np.testing.assert_array_equal(chunked._s.gait_sums, s_some.gait_sums)
    np.testing.assert_array_equal(chunked.mounting.r_pelvis_from_sensor, sampled.mounting.r_pelvis_from_sensor)
