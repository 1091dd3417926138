"""The codec interface every sensor type implements (sans-IO: bytes in, :class:`ImuBlock` out)."""

from __future__ import annotations

from typing import Protocol

from sensor.model import ImuBlock, RawFrame


class StreamDecoder(Protocol):
    """Stateful decoder of one sensor's notification stream.

    It keeps only what continuity needs (last sequence number, clock unwrapping state), never the data.
    ``decode`` raises :class:`~sensor.errors.PacketError` for a payload it cannot use (the caller counts and
    skips it); it returns ``None`` for a valid frame that carries no samples (status, duplicates).
    """

    sensor_type: str

    def decode(self, frame: RawFrame) -> ImuBlock | None: ...
