"""MQTT topics and payloads, version 1 (sans-IO: pydantic models and pure helpers, no network).

Topics, all under ``<topic_prefix>/<sensor_id>/`` (prefix ``hipsense`` by default; see docs/mqtt.md):

========== ===== ======== ===========================================================================
topic      QoS   retained payload
========== ===== ======== ===========================================================================
status     1     yes      ``online`` / ``offline`` (plain text; ``offline`` is the last will)
state      0     yes      :class:`StateMessage`: activity and the current rolling metrics
step       0     no       :class:`StepMessage`, one per step (a live stream; the recorder keeps them all)
rep        1     no       :class:`RepMessage` (through the outbox)
set        1     no       :class:`SetMessage` (sets and holds, through the outbox)
alert      1     no       :class:`AlertMessage` (through the outbox)
bout       1     no       :class:`BoutMessage`: activity bouts (through the outbox)
session    1     no       :class:`SessionMessage`: start and end summaries (through the outbox)
tilt       0     no       :class:`TiltMessage`: decimated live tilt, batched
========== ===== ======== ===========================================================================

Every event payload carries ``schema_version``, ``event_id`` (deterministic, see :func:`event_id`),
``sensor_id`` and ``session_id``. Consumers de-duplicate QoS 1 events on ``event_id``.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from sensor.errors import ConfigError
from sensor.events import (
    Activity,
    AlertEvent,
    BoutEvent,
    Exercise,
    HoldEvent,
    RepEvent,
    RollingSummary,
    SetEvent,
    StepEvent,
)

SCHEMA_VERSION: Final = 1
"""Version of the topic layout and payloads below; bumped on any incompatible change."""

EVENT_ID_NAMESPACE: Final = uuid.UUID("6f1d3c2a-8e4b-5b7a-9c1e-2d4f6a8b0c11")
"""uuid5 namespace of HipSense event ids (fixed forever: changing it would change every id)."""

TopicName = Literal["status", "state", "step", "rep", "set", "alert", "bout", "session", "tilt"]
TOPIC_NAMES: Final[tuple[TopicName, ...]] = (
    "status",
    "state",
    "step",
    "rep",
    "set",
    "alert",
    "bout",
    "session",
    "tilt",
)
RELIABLE_TOPICS: Final[frozenset[TopicName]] = frozenset({"rep", "set", "alert", "bout", "session"})
"""Topics published at QoS 1 through the persistent outbox."""

STATUS_ONLINE: Final = "online"
STATUS_OFFLINE: Final = "offline"

_FORBIDDEN_TOPIC_CHARS = ("+", "#", "\x00")


def _check_topic_part(value: str, what: str) -> None:
    if not value or any(c in value for c in _FORBIDDEN_TOPIC_CHARS) or value.startswith("/") or value.endswith("/"):
        raise ConfigError(
            f"{what} {value!r} cannot be used in an MQTT topic: use letters, digits, '_', '-', '.' (no '+', '#', "
            "leading or trailing '/')",
            key=what,
        )


class Topics:
    """The topics of one sensor: ``Topics("hipsense", "hs-1").of("rep") == "hipsense/hs-1/rep"``."""

    __slots__ = ("base", "prefix", "sensor_id")

    def __init__(self, prefix: str, sensor_id: str) -> None:
        _check_topic_part(prefix, "topic_prefix")
        _check_topic_part(sensor_id, "sensor_id")
        if "/" in sensor_id:
            raise ConfigError(f"sensor_id {sensor_id!r} must not contain '/': use an alias without it", key="sensor_id")
        self.prefix = prefix
        self.sensor_id = sensor_id
        self.base = f"{prefix}/{sensor_id}"

    def of(self, name: TopicName) -> str:
        return f"{self.base}/{name}"

    @property
    def status(self) -> str:
        return self.of("status")


def event_id(session_id: str, key: str | int, sensor_id: str | None = None) -> str:
    """Deterministic event id: uuid5 of the session id, the sensor id and the event's sequence number.

    A replay of the same session or a gateway restart that re-sends pending events reuses the same ids, so a
    consumer that de-duplicates on ``event_id`` sees each event once. The sensor id is part of it because every
    sensor of a multi-sensor session counts its own ``seq`` from 0: without it the sensors' messages would share
    ids, and the outbox (unique on ``event_id``) would keep only the first sensor's.
    """
    name = f"{session_id}/{key}" if sensor_id is None else f"{session_id}/{sensor_id}/{key}"
    return str(uuid.uuid5(EVENT_ID_NAMESPACE, name))


class _Payload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = SCHEMA_VERSION
    sensor_id: str
    session_id: str | None = None


class EventPayload(_Payload):
    event_id: str = Field(description="deterministic uuid5 of (session_id, sequence); de-duplicate on it")
    seq: int = Field(ge=0, description="event sequence number within the session (publication order)")
    created_unix_s: float = Field(description="gateway wall-clock time when the message was created, s")


class StepMessage(EventPayload):
    """``.../step`` (QoS 0): one step with its pelvic drop."""

    event: StepEvent


class RepMessage(EventPayload):
    """``.../rep`` (QoS 1). ``event_type`` is the exercise (Home Assistant event entities read it)."""

    event_type: Exercise
    event: RepEvent


class SetMessage(EventPayload):
    """``.../set`` (QoS 1): a finished set of reps, or a timed hold."""

    event_type: Literal["set", "hold"]
    event: Annotated[SetEvent | HoldEvent, Field(discriminator="kind")]


AlertName = Literal["drop_above_threshold", "asymmetry_above_limit", "long_sitting", "link_lost", "low_battery"]


class AlertMessage(EventPayload):
    """``.../alert`` (QoS 1). ``event_type`` is the alert name (Home Assistant event entities read it)."""

    event_type: AlertName
    event: AlertEvent


class BoutMessage(EventPayload):
    """``.../bout`` (QoS 1): a finished bout of one activity."""

    event: BoutEvent


class SessionMessage(EventPayload):
    """``.../session`` (QoS 1): ``phase`` start when a session starts, end (with its summary) when it ends."""

    phase: Literal["start", "end"]
    started_unix_s: float
    ended_unix_s: float | None = None
    steps: int = Field(default=0, ge=0)
    reps: int = Field(default=0, ge=0)
    sets: int = Field(default=0, ge=0)
    summary: RollingSummary | None = Field(default=None, description="whole-session summary (end only)")


class StateMessage(_Payload):
    """``.../state`` (QoS 0, retained): what a dashboard shows now. Fields are ``None`` until known."""

    updated_unix_s: float
    activity: Activity = "other"
    running: bool = False
    obliquity_deg: float | None = Field(default=None, description="latest pelvic obliquity, + = left side higher")
    anterior_tilt_deg: float | None = None
    rolling: RollingSummary | None = None
    exercise: Exercise | None = Field(default=None, description="exercise of the current set")
    reps_in_set: int = Field(default=0, ge=0)
    last_set: SetEvent | None = None
    glute_sessions_this_week: int | None = Field(default=None, ge=0)
    battery_pct: float | None = Field(default=None, ge=0.0, le=100.0)
    rssi_dbm: float | None = None
    link_quality_pct: float | None = Field(default=None, ge=0.0, le=100.0, description="received/expected samples")


class TiltMessage(_Payload):
    """``.../tilt`` (QoS 0): decimated live tilt, several samples per message.

    Each sample is the mean over one ``1/rate_hz`` bin of the pelvis-frame angles (see :mod:`sensor.frames`).
    """

    rate_hz: float = Field(gt=0.0)
    t_s: list[float] = Field(description="bin centres in the source's time base, s")
    obliquity_deg: list[float | None] = Field(description="bin means; null where the angle was unknown")
    anterior_tilt_deg: list[float | None]


PAYLOAD_MODELS: Final[dict[str, type[BaseModel]]] = {
    "state": StateMessage,
    "step": StepMessage,
    "rep": RepMessage,
    "set": SetMessage,
    "alert": AlertMessage,
    "bout": BoutMessage,
    "session": SessionMessage,
    "tilt": TiltMessage,
}
"""The JSON payload model of each topic (``status`` is plain text). ``schemas/mqtt/<topic>.json`` is generated
from these by ``python -m sensor.publish.schemas``."""
