"""The whole pipeline on fixed simulator seeds: gait events, sides, pelvic drop, chunk invariance, contracts."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from sensor.errors import DataValidationError
from sensor.events import BoutEvent, Event, StepEvent
from sensor.model import ImuBlock
from sensor.pipeline.pipeline import HipPipeline, PelvisChunk
from tests.pipeline._sims import match, run_pipeline, run_sim, steps_of, turn_sim, walk_sim


def _score(steps: list[StepEvent], truth) -> dict[str, float]:  # type: ignore[no-untyped-def]
    st_ = truth.steps
    te_all = np.array([s.t_s for s in steps])
    # gait initiation and termination (the first and last 0.5 s of the bout) are scored apart: the first push-off
    # and the last braking step are known sources of one extra or shifted detection (docs/running.md)
    lo, hi = st_.t_ic_s[0] + 0.5, st_.t_ic_s[-1] - 0.5
    keep = [i for i, t in enumerate(te_all) if lo <= t <= hi]
    steps = [steps[i] for i in keep]
    te = te_all[keep]
    inner = (st_.t_ic_s >= lo) & (st_.t_ic_s <= hi)
    pe, pt = match(te, st_.t_ic_s, 0.06)
    sides = np.array([steps[i].side == st_.side[k] for i, k in zip(pe, pt, strict=True)])
    err_ms = np.abs(te[pe] - st_.t_ic_s[pt]) * 1000
    ok = [
        (i, k)
        for i, k in zip(pe, pt, strict=True)
        if steps[i].pelvic_drop_deg is not None and st_.steady[k] and not st_.in_turn[k]
    ]
    d = np.array([steps[i].pelvic_drop_deg - st_.pelvic_drop_deg[k] for i, k in ok])
    return {
        "recall": pe.size / int(inner.sum()),
        "precision": pe.size / max(1, te.size),
        "side": float(sides.mean()),
        "ic_med_ms": float(np.median(err_ms)),
        "drop_rmse": float(np.sqrt(np.mean(d**2))),
        "n_drop": float(d.size),
    }


def test_running_clean_sensor_meets_the_targets() -> None:
    res = run_sim(realistic=False)
    _, ev = run_pipeline(res.block, 104.0)
    s = _score(steps_of(ev), res.truth)
    assert s["recall"] >= 0.99
    assert s["precision"] >= 0.99
    assert s["side"] >= 0.995
    assert s["ic_med_ms"] <= 10.0
    assert s["drop_rmse"] <= 0.5  # target for a clean sensor
    assert s["n_drop"] > 100


def test_running_realistic_sensor_tilted_mounting() -> None:
    res = run_sim(realistic=True)
    p, ev = run_pipeline(res.block, 104.0)
    s = _score(steps_of(ev), res.truth)
    assert s["side"] >= 0.995
    assert s["ic_med_ms"] <= 10.0
    assert s["drop_rmse"] <= 1.0  # target with noise, bias, scale error and an unknown mounting
    assert p.mounting.confidence >= 0.5
    # neutral from the quiet standing at the start, as the definition asks
    assert {e.neutral for e in steps_of(ev) if e.pelvic_drop_deg is not None} == {"standing"}


def test_walking_steps_sides_and_drop() -> None:
    res = walk_sim()
    _, ev = run_pipeline(res.block, 104.0)
    steps = steps_of(ev)
    s = _score(steps, res.truth)
    assert s["recall"] >= 0.98
    assert s["side"] >= 0.995
    assert s["ic_med_ms"] <= 10.0
    assert s["drop_rmse"] <= 0.5
    assert all(e.activity == "walking" and e.flight_time_s is None for e in steps)


def test_turn_steps_are_flagged_and_counted() -> None:
    res = turn_sim()
    _, ev = run_pipeline(res.block, 104.0)
    steps = steps_of(ev)
    te = np.array([s.t_s for s in steps])
    pe, pt = match(te, res.truth.steps.t_ic_s, 0.06)
    assert pe.size >= 0.98 * len(res.truth.steps)  # steps in the turn are still detected
    truth_turn = res.truth.steps.in_turn[pt]
    flagged = np.array([steps[i].in_turn for i in pe])
    assert flagged[truth_turn].mean() >= 0.8  # the turn's steps carry the flag


def _strip(events: list[Event]) -> list[Event]:
    return sorted(events, key=lambda e: (e.kind, getattr(e, "t_s", getattr(e, "t_start_s", 0.0))))


@settings(max_examples=4, deadline=None)
@given(st.lists(st.integers(1, 400), min_size=1, max_size=4))
@example([385])  # a candidate peak decided before the last sample of its window was seen (fixed)
def test_pipeline_is_chunk_invariant(sizes: list[int]) -> None:
    res = run_sim(realistic=True, seconds=24.0, seed=4)
    _, whole = run_pipeline(res.block, 104.0)
    _, chunked = run_pipeline(res.block, 104.0, sizes)
    a, b = _strip(whole), _strip(chunked)
    assert len(a) == len(b)
    assert len(steps_of(a)) > 30
    for x, y in zip(a, b, strict=True):
        dx, dy = x.model_dump(), y.model_dump()
        assert dx.keys() == dy.keys()
        for k in dx:
            if isinstance(dx[k], float):
                assert dy[k] == pytest.approx(dx[k], rel=1e-9, abs=1e-9), k
            else:
                assert dx[k] == dy[k], k


class _Recorder:
    def __init__(self) -> None:
        self.index: list[np.ndarray] = []
        self.roll: list[np.ndarray] = []
        self.activity: list[np.ndarray] = []

    def feed(self, chunk: PelvisChunk) -> list[Event]:
        self.index.append(chunk.sample_index.copy())
        assert chunk.roll_deg is not None
        self.roll.append(chunk.roll_deg.copy())
        self.activity.append(chunk.activity.copy())
        return []

    def finish(self) -> list[Event]:
        return []


def test_pelvis_stages_get_contiguous_identical_chunks() -> None:
    res = run_sim(realistic=True, seconds=24.0, seed=4)
    recs = []
    for sizes in (None, [7, 130, 20]):
        rec = _Recorder()
        p = HipPipeline(104.0, stages=[rec])
        for b in [res.block] if sizes is None else res.block.chunks(sizes):
            p.feed(b)
        p.finish()
        recs.append(rec)
    idx = np.concatenate(recs[0].index)
    np.testing.assert_array_equal(idx, np.arange(len(res.block)))  # every sample, in order, once
    np.testing.assert_array_equal(np.concatenate(recs[1].index), idx)
    np.testing.assert_allclose(np.concatenate(recs[1].roll), np.concatenate(recs[0].roll), atol=1e-9)
    np.testing.assert_array_equal(np.concatenate(recs[1].activity), np.concatenate(recs[0].activity))
    labels = np.concatenate(recs[0].activity)
    assert {0, 2} <= set(labels.tolist())  # standing and running both appear


def test_accelerometer_only_gives_steps_sides_cadence_without_tilt() -> None:
    res = run_sim(realistic=True)
    b = res.block
    acc_only = ImuBlock(b.sensor_id, b.t_s, b.acc_mps2, None, b.sample_index, b.missing_before)
    _, ev = run_pipeline(acc_only, 104.0)
    steps = steps_of(ev)
    te = np.array([s.t_s for s in steps])
    pe, _ = match(te, res.truth.steps.t_ic_s, 0.06)
    assert pe.size >= 0.98 * len(res.truth.steps)
    assert all(s.pelvic_drop_deg is None and s.tilt_range_deg is None for s in steps)
    assert np.median([s.cadence_spm for s in steps if s.cadence_spm]) == pytest.approx(170.0, rel=0.05)


def test_bouts_cover_standing_and_running() -> None:
    res = run_sim(realistic=True)
    _, ev = run_pipeline(res.block, 104.0)
    bouts = [e for e in ev if isinstance(e, BoutEvent)]
    run = [b for b in bouts if b.activity == "running"]
    assert len(run) == 1
    ic = res.truth.steps.t_ic_s
    # the bout spans the steps: it starts within a second of the first contact (the first push-off can look like
    # a walking step) and ends within 2.5 s of the last one (labels persist 1.5 s after a step, and quiet
    # standing is recognised once the 0.5 s motion average has settled)
    assert run[0].t_start_s == pytest.approx(ic[0], abs=1.0)
    assert ic[-1] < run[0].t_end_s < ic[-1] + 2.5


def test_bad_input_raises_typed_errors() -> None:
    with pytest.raises(DataValidationError, match="sampling_rate_hz"):
        HipPipeline(0.5)
    res = run_sim(realistic=True, seconds=24.0, seed=4)
    p = HipPipeline(104.0)
    p.feed(res.block.slice(0, 100))
    b = res.block.slice(100, 200)
    with pytest.raises(DataValidationError, match="gyroscope"):
        p.feed(ImuBlock(b.sensor_id, b.t_s, b.acc_mps2, None, b.sample_index, b.missing_before))


def test_auto_rate_pipeline_matches_the_explicit_rate() -> None:
    from sensor.pipeline.pipeline import analyzer_factory

    res = run_sim(realistic=True, seconds=24.0, seed=4)
    _, explicit = run_pipeline(res.block, 104.0)
    auto = analyzer_factory()("sim")
    ev: list[Event] = []
    for b in res.block.chunks([5, 33, 70]):
        ev += auto.feed(b)
    ev += auto.finish()
    a, b = steps_of(explicit), steps_of(ev)
    assert len(a) == len(b)
    # the estimated rate is within ~1e-6 of 104 Hz: step times agree to well under a millisecond
    assert max(abs(x.t_s - y.t_s) for x, y in zip(a, b, strict=True)) < 1e-3
    assert [x.side for x in a] == [y.side for y in b]


@settings(max_examples=6, deadline=None)
@given(st.floats(min_value=8.0, max_value=30.0), st.sampled_from([1, 20, 333]))
def test_stream_may_end_anywhere(cut_s: float, chunk: int) -> None:
    res = run_sim(realistic=True, seconds=24.0, seed=4)
    n = int(cut_s * 104.0)
    _, ev = run_pipeline(res.block.slice(0, n), 104.0, [chunk])
    steps = steps_of(ev)
    assert all(s.t_s <= cut_s + 0.1 for s in steps)
    assert len(steps) >= int((cut_s - 8.0) * 2.5)  # ~2.8 steps/s of running after the 6 s stand + start
