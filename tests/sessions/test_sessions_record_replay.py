from __future__ import annotations

import asyncio
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sensor.app import run_pipeline
from sensor.errors import StoreError
from sensor.events import Event, StepEvent
from sensor.model import ImuBlock, RawFrame
from sensor.sessions import imu_f64
from sensor.sessions.recorder import Recorder
from sensor.sessions.replay import ReplaySource, session_decoder_factory
from sensor.sessions.store import SensorMeta, Store
from tests.sessions._pipeline_helpers import CollectingSink, ListSource, ZeroCrossingAnalyzer
from tests.sessions._synth import synth_block

META = [
    SensorMeta(sensor_id="hip", sensor_type="imu_f64", sampling_rate_hz=208.0),
    SensorMeta(sensor_id="ankle", sensor_type="imu_f64", sampling_rate_hz=104.0),
]


def _live_frames(duration_s: float = 20.0) -> list[RawFrame]:
    a = imu_f64.frames_from_block(
        synth_block("hip", duration_s=duration_s, seed=1), samples_per_frame=8, host_t0_s=1.7e9
    )
    b = imu_f64.frames_from_block(
        synth_block("ankle", duration_s=duration_s, rate_hz=104.0, seed=2, gyr=False),
        samples_per_frame=5,
        host_t0_s=1.7e9 + 0.003,
    )
    return sorted(a + b, key=lambda f: f.host_t_s)


async def _record_live(store: Store, frames: list[RawFrame]) -> tuple[str, dict[str, list[ImuBlock]], CollectingSink]:
    blocks: dict[str, list[ImuBlock]] = {}
    seen = CollectingSink()
    async with Recorder(store, name="live", sensors=META, flush_interval_s=0.05) as rec:
        stats = await run_pipeline(
            ListSource(frames),
            session_decoder_factory(store, rec.session_id),
            lambda _sid: ZeroCrossingAnalyzer(),
            [rec, seen],
            on_block=lambda b: blocks.setdefault(b.sensor_id, []).append(b),
        )
    assert stats.frames == len(frames)
    assert stats.decode_errors == {}
    return rec.session_id, blocks, seen


async def test_replay_equals_live_blocks_and_events(tmp_path: Path) -> None:
    frames = _live_frames()
    with Store(tmp_path / "s.db") as store:
        sid, live_blocks, live = await _record_live(store, frames)
        assert len(live.events) > 50  # 2.8 Hz crossings for 20 s on two sensors
        stored = [(e.sensor_id, e.event) for e in store.iter_events(sid)]
        assert stored == live.events

        replay_blocks: dict[str, list[ImuBlock]] = {}
        replayed = CollectingSink()
        progress: list[tuple[int, int]] = []
        src = ReplaySource(store, sid, speed=None, progress=lambda d, t: progress.append((d, t)))
        stats = await run_pipeline(
            src,
            session_decoder_factory(store, sid),
            lambda _sid: ZeroCrossingAnalyzer(),
            [replayed],
            on_block=lambda b: replay_blocks.setdefault(b.sensor_id, []).append(b),
        )
    assert src.loss is None
    assert replayed.frames == frames  # same bytes, same host times, same order
    assert replayed.events == live.events
    for sensor in ("hip", "ankle"):
        a, b = ImuBlock.concat(live_blocks[sensor]), ImuBlock.concat(replay_blocks[sensor])
        np.testing.assert_array_equal(a.t_s, b.t_s)
        np.testing.assert_array_equal(a.acc_mps2, b.acc_mps2)
    assert stats.samples == (20 * 208) + (20 * 104)
    assert progress[-1] == (len(frames), len(frames))
    assert [d for d, _ in progress] == sorted(d for d, _ in progress)


async def test_replay_keeps_original_timing_scaled_by_speed(tmp_path: Path) -> None:
    frames = _live_frames(duration_s=1.0)
    with Store(tmp_path / "s.db") as store:
        sid, _, _ = await _record_live(store, frames)
        src = ReplaySource(store, sid, speed=10.0)
        loop = asyncio.get_running_loop()
        arrivals: list[tuple[float, float]] = []
        async for f in src.frames():
            arrivals.append((loop.time(), f.host_t_s))
    # every frame leaves no earlier than its recorded offset / speed (the source sleeps, never runs ahead)
    t0, h0 = arrivals[0]
    lags = [(t - t0) - (h - h0) / 10.0 for t, h in arrivals]
    assert min(lags) >= -1e-3
    with pytest.raises(ValueError, match="speed must be > 0"):
        ReplaySource(store, sid, speed=0.0)


@settings(max_examples=15, deadline=None)
@given(st.lists(st.integers(1, 120), min_size=1, max_size=6))
def test_frame_size_of_import_does_not_change_decoded_samples(sizes: list[int]) -> None:
    block = synth_block(duration_s=2.0, seed=3)
    frames = [f for part in block.chunks(sizes) for f in imu_f64.frames_from_block(part, samples_per_frame=10**4)]
    out = ImuBlock.concat([imu_f64.decode_payload("hip", f.payload) for f in frames])
    np.testing.assert_array_equal(out.acc_mps2, block.acc_mps2)
    np.testing.assert_array_equal(out.sample_index, block.sample_index)


async def test_recorder_commits_periodically_and_on_size(tmp_path: Path) -> None:
    frames = _live_frames(duration_s=4.0)
    with Store(tmp_path / "s.db") as store:
        async with Recorder(store, sensors=META, flush_interval_s=10.0, max_batch_frames=100) as rec:
            for f in frames:
                await rec.on_frames([f])
                await asyncio.sleep(0)
            await asyncio.sleep(0.05)
            # the size trigger committed without waiting for the 10 s timer
            assert store.count_frames(rec.session_id) >= 100
        assert rec.frames_committed == len(frames)
        info = store.get_session(rec.session_id)
    assert info.ended_s is not None
    assert sum(s.n_frames for s in info.sensors) == len(frames)


async def test_recorder_outbox_router_queues_in_same_commit(tmp_path: Path) -> None:
    woke: list[int] = []

    def route(session_id: str, sensor_id: str, event_id: str, ev: Event) -> tuple[str, str] | None:
        if ev.kind != "step":
            return None
        return f"hipsense/{sensor_id}/step", json.dumps({"id": event_id, "session": session_id, "t_s": ev.t_s})  # type: ignore[union-attr]

    with Store(tmp_path / "s.db") as store:
        async with Recorder(store, sensors=META[:1], flush_interval_s=0.02, outbox_router=route) as rec:
            rec.add_commit_listener(lambda: woke.append(1))
            await rec.on_events("hip", [StepEvent(t_s=float(i), side="left", confidence=1.0) for i in range(3)])
            await asyncio.sleep(0.1)
        pend = store.pending_outbox()
        ids = [e.event_id for e in store.iter_events(rec.session_id)]
    assert [p.event_id for p in pend] == ids
    assert [json.loads(p.payload)["t_s"] for p in pend] == [0.0, 1.0, 2.0]
    assert woke


async def test_recorder_disk_full_raises_store_error_and_keeps_commits(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    frames = _live_frames(duration_s=60.0)
    with Store(path, max_pages=120) as store:
        rec = Recorder(store, sensors=META, flush_interval_s=0.01)

        async def record() -> None:
            async with rec:
                for i, f in enumerate(frames):
                    await rec.on_frames([f])
                    if i % 20 == 0:
                        await asyncio.sleep(0.002)

        with pytest.raises(StoreError, match="disk is full") as ei:
            await record()
        assert str(path) in str(ei.value)
        committed = rec.frames_committed
        assert rec.pending_frames > 0  # the failed batch is kept, not dropped
    assert committed > 0
    with Store(path) as store:
        assert store.integrity_check() == []
        got = [f for _, _, f in store.iter_frames(rec.session_id)]
    assert got == frames[:committed]


async def test_a_failing_flush_task_does_not_cancel_the_producer_and_surfaces_at_exit(tmp_path: Path) -> None:
    """The flush task's StoreError must not cancel the task that entered the recorder (a live gateway streams on
    when only the recording stopped): it is kept in ``failed``, raised by the next on_frames and at exit."""
    path = tmp_path / "s.db"
    frames = _live_frames(duration_s=60.0)
    went_on = False

    async def record(rec: Recorder) -> None:
        nonlocal went_on
        async with rec:
            await rec.on_frames(frames)  # one batch larger than the store may grow: the flush task's commit fails
            for _ in range(3000):
                if rec.failed is not None:
                    break
                await asyncio.sleep(0.01)
            assert rec.failed is not None
            await asyncio.sleep(0.05)  # a cancellation from the recorder's task group would land here
            went_on = True

    with Store(path, max_pages=120) as store:
        rec = Recorder(store, sensors=META, flush_interval_s=0.01, max_batch_frames=10**9)
        with pytest.raises(StoreError, match="disk is full") as ei:
            await record(rec)
        assert ei.value is rec.failed
        assert rec.pending_frames == len(frames)  # kept in memory, in order
        with pytest.raises(StoreError):
            await rec.on_frames(frames[:1])
    assert went_on
    with Store(path) as store:
        assert store.integrity_check() == []
        assert store.count_frames(rec.session_id) == 0


async def test_replay_equals_live_with_simulated_protocol_v1_stream(tmp_path: Path) -> None:
    """A simulated run, encoded by the firmware's encoder, decoded by the registry's hipsense_v1 decoder."""
    from sensor.sim import Running, Scenario, SensorModel, Standing, simulate
    from tests.sessions._v1frames import v1_frames

    sc = Scenario(
        segments=[Standing(duration_s=2.0), Running(duration_s=12.0)],
        sensor=SensorModel(sampling_rate_hz=208.0),
        seed=3,
    )
    block = simulate(sc).block
    hip = block.sensor_id
    frames = v1_frames(block)
    meta = [
        SensorMeta(
            sensor_id=hip,
            sensor_type="hipsense_v1",
            protocol_version=1,
            sampling_rate_hz=208.0,
            acc_range_g=16,
            gyr_range_dps=2000,
            mounting="sacrum",
            firmware="sim",
        )
    ]
    with Store(tmp_path / "s.db") as store:
        live_blocks: list[ImuBlock] = []
        live = CollectingSink()
        async with Recorder(store, name="sim run", sensors=meta, flush_interval_s=0.05) as rec:
            stats = await run_pipeline(
                ListSource(frames),
                session_decoder_factory(store, rec.session_id),
                lambda _s: ZeroCrossingAnalyzer(),
                [rec, live],
                on_block=live_blocks.append,
            )
        assert stats.decode_errors == {}
        assert stats.samples == len(frames) * 9
        replay_blocks: list[ImuBlock] = []
        replayed = CollectingSink()
        await run_pipeline(
            ReplaySource(store, rec.session_id, speed=None),
            session_decoder_factory(store, rec.session_id),
            lambda _s: ZeroCrossingAnalyzer(),
            [replayed],
            on_block=replay_blocks.append,
        )
    a, b = ImuBlock.concat(live_blocks), ImuBlock.concat(replay_blocks)
    np.testing.assert_array_equal(a.t_s, b.t_s)
    np.testing.assert_array_equal(a.acc_mps2, b.acc_mps2)
    np.testing.assert_array_equal(a.gyr_radps, b.gyr_radps)  # type: ignore[arg-type]
    assert replayed.events == live.events
    assert len(live.events) > 20  # 12 s of running crosses 1 g many times
    # the decoded samples are the simulated ones to within one LSB (0.00479 m/s^2 at +-16 g)
    np.testing.assert_allclose(a.acc_mps2, block.acc_mps2[: len(a)], atol=0.0048)


@settings(max_examples=8, deadline=None)
@given(st.integers(1, 700))
def test_replay_batches_of_any_size_give_the_same_samples_and_events(max_frames: int) -> None:
    """Streaming == batch for the replay path: any batch size, same decoded samples and same events."""
    import tempfile

    frames = _live_frames(duration_s=6.0)

    class Batched(ReplaySource):
        async def frame_batches(self, max_frames: int = max_frames):  # type: ignore[no-untyped-def,override]
            async for b in super().frame_batches(max_frames=max_frames):
                yield b

    async def go() -> tuple[list[RawFrame], list[tuple[str, Event]], dict[str, ImuBlock]]:
        with tempfile.TemporaryDirectory() as d, Store(Path(d) / "s.db") as store:
            sid = store.write_session(name="x", source_kind="live", started_s=1.7e9, sensors=META, frames=frames)
            sink = CollectingSink()
            blocks: dict[str, list[ImuBlock]] = {}
            await run_pipeline(
                Batched(store, sid, speed=None),
                session_decoder_factory(store, sid),
                lambda _s: ZeroCrossingAnalyzer(),
                [sink],
                on_block=lambda b: blocks.setdefault(b.sensor_id, []).append(b),
            )
            return sink.frames, sink.events, {k: ImuBlock.concat(v) for k, v in blocks.items()}

    got_frames, got_events, got_blocks = asyncio.run(go())
    ref_events = CollectingSink()
    ref_blocks: dict[str, list[ImuBlock]] = {}
    asyncio.run(
        run_pipeline(
            ListSource(frames),
            session_decoder_factory_for_f64(),
            lambda _s: ZeroCrossingAnalyzer(),
            [ref_events],
            on_block=lambda b: ref_blocks.setdefault(b.sensor_id, []).append(b),
        )
    )
    assert got_frames == frames
    assert got_events == ref_events.events
    for k, v in ref_blocks.items():
        np.testing.assert_array_equal(got_blocks[k].acc_mps2, ImuBlock.concat(v).acc_mps2)


def session_decoder_factory_for_f64():  # type: ignore[no-untyped-def]
    from sensor.sessions.replay import decoder_factory

    return decoder_factory({"hip": "imu_f64", "ankle": "imu_f64"})


async def test_recorder_commits_from_the_producer_when_the_flush_task_is_starved(tmp_path: Path) -> None:
    """A producer that never yields to the loop (working through a backlog) still gets its data committed once the
    oldest pending frame is two flush intervals old: the loss bound does not depend on the flush task running."""
    import time as _time

    frames = _live_frames(duration_s=2.0)[:30]
    with Store(tmp_path / "s.db") as store:
        async with Recorder(store, sensors=META, flush_interval_s=0.05, max_batch_frames=10**6) as rec:
            committed_during: list[int] = []
            for f in frames:
                _time.sleep(0.01)  # noqa: ASYNC251  (on purpose: blocks the loop, the flush task cannot run)
                await rec.on_frames([f])
                committed_during.append(rec.frames_committed)
        assert committed_during[-1] >= 10  # at least one commit happened inside on_frames
        assert rec.frames_committed == len(frames)
        assert [f for _, _, f in store.iter_frames(rec.session_id)] == frames
