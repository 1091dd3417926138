"""The MQTT sink: pipeline events -> topic payloads -> outbox (QoS 1) or the live path (QoS 0).

QoS choices (docs/mqtt.md): rep, set (and holds), alert, bout and session messages are persisted in the outbox
BEFORE anything is published, then published at QoS 1 in order, and marked delivered on PUBACK. Steps, state and
the live tilt are QoS 0: steps come three per second while running, every one is in the session store anyway, and
the retained ``state`` carries the rolling metrics a dashboard shows; losing a few in an outage loses nothing
that matters.

Event ids are ``uuid5(session_id, sensor_id, seq)`` with ``seq`` counting the messages this sink created in the session
(``start`` is 0), so replaying a session gives the same ids. A gateway that resumes an interrupted session must
pass ``first_seq`` past the last one it published.

Typical wiring (``sensor.app``)::

    async with mqtt_sink(cfg.broker, sensor_id="hs-1", session_id=sid, outbox=store, broker_url=url) as sink:
        await sink.start_session()
        ...  # sink.on_events(...), sink.on_tilt(...), sink.update_device(...)
        await sink.end_session(summary)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sensor.config import BrokerConfig
from sensor.events import (
    AlertEvent,
    BoutEvent,
    Event,
    HoldEvent,
    RepEvent,
    RollingSummary,
    SetEvent,
    StepEvent,
)
from sensor.model import FloatArray, RawFrame
from sensor.publish.ha_discovery import DeviceInfo, discovery_messages
from sensor.publish.live_tilt import TiltBatch, TiltDecimator
from sensor.publish.mqtt_client import BrokerSettings, MqttPublisher
from sensor.publish.outbox import Outbox
from sensor.publish.payloads import (
    AlertMessage,
    BoutMessage,
    EventPayload,
    RepMessage,
    SessionMessage,
    SetMessage,
    StateMessage,
    StepMessage,
    TiltMessage,
    TopicName,
    Topics,
    event_id,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Queued:
    topic: str
    payload_json: str
    event_id: str


def _finite_or_none(x: float) -> float | None:
    return x if math.isfinite(x) else None


class MqttSink:
    """Implements :class:`sensor.interfaces.Sink` for one sensor and one session.

    Events of other sensors are ignored (a fan-out may hand every sink every sensor's events).
    """

    def __init__(
        self,
        *,
        publisher: MqttPublisher,
        outbox: Outbox,
        topics: Topics,
        session_id: str,
        live_tilt_rate_hz: float = 10.0,
        live_tilt_batch_s: float = 0.5,
        state_interval_s: float = 0.5,
        first_seq: int = 1,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.publisher = publisher
        self.outbox = outbox
        self.topics = topics
        self.sensor_id = topics.sensor_id
        self.session_id = session_id
        self._clock = clock  # wall time for the payloads' *_unix_s fields
        self._monotonic = monotonic  # the state rate limit: a host clock step must not stop (or flood) it
        self._seq = first_seq
        self._tilt = TiltDecimator(live_tilt_rate_hz, live_tilt_batch_s)
        self._state_interval_s = state_interval_s
        self._state_sent_at = float("-inf")
        self._state_dirty = False
        self._started_unix_s: float | None = None
        self.counts = {"steps": 0, "reps": 0, "sets": 0}
        self._state: dict[str, Any] = {"sensor_id": self.sensor_id, "session_id": session_id, "updated_unix_s": 0.0}

    # ----- Sink protocol
    async def on_frames(self, frames: Sequence[RawFrame]) -> None:
        """Raw frames are the recorder's business; MQTT only carries derived data."""

    async def on_events(self, sensor_id: str, events: Sequence[Event]) -> None:
        if sensor_id != self.sensor_id:
            return
        pending: list[_Queued] = []
        for ev in events:
            queued = self._handle(ev)
            if queued is not None:
                pending.append(queued)
        await self._persist(pending)
        self._maybe_publish_state()

    # ----- extra inputs the app wires in
    def on_tilt(self, t_s: FloatArray, obliquity_deg: FloatArray, anterior_tilt_deg: FloatArray) -> None:
        """Pelvis-frame angles at the IMU rate; decimated to ``live_tilt_rate_hz`` and batched onto ``tilt``."""
        for batch in self._tilt.feed(t_s, obliquity_deg, anterior_tilt_deg):
            self._publish_tilt(batch)
        if len(obliquity_deg):
            self._state["obliquity_deg"] = _finite_or_none(float(obliquity_deg[-1]))
            self._state["anterior_tilt_deg"] = _finite_or_none(float(anterior_tilt_deg[-1]))
            self._state_dirty = True
        self._maybe_publish_state()

    def update_device(
        self,
        *,
        battery_pct: float | None = None,
        rssi_dbm: float | None = None,
        link_quality_pct: float | None = None,
        glute_sessions_this_week: int | None = None,
    ) -> None:
        """Values from the link and the store; ``None`` leaves a value unchanged."""
        for key, value in (
            ("battery_pct", battery_pct),
            ("rssi_dbm", rssi_dbm),
            ("link_quality_pct", link_quality_pct),
            ("glute_sessions_this_week", glute_sessions_this_week),
        ):
            if value is not None:
                self._state[key] = value
                self._state_dirty = True
        self._maybe_publish_state()

    async def start_session(self, started_unix_s: float | None = None) -> None:
        self._started_unix_s = self._clock() if started_unix_s is None else started_unix_s
        msg = SessionMessage(**self._envelope(0), phase="start", started_unix_s=self._started_unix_s)
        await self._persist([self._queued("session", msg)])
        self._maybe_publish_state(force=True)

    async def end_session(self, summary: RollingSummary | None = None, ended_unix_s: float | None = None) -> None:
        for batch in self._tilt.finish():
            self._publish_tilt(batch)
        now = self._clock() if ended_unix_s is None else ended_unix_s
        msg = SessionMessage(
            **self._envelope(self._next_seq()),
            phase="end",
            started_unix_s=self._started_unix_s if self._started_unix_s is not None else now,
            ended_unix_s=now,
            summary=summary,
            **self.counts,
        )
        await self._persist([self._queued("session", msg)])
        self._state.update(activity="other", running=False)
        self._maybe_publish_state(force=True)

    # ----- internals
    def _next_seq(self) -> int:
        seq = self._seq
        self._seq += 1
        return seq

    def _envelope(self, seq: int) -> dict[str, Any]:
        return {
            "sensor_id": self.sensor_id,
            "session_id": self.session_id,
            "seq": seq,
            "event_id": event_id(self.session_id, seq, self.sensor_id),
            "created_unix_s": self._clock(),
        }

    def _queued(self, topic: TopicName, msg: EventPayload) -> _Queued:
        return _Queued(self.topics.of(topic), msg.model_dump_json(), msg.event_id)

    async def _persist(self, items: Sequence[_Queued]) -> None:
        """Write QoS 1 messages to the outbox (durably, in order, off the event loop), then wake the publisher."""
        if not items:
            return

        def write() -> None:
            for it in items:
                self.outbox.enqueue_outbox(self.session_id, it.topic, it.payload_json, it.event_id)

        await asyncio.to_thread(write)
        self.publisher.notify_outbox()

    def _handle(self, ev: Event) -> _Queued | None:
        """Route one event: live ones are published at once, QoS 1 ones are returned for the outbox."""
        if isinstance(ev, StepEvent):
            self.counts["steps"] += 1
            msg = StepMessage(**self._envelope(self._next_seq()), event=ev)
            self.publisher.publish_live(self.topics.of("step"), msg.model_dump_json().encode())
            self._set_activity(ev.activity)
            return None
        if isinstance(ev, RollingSummary):
            self._state["rolling"] = ev.model_dump(mode="json")
            if ev.window_s is not None:
                self._set_activity(ev.activity)
            self._state_dirty = True
            return None
        if isinstance(ev, RepEvent):
            self.counts["reps"] += 1
            self._set_activity("exercise")
            self._state.update(exercise=ev.exercise, reps_in_set=ev.index_in_set)
            self._state_dirty = True
            return self._queued("rep", RepMessage(**self._envelope(self._next_seq()), event_type=ev.exercise, event=ev))
        if isinstance(ev, SetEvent | HoldEvent):
            kind: Literal["set", "hold"] = "set" if isinstance(ev, SetEvent) else "hold"
            if isinstance(ev, SetEvent):
                self.counts["sets"] += 1
                self._state.update(last_set=ev.model_dump(mode="json"), reps_in_set=0)
                self._state_dirty = True
                self._state_sent_at = float("-inf")  # a finished set goes out at once
            return self._queued("set", SetMessage(**self._envelope(self._next_seq()), event_type=kind, event=ev))
        if isinstance(ev, AlertEvent):
            return self._queued(
                "alert", AlertMessage(**self._envelope(self._next_seq()), event_type=ev.alert, event=ev)
            )
        if isinstance(ev, BoutEvent):
            return self._queued("bout", BoutMessage(**self._envelope(self._next_seq()), event=ev))
        raise TypeError(f"unknown event type {type(ev).__name__}")  # pragma: no cover - Event is a closed union

    def _set_activity(self, activity: str) -> None:
        if self._state.get("activity") != activity:
            self._state.update(activity=activity, running=activity == "running")
            self._state_dirty = True
            self._state_sent_at = float("-inf")  # an activity change goes out at once

    def _publish_tilt(self, batch: TiltBatch) -> None:
        msg = TiltMessage(
            sensor_id=self.sensor_id,
            session_id=self.session_id,
            rate_hz=self._tilt.rate_hz,
            t_s=[float(x) for x in batch.t_s],
            obliquity_deg=[_finite_or_none(float(x)) for x in batch.obliquity_deg],
            anterior_tilt_deg=[_finite_or_none(float(x)) for x in batch.anterior_tilt_deg],
        )
        self.publisher.publish_live(self.topics.of("tilt"), msg.model_dump_json().encode())

    def state_message(self) -> StateMessage:
        """The current ``state`` payload."""
        return StateMessage.model_validate({**self._state, "updated_unix_s": self._clock()})

    def _maybe_publish_state(self, *, force: bool = False) -> None:
        now = self._monotonic()
        if not (force or (self._state_dirty and now - self._state_sent_at >= self._state_interval_s)):
            return
        msg = self.state_message()
        self.publisher.publish_live(self.topics.of("state"), msg.model_dump_json().encode(), retain=True)
        self._state_sent_at = now
        self._state_dirty = False


@contextlib.asynccontextmanager
async def mqtt_sink(
    cfg: BrokerConfig,
    *,
    sensor_id: str,
    session_id: str,
    outbox: Outbox,
    broker_url: str | None = None,
    device: DeviceInfo | None = None,
    first_seq: int = 1,
    backoff_max_s: float = 30.0,
    adopt_leftovers_except: Sequence[str] | None = None,
) -> AsyncIterator[MqttSink]:
    """A connected-as-soon-as-possible sink: builds the settings, the topics, the discovery and the publisher.

    ``broker_url`` (``--broker`` or the embedded broker's URL) overrides ``cfg.url``. Never raises because the
    broker is down: the publisher keeps retrying while events accumulate in the outbox.

    The publisher sends this sensor's outbox rows; with ``adopt_leftovers_except`` (the ids of the other sensors in
    use) also every row under ``cfg.topic_prefix`` that is none of theirs: the undelivered events of a sensor since
    renamed or forgotten, to their original topics (one sink of a gateway adopts them, so nothing recorded is lost).
    """
    settings = BrokerSettings.from_config(cfg, broker_url)
    topics = Topics(cfg.topic_prefix, sensor_id)
    info = device or DeviceInfo(sensor_id=sensor_id)
    discovery = discovery_messages(info, topics, mode=cfg.ha_discovery, discovery_prefix=cfg.discovery_prefix)
    publisher = MqttPublisher(
        settings,
        status_topic=topics.status,
        outbox=outbox,
        outbox_topic_prefix=f"{topics.base}/" if adopt_leftovers_except is None else f"{cfg.topic_prefix}/",
        outbox_exclude_prefixes=[f"{Topics(cfg.topic_prefix, s).base}/" for s in adopt_leftovers_except or ()],
        birth=(lambda: discovery) if discovery else None,
        ha_status_topic=f"{cfg.discovery_prefix}/status" if cfg.ha_discovery != "off" else None,
        backoff_max_s=backoff_max_s,
    )
    async with publisher:
        yield MqttSink(
            publisher=publisher,
            outbox=outbox,
            topics=topics,
            session_id=session_id,
            live_tilt_rate_hz=cfg.live_tilt_rate_hz,
            live_tilt_batch_s=cfg.live_tilt_batch_s,
            first_seq=first_seq,
        )
