"""Helpers over :class:`~sensor.pipeline.stage.PelvisChunk` streams for tests, benches and tools.

Stages never use these (they must not keep input data); a recorder is for offline tools that want the pelvis-frame
stream itself, e.g. to re-run a stage with other chunk sizes.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Final

import numpy as np

from sensor.events import Event
from sensor.pipeline.stage import PelvisChunk

ARRAY_FIELDS: Final = (
    "t_s",
    "sample_index",
    "acc_ap_mps2",
    "acc_ml_mps2",
    "acc_v_mps2",
    "lin_acc_up_mps2",
    "gyr_ap_radps",
    "gyr_ml_radps",
    "gyr_v_radps",
    "roll_deg",
    "pitch_deg",
    "yaw_deg",
    "activity",
)
"""The per-sample array fields of a :class:`PelvisChunk` (``None`` for missing gyroscope data)."""


def slice_chunk(c: PelvisChunk, a: int, b: int) -> PelvisChunk:
    """Samples ``a:b`` of a chunk (views)."""
    fields: dict[str, Any] = {f: None if getattr(c, f) is None else getattr(c, f)[a:b] for f in ARRAY_FIELDS}
    return replace(c, **fields)


def concat_chunks(chunks: list[PelvisChunk]) -> PelvisChunk:
    """One chunk from consecutive chunks."""

    def cat(name: str) -> np.ndarray | None:
        parts = [getattr(c, name) for c in chunks]
        return None if parts[0] is None else np.concatenate(parts)

    fields: dict[str, Any] = {f: cat(f) for f in ARRAY_FIELDS}
    return replace(chunks[0], **fields)


class ChunkRecorder:
    """A pelvis stage that keeps every chunk it is fed (offline tools only; it grows with the stream)."""

    def __init__(self) -> None:
        self.chunks: list[PelvisChunk] = []

    def feed(self, chunk: PelvisChunk) -> list[Event]:
        self.chunks.append(chunk)
        return []

    def finish(self) -> list[Event]:
        return []
