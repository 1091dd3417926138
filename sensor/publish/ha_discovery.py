"""Home Assistant MQTT discovery for one HipSense sensor (sans-IO payload builders plus the removal helper).

Device-based discovery (Home Assistant 2024.11+): one retained message on
``<discovery_prefix>/device/<node_id>/config`` holding the device (``dev``), the origin (``o``), availability and
all components (``cmps``). The per-component form ``<discovery_prefix>/<platform>/<node_id>/<object_id>/config``
is produced instead with ``mode="component"`` for older installs. Publishing is retained at QoS 1 and repeated
when Home Assistant announces ``online`` on ``<discovery_prefix>/status``; :func:`remove_discovery` publishes the
empty retained payloads that make Home Assistant delete the entities (``hipsense forget``).

Entities read the retained ``state`` topic (and the ``rep``/``alert`` topics for the event entities) through
value templates, so a consumer other than Home Assistant sees the same JSON.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Final, Literal, get_args

import aiomqtt

from sensor import __version__
from sensor.events import Exercise
from sensor.publish.payloads import STATUS_OFFLINE, STATUS_ONLINE, AlertName, Topics

ORIGIN: Final[dict[str, str]] = {
    "name": "HipSense",
    "sw": __version__,
    "url": "https://github.com/hipsense/hipsense",
}

Platform = Literal["sensor", "binary_sensor", "event"]
DiscoveryMode = Literal["device", "component", "off"]


@dataclass(frozen=True)
class DeviceInfo:
    """What Home Assistant shows about the sensor. ``via_device`` is the gateway's device identifier."""

    sensor_id: str
    name: str | None = None
    model: str = "HipSense hip IMU"
    manufacturer: str = "HipSense"
    sw_version: str | None = None
    hw_version: str | None = None
    via_device: str | None = None
    suggested_area: str | None = None


def node_id(sensor_id: str) -> str:
    """The discovery node id: ``hipsense_<sensor_id>`` with only ``[a-zA-Z0-9_-]`` (Home Assistant's rule)."""
    return "hipsense_" + re.sub(r"[^a-zA-Z0-9_-]", "_", sensor_id)


@dataclass(frozen=True)
class _Entity:
    object_id: str
    platform: Platform
    name: str
    topic: Literal["state", "rep", "alert"] = "state"
    value_template: str | None = None
    unit: str | None = None
    device_class: str | None = None
    state_class: str | None = None
    entity_category: str | None = None
    icon: str | None = None
    event_types: tuple[str, ...] = ()
    json_attributes_template: str | None = None
    suggested_display_precision: int | None = None


def _num(path: str, digits: int = 1) -> str:
    # Unknown values render "None", which Home Assistant's MQTT sensor shows as "unknown" (not 0).
    return f"{{{{ ({path} | round({digits})) if {path} is not none else none }}}}"


def _rolling(key: str, digits: int = 1) -> str:
    path = f"value_json.rolling.{key}"
    return f"{{{{ ({path} | round({digits})) if value_json.rolling and {path} is not none else none }}}}"


_DIAG = "diagnostic"
_MEAS = "measurement"

ENTITIES: Final[tuple[_Entity, ...]] = (
    _Entity("tilt", "sensor", "Pelvic obliquity", value_template=_num("value_json.obliquity_deg"), unit="°",
            state_class=_MEAS, icon="mdi:angle-acute", suggested_display_precision=1),
    _Entity("drop_left", "sensor", "Pelvic drop left (rolling)", value_template=_rolling("median_drop_left_deg"),
            unit="°", state_class=_MEAS, icon="mdi:arrow-bottom-left", suggested_display_precision=1),
    _Entity("drop_right", "sensor", "Pelvic drop right (rolling)", value_template=_rolling("median_drop_right_deg"),
            unit="°", state_class=_MEAS, icon="mdi:arrow-bottom-right", suggested_display_precision=1),
    _Entity("asymmetry", "sensor", "Drop asymmetry", value_template=_rolling("asymmetry_index_pct", 0), unit="%",
            state_class=_MEAS, icon="mdi:scale-unbalanced", suggested_display_precision=0),
    _Entity("cadence", "sensor", "Cadence", value_template=_rolling("cadence_spm", 0), unit="steps/min",
            state_class=_MEAS, icon="mdi:run-fast", suggested_display_precision=0),
    _Entity("reps_in_set", "sensor", "Reps in current set", value_template="{{ value_json.reps_in_set }}",
            state_class=_MEAS, icon="mdi:counter"),
    _Entity("last_set", "sensor", "Last set (reps)",
            value_template="{{ value_json.last_set.reps if value_json.last_set else none }}",
            json_attributes_template="{{ (value_json.last_set or {}) | tojson }}", icon="mdi:weight-lifter"),
    _Entity("glute_sessions_week", "sensor", "Glute sessions this week",
            value_template=_num("value_json.glute_sessions_this_week", 0), state_class=_MEAS,
            icon="mdi:calendar-check"),
    _Entity("battery", "sensor", "Battery", value_template=_num("value_json.battery_pct", 0), unit="%",
            device_class="battery", state_class=_MEAS, entity_category=_DIAG),
    _Entity("rssi", "sensor", "Signal strength", value_template=_num("value_json.rssi_dbm", 0), unit="dBm",
            device_class="signal_strength", state_class=_MEAS, entity_category=_DIAG),
    _Entity("link_quality", "sensor", "Link quality", value_template=_num("value_json.link_quality_pct", 0),
            unit="%", state_class=_MEAS, entity_category=_DIAG, icon="mdi:bluetooth-connect"),
    _Entity("running", "binary_sensor", "Running", value_template="{{ 'ON' if value_json.running else 'OFF' }}",
            device_class="running"),
    _Entity("rep", "event", "Rep", topic="rep", event_types=get_args(Exercise), icon="mdi:arm-flex"),
    _Entity("alert", "event", "Alert", topic="alert", event_types=get_args(AlertName), icon="mdi:alert"),
)  # fmt: skip


def _component(e: _Entity, nid: str, topics: Topics) -> dict[str, Any]:
    c: dict[str, Any] = {
        "p": e.platform,
        "name": e.name,
        "unique_id": f"{nid}_{e.object_id}",
        "default_entity_id": f"{e.platform}.{nid}_{e.object_id}",
        "state_topic": topics.of(e.topic),
    }
    optional: dict[str, Any] = {
        "value_template": e.value_template,
        "unit_of_measurement": e.unit,
        "device_class": e.device_class,
        "state_class": e.state_class,
        "entity_category": e.entity_category,
        "icon": e.icon,
        "json_attributes_topic": topics.of(e.topic) if e.json_attributes_template else None,
        "json_attributes_template": e.json_attributes_template,
        "suggested_display_precision": e.suggested_display_precision,
    }
    c.update({k: v for k, v in optional.items() if v is not None})
    if e.platform == "event":
        c["event_types"] = list(e.event_types)
    return c


def _device(info: DeviceInfo) -> dict[str, Any]:
    d: dict[str, Any] = {
        "ids": [node_id(info.sensor_id)],
        "name": info.name or f"HipSense {info.sensor_id}",
        "mf": info.manufacturer,
        "mdl": info.model,
    }
    for key, value in (
        ("sw", info.sw_version),
        ("hw", info.hw_version),
        ("via_device", info.via_device),
        ("sa", info.suggested_area),
    ):
        if value is not None:
            d[key] = value
    return d


def _availability(topics: Topics) -> list[dict[str, str]]:
    return [{"topic": topics.status, "payload_available": STATUS_ONLINE, "payload_not_available": STATUS_OFFLINE}]


def device_discovery(
    info: DeviceInfo, topics: Topics, discovery_prefix: str = "homeassistant"
) -> tuple[str, dict[str, Any]]:
    """Topic and payload of the device-based discovery message."""
    nid = node_id(info.sensor_id)
    payload: dict[str, Any] = {
        "dev": _device(info),
        "o": dict(ORIGIN),
        "avty": _availability(topics),
        "qos": 0,
        "cmps": {e.object_id: _component(e, nid, topics) for e in ENTITIES},
    }
    return f"{discovery_prefix}/device/{nid}/config", payload


def component_discovery(
    info: DeviceInfo, topics: Topics, discovery_prefix: str = "homeassistant"
) -> list[tuple[str, dict[str, Any]]]:
    """Topics and payloads of the per-component form (one config per entity), for Home Assistant before 2024.11."""
    nid = node_id(info.sensor_id)
    out = []
    for e in ENTITIES:
        c = _component(e, nid, topics)
        platform = c.pop("p")
        c["dev"] = _device(info)
        c["o"] = dict(ORIGIN)
        c["avty"] = _availability(topics)
        out.append((f"{discovery_prefix}/{platform}/{nid}/{e.object_id}/config", c))
    return out


def discovery_messages(
    info: DeviceInfo, topics: Topics, *, mode: DiscoveryMode = "device", discovery_prefix: str = "homeassistant"
) -> list[tuple[str, bytes]]:
    """The retained messages to publish for ``mode`` (none for ``off``), JSON-encoded."""
    if mode == "off":
        return []
    if mode == "device":
        pairs = [device_discovery(info, topics, discovery_prefix)]
    else:
        pairs = component_discovery(info, topics, discovery_prefix)
    return [(t, json.dumps(p, separators=(",", ":")).encode()) for t, p in pairs]


def removal_topics(sensor_id: str, discovery_prefix: str = "homeassistant") -> list[str]:
    """Every discovery topic HipSense may have used for this sensor (both forms)."""
    nid = node_id(sensor_id)
    topics = [f"{discovery_prefix}/device/{nid}/config"]
    topics += [f"{discovery_prefix}/{e.platform}/{nid}/{e.object_id}/config" for e in ENTITIES]
    return topics


async def remove_discovery(
    client: aiomqtt.Client,
    sensor_id: str,
    *,
    discovery_prefix: str = "homeassistant",
    topic_prefix: str = "hipsense",
) -> list[str]:
    """Delete the sensor from Home Assistant: empty retained payloads on every discovery topic (both forms) and on
    the retained ``status``/``state`` topics. Returns the topics cleared. For ``hipsense forget``."""
    topics = Topics(topic_prefix, sensor_id)
    cleared = [*removal_topics(sensor_id, discovery_prefix), topics.of("state"), topics.status]
    for topic in cleared:
        await client.publish(topic, b"", qos=1, retain=True)
    return cleared
