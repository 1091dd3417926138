"""The rep stage's speed mechanics give exactly the plain results: gait-veto and idle fast paths, binning, micro-batch
holds."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from sensor.events import Event, RepEvent
from sensor.pipeline.calibration import Mounting as PelvisMounting
from sensor.pipeline.config import PipelineConfig
from sensor.pipeline.reps import RepStage
from sensor.pipeline.reps import counter as counter_mod
from sensor.pipeline.reps import signals as signals_mod
from sensor.pipeline.reps.frontend import pipeline_with_fixed_mounting
from sensor.pipeline.reps.signals import _SMALL_N, RAW_W, BinAverager, chunk_columns, raw_columns
from sensor.pipeline.stage import PelvisChunk
from sensor.sim import simulate
from tests.pipeline.reps.simcase import cached_run, session
from tests.pipeline.reps.synth import concat_chunks, slice_chunk


def _whole() -> PelvisChunk:
    # a stand, 20 s of walking (the gait veto), then sets with still and fidgeting rests
    run = cached_run(("squat", "glute_bridge", "step_up", "donkey_kick"), 5, 7, True)
    return concat_chunks(run.chunks)


def _state(stage: RepStage) -> tuple[Any, ...]:
    return (
        stage._buf.copy(),
        list(stage._rest),
        stage._v,
        stage._z,
        stage._acc_bias,
        stage._gait_run,
        stage._prev,
        stage._i_zupt,
        stage._dmin,
        stage._i_low,
        stage._n,
        stage._mode,
    )


def _feed(stage: RepStage, whole: PelvisChunk, step: int) -> tuple[list[Event], list[tuple[Any, ...]]]:
    events: list[Event] = []
    states = []
    for a in range(0, len(whole), step):
        events += stage.feed(slice_chunk(whole, a, a + step))
        states.append(_state(stage))
    return events + stage.finish(), states


def _fast_path_matches_state_machine(
    name: str, turn_off: Callable[[], None], step: int, monkeypatch: pytest.MonkeyPatch
) -> int:
    """Feeds the session in ``step``-sample chunks with the fast path ``RepStage.<name>`` and again after
    ``turn_off()``; asserts the same events and the same state after every call; returns the bins the path took."""
    whole = _whole()
    used: list[int] = []
    fast = getattr(counter_mod.RepStage, name)

    def counting(self: RepStage, j0: int, *args: Any) -> Any:
        out = fast(self, j0, *args)
        used.append(out[0] - j0)
        return out

    monkeypatch.setattr(counter_mod.RepStage, name, counting)
    ev_fast, st_fast = _feed(RepStage(), whole, step)
    n_fast = sum(used)
    turn_off()
    used.clear()
    ev_plain, st_plain = _feed(RepStage(), whole, step)
    assert not used
    assert sum(isinstance(e, RepEvent) for e in ev_plain) >= 15
    assert [e.model_dump() for e in ev_fast] == [e.model_dump() for e in ev_plain]
    for a, b in zip(st_fast, st_plain, strict=True):
        assert np.array_equal(a[0], b[0])
        assert a[1:] == b[1:]
    return n_fast


@pytest.mark.parametrize("step", [37, 5000, 10**7])
def test_gait_veto_fast_path_is_bit_identical_to_the_state_machine(step: int, monkeypatch: pytest.MonkeyPatch) -> None:
    def plain(self: RepStage, j0: int, *args: Any) -> Any:
        v, z, bias, gait_run, prev, last_zupt = args[8:]
        return j0, v, z, bias, gait_run, prev, last_zupt  # nothing done: every bin goes through the state machine

    n_fast = _fast_path_matches_state_machine(
        "_gait_veto_run", lambda: monkeypatch.setattr(counter_mod.RepStage, "_gait_veto_run", plain), step, monkeypatch
    )
    assert n_fast > 300  # most of the 20 s walk (20 Hz bins) took the fast path


@pytest.mark.parametrize("step", [37, 5000, 10**7])
def test_idle_fast_path_is_bit_identical_to_the_state_machine(step: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Rests between reps and sets (upright, lying and on all fours, still and fidgeting) through ``_idle_run``
    give the events and the state of the per-bin state machine, whatever the chunk size."""
    n_fast = _fast_path_matches_state_machine(
        "_idle_run", lambda: monkeypatch.setattr(counter_mod, "_BULK_IDLE", False), step, monkeypatch
    )
    assert n_fast > 1000  # most bins of the rests (20 Hz bins) took the fast path


@pytest.mark.parametrize("n", [1, 13, _SMALL_N, _SMALL_N + 1, 3 * _SMALL_N])
def test_binning_by_columns_matches_the_row_array(n: int) -> None:
    whole = _whole()
    ref_t, ref_x = BinAverager().feed(whole.t_s, raw_columns(whole), final=True)
    avg = BinAverager()
    ts, xs = [], []
    for a in range(0, len(whole), n):
        piece = slice_chunk(whole, a, a + n)
        cols = chunk_columns(piece)
        cols[8] = None  # a missing column is zeros
        t, x = avg.feed_columns(piece.t_s, cols)
        ts.append(t)
        xs.append(x)
    t, x = avg.feed_columns(np.zeros(0), [None] * RAW_W, final=True)
    ts.append(t)
    xs.append(x)
    ref_x[:, 8] = 0.0
    assert np.array_equal(np.concatenate(ts), ref_t)
    assert np.array_equal(np.concatenate(xs), ref_x)


def test_bin_channels_of_a_few_bins_match_the_vectorised_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    """The few-bin path of ``bin_channels`` (Python floats) gives the vectorised path's bits, NaN, infinities,
    zero specific force and tiny and huge values included."""
    rng = np.random.default_rng(3)
    cases = []
    for k in range(400):
        m = int(rng.integers(1, signals_mod._FEW_BINS + 1))
        raw = rng.normal(size=(m, RAW_W)) * 10.0 ** rng.integers(-12, 4, size=(m, RAW_W))
        for _ in range(int(rng.integers(0, 4))):
            raw[rng.integers(0, m), rng.integers(0, RAW_W)] = rng.choice([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-10])
        if k % 5 == 0:
            raw[:, 9:12] = 0.0  # no specific force: the norm's 1e-9 floor
        cases.append(raw)
    with np.errstate(all="ignore"):
        few = [signals_mod.bin_channels(raw) for raw in cases]
        monkeypatch.setattr(signals_mod, "_FEW_BINS", 0)
        many = [signals_mod.bin_channels(raw) for raw in cases]
    assert all(a.tobytes() == b.tobytes() for a, b in zip(few, many, strict=True))
    assert sum(np.isnan(a).any() for a in few) > 50


def test_pose_tilt_of_a_few_bins_matches_the_vectorised_one(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(4)
    cases = []
    for _ in range(300):
        y = rng.uniform(20.0, 100.0, size=(int(rng.integers(1, counter_mod._FEW_ROWS + 1)), 8))
        y[rng.random(y.shape) < 0.05] = np.nan
        cases.append(y)
    few = [counter_mod._pose_tilt_deg(y) for y in cases]
    monkeypatch.setattr(counter_mod, "_FEW_ROWS", 0)
    many = [counter_mod._pose_tilt_deg(y) for y in cases]
    for (p_few, r_few), (p_many, r_many) in zip(few, many, strict=True):
        assert p_few.tobytes() == p_many.tobytes()
        assert r_few.tobytes() == r_many.tobytes()
    assert sum(bool((y[:, 6] > 60.0).any() and (y[:, 6] <= 60.0).any()) for y in cases) > 50  # both choices


def _latencies(micro_batch_s: float | None) -> dict[float, float]:
    sc = session(("squat", "glute_bridge", "step_up", "sit_to_stand"), reps=6, seed=11)
    res = simulate(sc)
    stage = RepStage()
    cfg = None if micro_batch_s is None else PipelineConfig(micro_batch_s=micro_batch_s)
    pipe = pipeline_with_fixed_mounting(
        sc.sensor.sampling_rate_hz, PelvisMounting(res.truth.r_pelvis_from_sensor, np.zeros(3), 1.0), [stage], cfg
    )
    out = {}
    for blk in res.block.chunks(10):  # ~0.1 s at 104 Hz, a BLE notification batch
        for e in pipe.feed(blk):
            if isinstance(e, RepEvent):
                out[e.t_end_s] = float(blk.t_s[-1]) - e.t_end_s
    pipe.finish()
    return out


def test_holding_input_back_never_makes_a_rep_late() -> None:
    """The rep stage's ``max_hold_s`` lets the pipeline batch input while no rep can end soon: the same reps, and
    none announced later than 0.5 s unless it is that late with every chunk processed at once."""
    prompt = _latencies(0.001)
    held = _latencies(None)
    assert len(prompt) >= 20
    assert held.keys() == prompt.keys()
    assert all(held[k] <= max(prompt[k], 0.5) for k in prompt)
    assert max(held[k] - prompt[k] for k in prompt) > 0.05  # input was held back (the batches are not trivial)


@pytest.mark.parametrize("n", [0, 1, counter_mod._FEW_ROWS, counter_mod._FEW_ROWS + 1, 40])
def test_pending_rows_are_the_same_from_lists_and_from_arrays(n: int) -> None:
    # a live chunk's few bins are written from per-bin tuples, longer runs column by column: the same rows
    rng = np.random.default_rng(n)
    m = n + 3
    t = (np.arange(m) + 0.5) * 0.05
    pitch, roll, yaw = rng.normal(0.0, 30.0, (3, m))
    still = rng.random(m) > 0.5
    d, z_cm, v = rng.normal(0.0, 10.0, (3, n))
    cols = (t, pitch, roll, still, yaw)
    lists = (t.tolist(), pitch.tolist(), roll.tolist(), still.tolist())  # the yaw comes from its array
    rows = counter_mod._PendingRows(cols, lists)
    rows.j0 = 2
    rows.d.extend(d.tolist())
    rows.z_cm.extend(z_cm.tolist())
    rows.v.extend(v.tolist())
    if n:
        assert rows.pose(n - 1) == (z_cm[-1], pitch[n + 1], roll[n + 1])
    got = rows.take(2 + n)
    want = np.column_stack(
        [t[2 : 2 + n], d, z_cm, pitch[2 : 2 + n], roll[2 : 2 + n], still[2 : 2 + n], yaw[2 : 2 + n], v]
    )
    assert got.shape == (n, 8)
    assert np.array_equal(got, want.reshape(n, 8))
    assert rows.j0 == 2 + n
    assert (rows.d, rows.z_cm, rows.v) == ([], [], [])


def test_quiet_runs_of_a_few_bins_match_the_vectorised_ones() -> None:
    # live chunks' few bins take the per-bin version: the same flags, run lengths and carried state
    rng = np.random.default_rng(5)
    m = 400
    gyr, gyr_bin = np.abs(rng.normal(0.0, 0.15, (2, m)))
    gyr[rng.random(m) < 0.4] = 0.01
    gyr_bin[rng.random(m) < 0.4] = 0.01
    errs = rng.normal(0.0, 0.1, m)
    errs[rng.random(m) < 0.03] = np.nan
    vec, few = RepStage(), RepStage()
    longest = [0, 0]  # the longest quiet and pause runs seen
    stills = 0
    a = 0
    while a < m:
        b = a + int(rng.integers(1, counter_mod._FEW_ROWS + 1))
        want = vec._quiet_runs(gyr[a:b], gyr_bin[a:b], np.abs(errs[a:b]))
        got = few._quiet_runs_few(gyr[a:b].tolist(), gyr_bin[a:b].tolist(), errs[a:b].tolist())
        for w, g in zip(want, got, strict=True):
            assert np.array_equal(w, g)
            assert w.dtype == g.dtype
        assert np.array_equal(vec._quiet_tail, few._quiet_tail)
        assert np.array_equal(vec._pause_tail, few._pause_tail)
        assert (vec._quiet_run, vec._pause_run) == (few._quiet_run, few._pause_run)
        longest = [max(longest[0], int(got[0].max())), max(longest[1], int(got[2].max()))]
        stills += int(got[1].sum())
        a = b
    # the data reach zero-velocity updates, pauses and stillness across chunk borders
    assert longest[0] >= counter_mod.ZUPT_BINS
    assert longest[1] >= counter_mod.ZUPT_PAUSE_BINS
    assert stills > 0
