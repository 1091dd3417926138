"""Payload models, event ids and the published JSON Schemas."""

from __future__ import annotations

import json
import uuid

import pytest

from sensor.errors import ConfigError
from sensor.events import RepEvent
from sensor.publish import schemas
from sensor.publish.payloads import PAYLOAD_MODELS, RepMessage, Topics, event_id


def test_schemas_on_disk_are_current() -> None:
    stale = schemas.stale_files()
    assert stale == [], f"run: python -m sensor.publish.schemas (stale: {stale})"
    assert sorted(p.name for p in schemas.DEFAULT_DIR.glob("*.json")) == sorted(f"{t}.json" for t in PAYLOAD_MODELS)


def test_event_ids_are_deterministic_and_unique() -> None:
    ids = {event_id(s, k) for s in ("s1", "s2") for k in range(1000)}
    assert len(ids) == 2000
    assert event_id("s1", 5) == event_id("s1", 5)
    assert uuid.UUID(event_id("s1", 5)).version == 5


def test_rep_message_round_trip() -> None:
    ev = RepEvent(t_start_s=1.0, t_end_s=3.0, exercise="squat", index_in_set=2, duration_s=2.0, confidence=0.9)
    msg = RepMessage(sensor_id="hs", session_id="s", seq=3, event_id=event_id("s", 3), created_unix_s=1.0,
                     event_type="squat", event=ev)  # fmt: skip
    doc = json.loads(msg.model_dump_json())
    assert doc["schema_version"] == 1
    assert doc["event"]["kind"] == "rep"
    assert RepMessage.model_validate_json(msg.model_dump_json()) == msg


@pytest.mark.parametrize("bad", ["a/b", "a+", "#", ""])
def test_topics_refuse_wildcards(bad: str) -> None:
    with pytest.raises(ConfigError):
        Topics("hipsense", bad)


def test_topic_layout() -> None:
    t = Topics("hipsense", "hs-1")
    assert t.status == "hipsense/hs-1/status"
    assert t.of("tilt") == "hipsense/hs-1/tilt"


def test_plaintext_to_a_network_broker_is_warned_with_the_fix() -> None:
    from sensor.publish.mqtt_client import parse_broker_url, plaintext_warning

    w = plaintext_warning(parse_broker_url("mqtt://user:secret@192.0.2.10:1883"))
    assert w is not None
    assert "mqtts://192.0.2.10:8883" in w
    assert "secret" not in w
    assert "wss://" in (plaintext_warning(parse_broker_url("ws://broker.example/mqtt")) or "")
    assert plaintext_warning(parse_broker_url("mqtt://127.0.0.1:1883")) is None
    assert plaintext_warning(parse_broker_url("mqtt://localhost")) is None
    assert plaintext_warning(parse_broker_url("mqtts://broker.example:8883")) is None
