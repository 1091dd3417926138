"""An in-memory outbox: a stand-in, NOT persistent, for the in-process tests until the session store's SQLite
outbox is merged (the kill -9 tests use the real store). Same contract as :class:`sensor.publish.outbox.Outbox`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    id: int
    topic: str
    payload_json: str
    event_id: str


class MemoryOutbox:
    def __init__(self) -> None:
        self.rows: list[Row] = []
        self.delivered: set[int] = set()

    def enqueue_outbox(self, session_id: str, topic: str, payload_json: str, event_id: str) -> int:
        row = Row(len(self.rows) + 1, topic, payload_json, event_id)
        self.rows.append(row)
        return row.id

    def pending_outbox(self, limit: int) -> Sequence[Row]:
        return [r for r in self.rows if r.id not in self.delivered][:limit]

    def mark_delivered(self, ids: Sequence[int]) -> None:
        self.delivered.update(ids)
