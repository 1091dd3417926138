"""Replay: a :class:`~sensor.interfaces.FrameSource` that re-emits a recorded session's raw frames.

Frames come out in arrival order with their original ``host_t_s`` and payload bytes, so the decoders and the
pipeline see exactly what they saw live (replay equals live by construction). Timing: with ``speed`` (1.0 =
real time, 10.0 = ten times faster) the source sleeps so that frame ``i`` leaves at
``(host_t_s[i] - host_t_s[0]) / speed`` after the start; with ``speed=None`` (``--fast``) it does not sleep at
all but still yields to the event loop every few hundred frames. A damaged store is read through
:class:`~sensor.sessions.store.SessionReader`: intact frames are replayed and :attr:`ReplaySource.loss` says
what was lost.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from sensor.app import DecoderFactory
from sensor.errors import UsageError
from sensor.model import RawFrame
from sensor.protocol import registry
from sensor.protocol.base import StreamDecoder
from sensor.sessions import imu_f64
from sensor.sessions.store import LossReport, SessionReader, Store

ProgressFn = Callable[[int, int], None]
"""``progress(frames_done, frames_total)``."""


class ReplaySource:
    """Re-emits the frames of ``session_id``.

    Args:
        store: the open store.
        session_id: the session (an id; see :meth:`Store.resolve` for prefixes and names).
        speed: real-time factor, or ``None`` for as fast as possible.
        progress: called every ``progress_every`` frames and at the end.
    """

    def __init__(
        self,
        store: Store,
        session_id: str,
        *,
        speed: float | None = 1.0,
        progress: ProgressFn | None = None,
        progress_every: int = 256,
    ) -> None:
        if speed is not None and not speed > 0:
            raise UsageError(f"replay speed must be > 0, got {speed!r}; use --fast for no waiting", argument="speed")
        self.store = store
        self.session_id = session_id
        self.speed = speed
        self.progress = progress
        self.progress_every = progress_every
        self.loss: LossReport | None = None
        self.frames_emitted = 0

    def total_frames(self) -> int:
        info = self.store.get_session(self.session_id)
        return sum(s.n_frames for s in info.sensors)

    async def frames(self) -> AsyncIterator[RawFrame]:
        async for batch in self.frame_batches():
            for frame in batch:
                yield frame

    async def frame_batches(self, max_frames: int = 512) -> AsyncIterator[list[RawFrame]]:
        """Frames in arrival order, grouped: with ``speed`` every frame already due when the source wakes up (one
        frame at a time at real speed on a quiet loop), with ``fast`` up to ``max_frames`` at a time."""
        reader = SessionReader(self.store, self.session_id)
        total = self.total_frames()
        t0_host: float | None = None
        t0_mono = time.monotonic()
        n = 0
        next_report = self.progress_every
        batch: list[RawFrame] = []
        for _seq, frame in reader.frames():
            if t0_host is None:
                t0_host = frame.host_t_s
                t0_mono = time.monotonic()
            if self.speed is not None:
                delay = (frame.host_t_s - t0_host) / self.speed - (time.monotonic() - t0_mono)
                if delay > 0:
                    if batch:
                        yield batch
                        batch = []
                    await asyncio.sleep(delay)
            batch.append(frame)
            n += 1
            self.frames_emitted = n
            if len(batch) >= max_frames:
                yield batch
                batch = []
                await asyncio.sleep(0)
            if self.progress is not None and n >= next_report:
                next_report += self.progress_every
                self.progress(n, max(total, n))
        if batch:
            yield batch
        self.loss = reader.loss
        if self.progress is not None:
            self.progress(n, max(total, n) if self.loss is None else n)


def decoder_factory(
    sensor_types: Mapping[str, str], settings: Mapping[str, Mapping[str, Any]] | None = None
) -> DecoderFactory:
    """Decoders for a session's sensors by their recorded ``sensor_type``: ``imu_f64`` is built in, the rest come
    from the protocol registry (:func:`sensor.protocol.registry.make_decoder`) with the decoder settings the
    link recorded in ``SensorMeta.meta["decoder_settings"]``."""

    def make(sensor_id: str) -> StreamDecoder:
        st = sensor_types.get(sensor_id, "unknown")
        if st == imu_f64.SENSOR_TYPE:
            return imu_f64.ImuF64Decoder()
        registry.get(st)  # an unknown type fails here with the list of known ones
        # The decoder the live link uses (codec + sensor-to-host clock mapping + per-reason skip counting), so a
        # replay maps time exactly as the live session did and yields the same samples and events.
        from sensor.ble.link import LinkDecoder  # noqa: PLC0415  (bleak only when replaying BLE sessions)

        return LinkDecoder(sensor_id, st, **dict((settings or {}).get(sensor_id, {})))

    return make


def session_decoder_factory(store: Store, session_id: str) -> DecoderFactory:
    info = store.get_session(session_id)
    return decoder_factory(
        {s.sensor_id: s.sensor_type for s in info.sensors},
        {s.sensor_id: s.meta.get("decoder_settings", {}) for s in info.sensors},
    )
