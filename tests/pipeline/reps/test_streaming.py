"""The rep stage gives the same events whatever the chunking, and keeps no input data."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sensor.pipeline.reps import RepStage
from sensor.pipeline.reps.signals import BinAverager, raw_columns
from sensor.pipeline.stage import PelvisChunk
from tests.pipeline.reps.synth import Excursion, build, slice_chunk


def _session() -> PelvisChunk:
    ex = [Excursion(4.0 + 2.6 * k, 1.0, 0.3 * (k % 2), 1.1, -0.40, 25.0, 0.0) for k in range(5)]
    ex += [Excursion(30.0 + 3.0 * k, 0.8, 0.2, 1.2, -0.35, 4.0, 6.0 * (-1) ** k) for k in range(4)]
    return build(ex, 52.0, fs_hz=104.0, seed=3)


SESSION = _session()


def _run(chunk_sizes: list[int]) -> list[dict[str, object]]:
    stage = RepStage()
    events = []
    i = 0
    k = 0
    n = len(SESSION)
    while i < n:
        step = chunk_sizes[k % len(chunk_sizes)]
        events += stage.feed(slice_chunk(SESSION, i, i + step))
        i += step
        k += 1
    events += stage.finish()
    return [e.model_dump() for e in events]


ONE_SHOT = _run([len(SESSION)])


def test_one_shot_finds_both_sets() -> None:
    sets = [e for e in ONE_SHOT if e["kind"] == "set"]
    assert [s["reps"] for s in sets] == [5, 4]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(min_value=1, max_value=700), min_size=1, max_size=6))
def test_any_chunking_gives_identical_events(sizes: list[int]) -> None:
    assert _run(sizes) == ONE_SHOT


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=50), min_size=1, max_size=5))
def test_bin_averager_is_bit_identical_across_chunkings(sizes: list[int]) -> None:
    x = raw_columns(slice_chunk(SESSION, 0, 400))
    t = SESSION.t_s[:400]
    ref_t, ref_x = BinAverager().feed(t, x, final=True)
    avg = BinAverager()
    parts_t, parts_x = [], []
    i = k = 0
    while i < t.size:
        step = sizes[k % len(sizes)]
        bt, bx = avg.feed(t[i : i + step], x[i : i + step])
        parts_t.append(bt)
        parts_x.append(bx)
        i += step
        k += 1
    bt, bx = avg.feed(np.zeros(0), np.zeros((0, x.shape[1])), final=True)
    parts_t.append(bt)
    parts_x.append(bx)
    assert np.array_equal(np.concatenate(parts_t), ref_t)
    assert np.array_equal(np.concatenate(parts_x), ref_x)


def test_state_does_not_grow_with_the_stream() -> None:
    stage = RepStage()
    stage.feed(SESSION)
    sizes = {k: np.asarray(v).nbytes for k, v in vars_of(stage).items() if isinstance(v, np.ndarray)}
    stage.feed(shifted(SESSION, 60.0))
    sizes2 = {k: np.asarray(v).nbytes for k, v in vars_of(stage).items() if isinstance(v, np.ndarray)}
    assert sizes2 == sizes
    assert max(sizes.values()) < 200_000


def vars_of(stage: RepStage) -> dict[str, object]:
    return {name: getattr(stage, name) for name in dir(stage) if name.startswith("_") and not name.startswith("__")}


def shifted(c: PelvisChunk, dt_s: float) -> PelvisChunk:
    return replace(c, t_s=c.t_s + dt_s)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(min_value=20, max_value=3000), min_size=1, max_size=4))
def test_simulated_session_is_chunk_invariant(sizes: list[int]) -> None:
    from tests.pipeline.reps.simcase import cached_run
    from tests.pipeline.reps.synth import concat_chunks

    run = cached_run(("squat", "glute_bridge", "step_up", "donkey_kick"), 5, 7, True)
    whole = concat_chunks(run.chunks)
    ref_stage = RepStage()
    ref = [e.model_dump() for e in ref_stage.feed(whole) + ref_stage.finish()]
    assert sum(e["kind"] == "rep" for e in ref) >= 15
    stage = RepStage()
    got = []
    i = k = 0
    while i < len(whole):
        step = sizes[k % len(sizes)]
        got += stage.feed(slice_chunk(whole, i, i + step))
        i += step
        k += 1
    got += stage.finish()
    assert [e.model_dump() for e in got] == ref
