"""Helpers for the session tests: an in-memory frame source and a tiny deterministic analyzer.

``ListSource`` stands in for a live link (it yields prepared frames and gives the event loop a turn between
them, as a BLE notification queue would); ``ZeroCrossingAnalyzer`` is a deliberately trivial streaming analysis
(a "step" at every upward zero crossing of the vertical acceleration minus 1 g), enough to check that a replay
yields exactly the events live produced, whatever the real pipeline later computes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

import numpy as np

from sensor.events import Event, StepEvent
from sensor.model import ImuBlock, RawFrame


class ListSource:
    def __init__(self, frames: Sequence[RawFrame]) -> None:
        self._frames = list(frames)

    async def frames(self) -> AsyncIterator[RawFrame]:
        for f in self._frames:
            await asyncio.sleep(0)
            yield f


class ZeroCrossingAnalyzer:
    def __init__(self) -> None:
        self._last: float | None = None
        self._n = 0

    def feed(self, block: ImuBlock) -> list[Event]:
        z = block.acc_mps2[:, 2] - 9.80665
        prev = np.concatenate([[z[0] if self._last is None else self._last], z[:-1]])
        idx = np.flatnonzero((prev < 0) & (z >= 0))
        if self._last is None:
            idx = idx[idx > 0]
        self._last = float(z[-1])
        out: list[Event] = []
        for i in idx:
            out.append(StepEvent(t_s=float(block.t_s[i]), side="left" if self._n % 2 == 0 else "right", confidence=1.0))
            self._n += 1
        return out

    def finish(self) -> list[Event]:
        return []


class CollectingSink:
    def __init__(self) -> None:
        self.frames: list[RawFrame] = []
        self.events: list[tuple[str, Event]] = []

    async def on_frames(self, frames: Sequence[RawFrame]) -> None:
        self.frames.extend(frames)

    async def on_events(self, sensor_id: str, events: Sequence[Event]) -> None:
        self.events.extend((sensor_id, e) for e in events)
