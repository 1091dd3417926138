"""Home Assistant discovery: every payload validates against HA's documented schema (ha_schema.py), is published
retained, is republished when HA says online, and is removed with empty retained payloads."""

from __future__ import annotations

import json

import aiomqtt
import pytest

from sensor.config import BrokerConfig
from sensor.events import Exercise
from sensor.publish.ha_discovery import (
    ENTITIES,
    DeviceInfo,
    component_discovery,
    device_discovery,
    discovery_messages,
    remove_discovery,
)
from sensor.publish.mqtt_sink import mqtt_sink
from sensor.publish.payloads import Topics
from sensor.sessions.store import Store

from .brokers import collecting
from .ha_schema import DeviceDiscovery, EventConfig, SensorConfig, validate_component

INFO = DeviceInfo(sensor_id="AA:BB:CC:DD:EE:01", name="Hip sensor", sw_version="1.2.0", via_device="hipsense_gateway")


def test_device_payload_matches_home_assistant_schema() -> None:
    topics = Topics("hipsense", "hs1")
    topic, payload = device_discovery(INFO, topics)
    assert topic == "homeassistant/device/hipsense_AA_BB_CC_DD_EE_01/config"
    doc = DeviceDiscovery.model_validate(payload)
    assert doc.device.identifiers == ["hipsense_AA_BB_CC_DD_EE_01"]
    assert (doc.device.model, doc.device.sw_version, doc.device.via_device) == (
        "HipSense hip IMU",
        "1.2.0",
        "hipsense_gateway",
    )
    assert doc.origin.name == "HipSense"
    assert doc.origin.sw_version
    assert doc.origin.support_url
    assert doc.availability is not None
    assert doc.availability[0].topic == "hipsense/hs1/status"
    cmps = doc.components
    assert set(cmps) == {e.object_id for e in ENTITIES}
    assert len({c.unique_id for c in cmps.values()}) == len(cmps)
    # what the issue asks for, entity by entity
    sensors = {k: c for k, c in cmps.items() if isinstance(c, SensorConfig)}
    for key in ("tilt", "drop_left", "drop_right", "asymmetry", "cadence", "reps_in_set", "last_set",
                "glute_sessions_week", "battery", "rssi", "link_quality"):  # fmt: skip
        assert key in sensors
    assert sensors["drop_left"].unit_of_measurement == "°"
    assert sensors["drop_left"].state_class == "measurement"
    assert (sensors["battery"].device_class, sensors["battery"].entity_category) == ("battery", "diagnostic")
    assert (sensors["rssi"].device_class, sensors["rssi"].entity_category) == ("signal_strength", "diagnostic")
    assert sensors["link_quality"].entity_category == "diagnostic"
    assert cmps["running"].platform == "binary_sensor"
    assert cmps["running"].device_class == "running"  # type: ignore[union-attr]
    rep, alert = cmps["rep"], cmps["alert"]
    assert isinstance(rep, EventConfig)
    assert isinstance(alert, EventConfig)
    assert rep.state_topic == "hipsense/hs1/rep"
    assert set(rep.event_types) == set(Exercise.__args__)  # type: ignore[attr-defined]
    assert "drop_above_threshold" in alert.event_types
    for key, c in cmps.items():
        assert c.default_entity_id == f"{c.platform}.hipsense_AA_BB_CC_DD_EE_01_{key}"
    assert "object_id" not in json.dumps(payload)  # deprecated in HA 2025.10


def test_component_form_matches_home_assistant_schema() -> None:
    pairs = component_discovery(INFO, Topics("hipsense", "hs1"), discovery_prefix="ha")
    assert len(pairs) == len(ENTITIES)
    for topic, payload in pairs:
        prefix, platform, node, obj, last = topic.split("/")
        assert (prefix, node, last) == ("ha", "hipsense_AA_BB_CC_DD_EE_01", "config")
        validate_component(platform, payload)
        assert payload["unique_id"].endswith(obj)


def test_schema_model_rejects_what_home_assistant_rejects() -> None:
    _, good = device_discovery(INFO, Topics("hipsense", "hs1"))
    for broken in (
        {k: v for k, v in good.items() if k != "o"},  # origin is required
        {**good, "dev": {"name": "no ids"}},  # device needs identifiers or connections
        {**good, "cmps": {"x": {"p": "sensor", "state_topic": "t"}}},  # unique_id is required
        {**good, "cmps": {"x": {"p": "event", "unique_id": "u", "state_topic": "t", "event_types": []}}},
        {
            **good,
            "cmps": {
                "x": {
                    "p": "sensor",
                    "unique_id": "u",
                    "state_topic": "t",
                    "device_class": "battery",
                    "unit_of_measurement": "V",
                }
            },
        },
        {**good, "cmps": {"x": {"p": "sensor", "unique_id": "u", "state_topic": "t", "object_idd": "typo"}}},
    ):
        with pytest.raises(ValueError):  # noqa: PT011 - pydantic's ValidationError is a ValueError
            DeviceDiscovery.model_validate(broken)


def test_off_mode_publishes_nothing() -> None:
    assert discovery_messages(INFO, Topics("hipsense", "hs1"), mode="off") == []


@pytest.mark.mosquitto
async def test_discovery_retained_republished_on_ha_online_and_removed(
    mosquitto_url: str, prefix: str, store: Store
) -> None:
    disc = f"{prefix}-ha"
    cfg = BrokerConfig(url=mosquitto_url, topic_prefix=prefix, discovery_prefix=disc)
    config_topic = f"{disc}/device/hipsense_hs1/config"
    async with mqtt_sink(cfg, sensor_id="hs1", session_id="s", outbox=store) as sink:
        await sink.publisher.wait_connected(10)
        async with collecting("127.0.0.1", 1883, f"{disc}/#") as ha:
            await ha.wait_for(lambda c: any(m.topic == config_topic for m in c.messages))
            first = [m for m in ha.messages if m.topic == config_topic]
            assert first[0].retain  # a late subscriber got it: retained
            DeviceDiscovery.model_validate(first[0].json())
            # Home Assistant restarts and announces itself: the gateway republishes
            async with aiomqtt.Client("127.0.0.1", 1883) as hass:
                await hass.publish(f"{disc}/status", b"online", qos=1)
            await ha.wait_for(lambda c: sum(m.topic == config_topic for m in c.messages) == 2)
            again = [m for m in ha.messages if m.topic == config_topic][1]
            assert not again.retain  # a live republish, not the retained copy
            assert again.json() == first[0].json()
    async with aiomqtt.Client("127.0.0.1", 1883) as client:
        cleared = await remove_discovery(client, "hs1", discovery_prefix=disc, topic_prefix=prefix)
    assert config_topic in cleared
    # nothing retained is left: a new subscriber gets no discovery config (wait past a round trip to be sure)
    async with collecting("127.0.0.1", 1883, f"{disc}/#") as late:
        async with aiomqtt.Client("127.0.0.1", 1883) as probe:
            await probe.publish(f"{disc}/probe", b"x", qos=1)
        await late.wait_for(lambda c: any(m.topic == f"{disc}/probe" for m in c.messages))
        assert [m.topic for m in late.messages] == [f"{disc}/probe"]
