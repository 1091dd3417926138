"""Wiring: sources -> decode -> Analyzer -> sinks. The one loop that run, demo, replay and analyze share.

:func:`run_pipeline` knows nothing about which command runs: it takes a :class:`~sensor.interfaces.FrameSource`,
a decoder factory (sensor id -> :class:`~sensor.protocol.base.StreamDecoder`, usually from the protocol registry
and the sensor's metadata), an analyzer factory (sensor id -> :class:`~sensor.interfaces.Analyzer`, or ``None``
to only decode) and the sinks. Each frame goes to every sink as it arrives (the recorder stores it raw), is
decoded, and the analyzer's events go to every sink; at the end of the stream each analyzer's ``finish()`` events
follow. Undecodable payloads are counted per sensor and skipped, never fatal.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, cast

from sensor.errors import PacketError
from sensor.events import Event, Exercise
from sensor.interfaces import Analyzer, FrameSource, Sink
from sensor.model import FloatArray, ImuBlock, RawFrame
from sensor.pipeline.config import PipelineConfig
from sensor.pipeline.pipeline import AutoRatePipeline
from sensor.pipeline.reps import LongSittingStage, RepStage
from sensor.pipeline.stage import PelvisChunk, PelvisStage
from sensor.protocol.base import StreamDecoder

log = logging.getLogger(__name__)

DecoderFactory = Callable[[str], StreamDecoder]
AnalyzerFactory = Callable[[str], Analyzer]
BlockCallback = Callable[[ImuBlock], None]


@dataclass(slots=True)
class PipelineStats:
    """What went through the pipeline."""

    frames: int = 0
    samples: int = 0
    events: int = 0
    decode_errors: dict[str, int] = field(default_factory=dict)
    first_error: dict[str, str] = field(default_factory=dict)
    samples_per_sensor: dict[str, int] = field(default_factory=dict)
    events_by_kind: dict[str, int] = field(default_factory=dict)


class BatchSource(Protocol):
    """Optional: a source that can hand over frames in batches (replay --fast, a link's notification queue)."""

    def frame_batches(self) -> AsyncIterator[Sequence[RawFrame]]: ...


class BatchDecoder(Protocol):
    """Optional: a decoder with a vectorised path; equals decoding the frames one by one."""

    def decode_batch(self, frames: Sequence[RawFrame]) -> list[ImuBlock]: ...


async def _batches(source: FrameSource) -> AsyncIterator[Sequence[RawFrame]]:
    if hasattr(source, "frame_batches"):
        async for batch in cast(BatchSource, source).frame_batches():
            yield batch
    else:
        async for frame in source.frames():
            yield (frame,)


def _runs(batch: Sequence[RawFrame]) -> list[Sequence[RawFrame]]:
    """Consecutive frames of the same sensor: decoding runs keeps the cross-sensor order of arrival."""
    out: list[Sequence[RawFrame]] = []
    start = 0
    for i in range(1, len(batch) + 1):
        if i == len(batch) or batch[i].sensor_id != batch[start].sensor_id:
            out.append(batch[start:i])
            start = i
    return out


async def run_pipeline(
    source: FrameSource,
    decoder_for: DecoderFactory,
    analyzer_for: AnalyzerFactory | None,
    sinks: Sequence[Sink] = (),
    *,
    on_block: BlockCallback | None = None,
) -> PipelineStats:
    """Push every frame of ``source`` through decode and analysis to ``sinks``; returns the counts.

    A source with ``frame_batches()`` hands over several frames at a time; a decoder with ``decode_batch()``
    then decodes each run of same-sensor frames in one call (same samples as one by one; the analyzer sees
    larger chunks, which it must handle identically: streaming == batch).
    """
    stats = PipelineStats()
    decoders: dict[str, StreamDecoder] = {}
    analyzers: dict[str, Analyzer] = {}

    async def emit(sensor_id: str, events: Sequence[Event]) -> None:
        if not events:
            return
        stats.events += len(events)
        for ev in events:
            kind = ev.kind
            stats.events_by_kind[kind] = stats.events_by_kind.get(kind, 0) + 1
        for sink in sinks:
            await sink.on_events(sensor_id, events)

    def error(sid: str, n: int, text: str) -> None:
        stats.decode_errors[sid] = stats.decode_errors.get(sid, 0) + n
        stats.first_error.setdefault(sid, text)
        log.debug("sensor %s: skipped %d payload(s): %s", sid, n, text)

    def decode(dec: StreamDecoder, run: Sequence[RawFrame]) -> list[ImuBlock]:
        sid = run[0].sensor_id
        if len(run) > 1 and hasattr(dec, "decode_batch"):
            before = int(getattr(dec, "n_errors", 0))
            blocks = cast(BatchDecoder, dec).decode_batch(run)
            bad = int(getattr(dec, "n_errors", 0)) - before
            if bad:
                error(sid, bad, "malformed or out-of-order payloads (batch decode)")
            return blocks
        out: list[ImuBlock] = []
        for frame in run:
            try:
                block = dec.decode(frame)
            except PacketError as exc:
                error(sid, 1, str(exc))
                continue
            if block is not None:
                out.append(block)
        return out

    async for batch in _batches(source):
        stats.frames += len(batch)
        for sink in sinks:
            await sink.on_frames(batch)
        for run in _runs(batch):
            sid = run[0].sensor_id
            dec = decoders.get(sid)
            if dec is None:
                dec = decoders[sid] = decoder_for(sid)
            for block in decode(dec, run):
                if not len(block):
                    continue
                stats.samples += len(block)
                stats.samples_per_sensor[sid] = stats.samples_per_sensor.get(sid, 0) + len(block)
                if on_block is not None:
                    on_block(block)
                if analyzer_for is not None:
                    an = analyzers.get(sid)
                    if an is None:
                        an = analyzers[sid] = analyzer_for(sid)
                    await emit(sid, an.feed(block))
    for sid, an in analyzers.items():
        await emit(sid, an.finish())
    return stats


class EventCollector:
    """A :class:`~sensor.interfaces.Sink` that keeps the events (for ``--json`` outputs and tests)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Event]] = []

    async def on_frames(self, frames: Sequence[RawFrame]) -> None:
        return None

    async def on_events(self, sensor_id: str, events: Sequence[Event]) -> None:
        self.events.extend((sensor_id, e) for e in events)


TiltCallback = Callable[[str, FloatArray, FloatArray, FloatArray], None]


class TiltTap:
    """A :class:`~sensor.pipeline.stage.PelvisStage` that hands the per-sample pelvis angles to the live sinks.

    It emits no events (so analysis results do not depend on it); ``on_tilt(sensor_id, t_s, roll_deg,
    pitch_deg)`` is called with each chunk's obliquity and anterior tilt for the live tilt stream (MQTT, terminal).
    """

    max_hold_s = 0.5
    """The live tilt view is updated at least every 0.5 s (the pipeline's micro-batch is shortened to that)."""

    def __init__(self, on_tilt: TiltCallback) -> None:
        self.on_tilt = on_tilt

    def feed(self, chunk: PelvisChunk) -> list[Event]:
        if chunk.roll_deg is not None and chunk.pitch_deg is not None and len(chunk.t_s):
            self.on_tilt(chunk.sensor_id, chunk.t_s, chunk.roll_deg, chunk.pitch_deg)
        return []

    def finish(self) -> list[Event]:
        return []


def default_analyzer_factory(
    *,
    declared_exercise: Exercise | None = None,
    on_tilt: TiltCallback | None = None,
    config: PipelineConfig | None = None,
) -> AnalyzerFactory:
    """The whole analysis for every command: the hip pipeline with the glute rep counter and the sitting nudge.

    The sampling rate comes from the stream's own time stamps (:class:`AutoRatePipeline`), so live, replay and
    import run the same analysis and, fed the same samples, give the same events.
    """

    def make(sensor_id: str) -> Analyzer:
        stages: list[PelvisStage] = [RepStage(declared_exercise=declared_exercise), LongSittingStage()]
        if on_tilt is not None:
            stages.append(TiltTap(on_tilt))
        return AutoRatePipeline(config, stages=stages)

    return make
