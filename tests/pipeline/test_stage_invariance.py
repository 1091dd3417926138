"""Chunk-size invariance of each stage on its own (hypothesis-chosen chunkings), beyond the whole pipeline."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sensor.pipeline.activity import BoutTracker, QuietDetector, StandingTracker
from sensor.pipeline.calibration import MountingCalibrator
from sensor.pipeline.metrics import height_filter
from sensor.pipeline.orientation import GravityFilter, YawIntegrator
from tests.pipeline._sims import run_sim

FS = 104.0
SIZES = st.lists(st.integers(1, 250), min_size=1, max_size=5)


def _cuts(n: int, sizes: list[int]) -> list[tuple[int, int]]:
    out, i, k = [], 0, 0
    while i < n:
        j = min(n, i + sizes[k % len(sizes)])
        out.append((i, j))
        i, k = j, k + 1
    return out


def _data() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    res = run_sim(realistic=True, seconds=24.0, seed=4)
    b = res.block
    assert b.gyr_radps is not None
    up = GravityFilter(FS).feed(b.acc_mps2, b.gyr_radps)
    return b.t_s, b.acc_mps2, b.gyr_radps, up


def _calib_run(sizes: list[int] | None) -> list[tuple[int, np.ndarray, np.ndarray]]:
    t, acc, gyr, up = _data()
    cal = MountingCalibrator(FS)
    rest, motion = [], []
    for a, b in _cuts(len(t), sizes or [len(t)]):
        rest += [(idx, bias, np.zeros((3, 3))) for idx, bias in cal.feed_rest(acc[a:b], gyr[a:b])]
        motion += [
            (idx, m.gyr_bias_radps, m.r_pelvis_from_sensor) for idx, m in cal.feed_motion(acc[a:b], gyr[a:b], up[a:b])
        ]
    return rest + motion


@settings(max_examples=6, deadline=None)
@given(SIZES)
def test_calibration_updates_do_not_depend_on_chunks(sizes: list[int]) -> None:
    whole, chunked = _calib_run(None), _calib_run(sizes)
    assert len(whole) == len(chunked) > 3
    for (i1, b1, r1), (i2, b2, r2) in zip(whole, chunked, strict=True):
        assert i1 == i2
        np.testing.assert_allclose(b1, b2, atol=1e-12)
        np.testing.assert_allclose(r1, r2, atol=1e-9)


def _per_sample(make: Callable[[], object], call: Callable[[object, int, int], np.ndarray], sizes: list[int]) -> None:
    t, *_ = _data()
    obj = make()
    whole = call(obj, 0, len(t))
    obj2 = make()
    parts = np.concatenate([call(obj2, a, b) for a, b in _cuts(len(t), sizes)])
    np.testing.assert_allclose(parts, whole, rtol=0, atol=1e-9)


@settings(max_examples=6, deadline=None)
@given(SIZES)
def test_quiet_yaw_and_height_are_chunk_invariant(sizes: list[int]) -> None:
    _, acc, gyr, up = _data()
    _per_sample(lambda: QuietDetector(FS), lambda q, a, b: q.feed(acc[a:b], gyr[a:b]).astype(float), sizes)  # type: ignore[attr-defined]
    _per_sample(lambda: YawIntegrator(FS), lambda y, a, b: y.feed(up[a:b], gyr[a:b]), sizes)  # type: ignore[attr-defined]
    lin = np.einsum("ij,ij->i", acc, up) - 9.80665
    _per_sample(lambda: height_filter(FS), lambda h, a, b: h(lin[a:b]), sizes)  # type: ignore[operator]


@settings(max_examples=6, deadline=None)
@given(SIZES)
def test_standing_and_bouts_are_chunk_invariant(sizes: list[int]) -> None:
    t, acc, gyr, _ = _data()
    quiet = QuietDetector(FS).feed(acc, gyr)
    roll = np.sin(t)  # any per-sample signal: the tracker averages it over quiet periods
    labels = np.where(quiet, 0, 2).astype(np.int8)

    def run(cuts: list[tuple[int, int]]) -> tuple[list[tuple[int, int, float]], list[object]]:
        s, bt = StandingTracker(FS), BoutTracker(FS, 3.0)
        bouts: list[object] = []
        for a, b in cuts:
            s.feed(a, quiet[a:b], roll[a:b])
            bouts += bt.feed(a, t[a:b], labels[a:b])
        bouts += bt.finish()
        return [(p.start, p.end, p.mean_roll_deg) for p in s.periods], bouts

    p1, b1 = run([(0, len(t))])
    p2, b2 = run(_cuts(len(t), sizes))
    assert [x[:2] for x in p1] == [x[:2] for x in p2]
    np.testing.assert_allclose([x[2] for x in p1], [x[2] for x in p2], atol=1e-12)
    assert b1 == b2
    assert len(b1) >= 2
