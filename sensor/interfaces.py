"""The small interfaces the layers meet at (sources -> codecs -> pipeline -> sinks).

``sensor.app`` wires a :class:`FrameSource` (live BLE link, replay of a session, file import) through a
:class:`~sensor.protocol.base.StreamDecoder` into an :class:`Analyzer` and fans the results out to
:class:`Sink` objects (recorder, MQTT, terminal view, web feed). Nothing below ``app`` knows which command runs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Protocol

from sensor.events import Event
from sensor.model import ImuBlock, RawFrame


class FrameSource(Protocol):
    """Yields raw frames in arrival order; live, replayed or imported alike."""

    def frames(self) -> AsyncIterator[RawFrame]: ...


class Analyzer(Protocol):
    """A streaming analysis with explicit state: ``feed`` any chunk size, same result as one big block."""

    def feed(self, block: ImuBlock) -> list[Event]: ...

    def finish(self) -> list[Event]:
        """Flush what is still pending at the end of the stream."""
        ...


class Sink(Protocol):
    """Receives frames as they arrive and events as the pipeline emits them."""

    async def on_frames(self, frames: Sequence[RawFrame]) -> None: ...

    async def on_events(self, sensor_id: str, events: Sequence[Event]) -> None: ...
