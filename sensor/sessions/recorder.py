"""The recorder: a :class:`~sensor.interfaces.Sink` that writes every frame and event into the session store.

Loss bound. Frames and events are buffered in memory and committed by a flush task (inside the recorder's own
``TaskGroup``) every ``flush_interval_s`` (0.5 s by default), or sooner when ``max_batch_frames`` are pending;
if the flush task cannot get the event loop (a producer working through a backlog without yielding), the
producer's own ``on_frames`` call commits once the oldest pending item is ``2 * flush_interval_s`` old.
A commit runs in a worker thread while the event loop keeps receiving, so what is not yet committed at any
instant is at most ``flush_interval_s`` plus the duration of one commit: with ``synchronous=FULL`` (see
:mod:`sensor.sessions.store`) a crash or a power loss loses at most the last second.

Errors. A failing commit (disk full, read-only directory) leaves every earlier commit intact, keeps the batch in
memory for the next attempt and raises :class:`~sensor.errors.StoreError` naming the path and the fix, out of the
recorder's ``async with`` block (``on_frames``/``on_events`` raise it too once it happened). When the flush task
meets it, the task records it (:attr:`Recorder.failed`) and ends instead of raising: a failing task would cancel the
task that entered the recorder, and a live gateway keeps streaming and analysing when only the recording stopped.

Outbox. ``outbox_router(session_id, sensor_id, event_id, event)`` may return ``(topic, payload_json)`` for an
event; that message is queued in the store's outbox in the same transaction as the event, so the MQTT publisher
(``Store.pending_outbox``/``Store.mark_delivered``) never loses nor invents one. Listeners added with
:meth:`Recorder.add_commit_listener` are called (in the event loop) after each commit that queued messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from types import TracebackType
from typing import Any

from sensor.errors import HipSenseError, StoreError
from sensor.events import Event
from sensor.model import RawFrame
from sensor.sessions.store import PendingEvent, SensorMeta, SourceKind, Store

log = logging.getLogger(__name__)

OutboxRouter = Callable[[str, str, str, Event], "tuple[str, str] | None"]


class Recorder:
    """Records frames and events of one session; use as ``async with Recorder(store, ...) as rec``.

    Args:
        store: the open store.
        session_id: record into this existing session; else one is created from ``name``, ``source_kind``,
            ``sensors``, ``tags`` and ``meta`` when entering.
        flush_interval_s: the commit period (keep it <= 0.5 s for the one-second loss bound).
        max_batch_frames: commit early when this many frames are pending.
        outbox_router: see the module docstring.
        end_on_exit: mark the session ended when leaving the ``async with`` block.
    """

    def __init__(
        self,
        store: Store,
        *,
        session_id: str | None = None,
        name: str | None = None,
        source_kind: SourceKind = "live",
        sensors: Iterable[SensorMeta] = (),
        tags: Iterable[str] = (),
        meta: dict[str, Any] | None = None,
        flush_interval_s: float = 0.5,
        max_batch_frames: int = 2000,
        outbox_router: OutboxRouter | None = None,
        end_on_exit: bool = True,
    ) -> None:
        if not flush_interval_s > 0:
            raise ValueError(f"flush_interval_s must be > 0, got {flush_interval_s!r}")
        self.store = store
        self._session_id = session_id
        self._create = functools.partial(
            store.create_session, name=name, source_kind=source_kind, sensors=list(sensors), tags=list(tags), meta=meta
        )
        self.flush_interval_s = flush_interval_s
        self.max_batch_frames = max_batch_frames
        self.outbox_router = outbox_router
        self.end_on_exit = end_on_exit
        self._frames: list[RawFrame] = []
        self._events: list[PendingEvent] = []
        self._flush_lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._stopping = False
        self._failed: StoreError | None = None
        self._oldest_mono = 0.0
        self._tg: asyncio.TaskGroup | None = None
        self._listeners: list[Callable[[], None]] = []
        self.frames_committed = 0
        self.events_committed = 0
        self.commits = 0

    @property
    def session_id(self) -> str:
        if self._session_id is None:
            raise RuntimeError("the recorder creates its session when entering `async with`")
        return self._session_id

    def add_commit_listener(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` after every commit that queued outbox messages."""
        self._listeners.append(callback)

    # context ------------------------------------------------------------------------------------
    async def __aenter__(self) -> Recorder:
        if self._session_id is None:
            self._session_id = await asyncio.to_thread(self._create)
        self._tg = asyncio.TaskGroup()
        await self._tg.__aenter__()
        self._tg.create_task(self._flush_loop(), name=f"recorder-flush-{self._session_id}")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stopping = True
        self._wake.set()
        assert self._tg is not None
        try:
            await self._tg.__aexit__(exc_type, exc, tb)
        except BaseExceptionGroup as group:
            # one failing flush task: surface its StoreError itself, which names the path and the fix
            # (the producer may have hit the same error through on_frames: the group then holds it twice)
            distinct = {id(e): e for e in group.exceptions}
            if len(distinct) == 1:
                (only,) = distinct.values()
                if isinstance(only, HipSenseError):
                    raise only from None
            raise
        if self._failed is not None:
            if exc is None:
                raise self._failed
            return
        await self.flush()
        if self.end_on_exit:
            await asyncio.to_thread(self.store.end_session, self.session_id)

    async def _flush_loop(self) -> None:
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.flush_interval_s)
            self._wake.clear()
            if self._stop_requested():
                return  # the final flush runs in __aexit__, after the producer has stopped
            try:
                await self.flush()
            except StoreError:
                return  # kept in self._failed: on_frames/on_events and __aexit__ raise it

    def _stop_requested(self) -> bool:
        return self._stopping

    # sink ---------------------------------------------------------------------------------------
    async def on_frames(self, frames: Sequence[RawFrame]) -> None:
        if self._failed is not None:
            raise self._failed
        if not self._frames and not self._events:
            self._oldest_mono = time.monotonic()
        self._frames.extend(frames)
        if len(self._frames) >= self.max_batch_frames:
            self._wake.set()
        await self._backpressure()

    async def _backpressure(self) -> None:
        # The flush task may not get the loop while a producer works through a backlog without yielding; past
        # twice the flush interval the producer commits itself, so the loss bound holds whatever the load.
        if (self._frames or self._events) and time.monotonic() - self._oldest_mono >= 2 * self.flush_interval_s:
            await self.flush()

    async def on_events(self, sensor_id: str, events: Sequence[Event]) -> None:
        if self._failed is not None:
            raise self._failed
        sid = self.session_id
        if not self._frames and not self._events:
            self._oldest_mono = time.monotonic()
        for ev in events:
            event_id = uuid.uuid4().hex
            route = self.outbox_router(sid, sensor_id, event_id, ev) if self.outbox_router else None
            self._events.append(PendingEvent(sensor_id, event_id, ev, route))
        await self._backpressure()

    async def add_note(self, text: str, *, t_s: float | None = None) -> None:
        await asyncio.to_thread(self.store.add_note, self.session_id, text, t_s=t_s)

    @property
    def failed(self) -> StoreError | None:
        """The store error that stopped this recording (every commit before it is intact), or ``None``."""
        return self._failed

    @property
    def pending_frames(self) -> int:
        return len(self._frames)

    async def flush(self) -> None:
        """Commit what is pending now (one transaction)."""
        async with self._flush_lock:
            frames, events = self._frames, self._events
            if not frames and not events:
                return
            self._frames, self._events = [], []
            oldest = self._oldest_mono
            self._oldest_mono = time.monotonic()
            t0 = time.perf_counter()
            try:
                await asyncio.to_thread(self.store.write_batch, self.session_id, frames, events)
            except StoreError as exc:
                # keep the batch, in order, in front of what arrived meanwhile: a later flush may succeed
                self._frames[:0] = frames
                self._events[:0] = events
                self._oldest_mono = oldest
                self._failed = exc
                raise
            self.commits += 1
            self.frames_committed += len(frames)
            self.events_committed += len(events)
            log.debug(
                "committed %d frames, %d events in %.1f ms", len(frames), len(events), 1e3 * (time.perf_counter() - t0)
            )
            if any(e.outbox is not None for e in events):
                for cb in self._listeners:
                    cb()
