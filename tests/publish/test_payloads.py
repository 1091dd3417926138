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
