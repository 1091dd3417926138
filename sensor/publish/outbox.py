"""The outbox the MQTT publisher needs: QoS 1 messages persisted in order BEFORE they are published.

The session store (:mod:`sensor.sessions.store`) implements it in SQLite, in the same transaction discipline as
the recorder, so an event is either recorded and pending, or not there at all. The publisher reads pending rows in
insertion order, publishes them at QoS 1 and marks them delivered only once the broker acknowledged them (PUBACK).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol


class OutboxRow(Protocol):
    """One pending message. ``id`` grows with insertion order."""

    @property
    def id(self) -> int: ...

    @property
    def topic(self) -> str: ...

    @property
    def payload(self) -> str:
        """The JSON payload."""
        ...

    @property
    def event_id(self) -> str: ...


class Outbox(Protocol):
    def enqueue_outbox(self, session_id: str | None, topic: str, payload_json: str, event_id: str) -> object:
        """Persist one message durably before returning (idempotent on ``event_id``)."""
        ...

    def pending_outbox(
        self, limit: int, topic_prefix: str | None = None, exclude_prefixes: Sequence[str] = ()
    ) -> Sequence[OutboxRow]:
        """The oldest ``limit`` undelivered rows, in insertion order; only topics starting with ``topic_prefix``
        when given, and none starting with one of ``exclude_prefixes`` (one publisher per sensor shares the store:
        each must send only its own sensor's rows, and one of them also the rows of sensors no longer in use)."""
        ...

    def mark_delivered(self, ids: Iterable[int]) -> None:
        """Mark rows delivered (acknowledged by the broker); they are never returned again."""
        ...
