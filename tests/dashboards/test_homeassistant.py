"""The Home Assistant dashboard and automations name only entities that HipSense's discovery really creates.

Entity ids are computed from the discovery payloads built by ``sensor.publish.ha_discovery`` for the sensor id the
docs use (``hip``), with the rules Home Assistant applies (the rule this test relies on, also in the README):

* Home Assistant 2025.10+: an MQTT entity with ``default_entity_id`` gets that id when it is first registered: the
  domain part must equal the platform and the object part is ``slugify``-ed (lower case, runs of other characters
  become ``_``). The entity registry keeps it afterwards under ``unique_id`` (renames in the UI win; a clash with
  another entity gives ``_2``, which a fresh install does not have).
* Without ``default_entity_id`` (Home Assistant before 2025.10 ignores it): MQTT entities have
  ``has_entity_name``, so the id is ``<platform>.slugify(<device name> <entity name>)``. The README lists those
  ids too; the dashboard targets the first rule.

Both discovery forms (device-based and per-component) must give the same entities.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from sensor.events import AlertEvent, RepEvent, SetEvent
from sensor.publish.ha_discovery import DeviceInfo, component_discovery, device_discovery, discovery_messages
from sensor.publish.payloads import AlertMessage, RepMessage, Topics

HA_DIR = Path(__file__).resolve().parents[2] / "dashboards" / "homeassistant"
LOVELACE = HA_DIR / "lovelace-hipsense.yaml"
AUTOMATIONS = HA_DIR / "automations.yaml"
README = HA_DIR / "README.md"
SENSOR_ID = "hip"  # the sensor id used throughout the docs and the YAML files

# homeassistant.core.valid_entity_id
VALID_ENTITY_ID = re.compile(r"^(?!.+__)(?!_)[\da-z_]+(?<!_)\.(?!_)[\da-z_]+(?<!_)$")
# Domains whose entities come from the discovery: any id in these domains must be a discovered one.
DISCOVERED_DOMAINS = ("sensor", "binary_sensor", "event")
ENTITY_ID_IN_TEXT = re.compile(r"\b(?:" + "|".join(DISCOVERED_DOMAINS) + r")\.[a-z0-9_]+\b")
# User-specific entities the automations' actions need (documented placeholders in automations.yaml + README)
PLACEHOLDER_DOMAINS = {"tts", "media_player"}
LOVELACE_CARD_TYPES = {
    "gauge", "entities", "history-graph", "statistics-graph", "logbook", "markdown", "conditional",
    "vertical-stack", "horizontal-stack", "grid", "tile", "glance",
}  # fmt: skip


class _HaLoader(yaml.SafeLoader):
    """PyYAML with Home Assistant's tags: ``!secret``/``!include``/``!input``/``!env_var`` become markers."""


def _tag(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
    assert isinstance(node, yaml.ScalarNode)
    return {"__tag__": node.tag, "value": loader.construct_scalar(node)}


for _t in ("!secret", "!include", "!include_dir_list", "!include_dir_named", "!input", "!env_var"):
    _HaLoader.add_constructor(_t, _tag)


def load_ha_yaml(path: Path) -> Any:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_HaLoader)  # a SafeLoader subclass


def slugify(text: str) -> str:
    """Home Assistant's ``homeassistant.util.slugify`` for ASCII text (python-slugify, separator ``_``)."""
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "unknown"


def entity_id_of(platform: str, component: dict[str, Any], device_name: str, *, use_default: bool = True) -> str:
    """The entity id Home Assistant gives a discovered component (rules in the module docstring)."""
    default = component.get("default_entity_id") if use_default else None
    if default is not None:
        domain, _, object_id = default.partition(".")
        assert domain == platform, f"default_entity_id {default!r} is not in platform {platform}"
        entity_id = f"{platform}.{slugify(object_id)}"
    else:
        entity_id = f"{platform}." + slugify(f"{device_name} {component['name']}")
    assert VALID_ENTITY_ID.match(entity_id), entity_id
    return entity_id


def discovered(sensor_id: str = SENSOR_ID, *, use_default: bool = True) -> dict[str, dict[str, Any]]:
    """Entity id -> its component config, from the real device-based discovery payload."""
    info = DeviceInfo(sensor_id=sensor_id)
    _, payload = device_discovery(info, Topics("hipsense", sensor_id))
    device_name = payload["dev"]["name"]
    return {entity_id_of(c["p"], c, device_name, use_default=use_default): c for c in payload["cmps"].values()}


ENTITIES = discovered()


def _walk(node: Any) -> Iterator[tuple[str | None, Any]]:
    """Every (key, value) pair in a YAML tree, depth first; list items have key None."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield k, v
            yield from _walk(v)
    elif isinstance(node, list):
        for v in node:
            yield None, v
            yield from _walk(v)


def _ids(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [x if isinstance(x, str) else x["entity"] for x in value]
    return []


def named_entities(tree: Any) -> set[str]:
    """Entity ids under ``entity``/``entities``/``entity_id``/``media_player_entity_id`` keys."""
    out: set[str] = set()
    for key, value in _walk(tree):
        if key in {"entity", "entities", "entity_id", "media_player_entity_id"}:
            out.update(_ids(value))
    return out


def ids_in_text(tree: Any) -> set[str]:
    """Entity ids of the discovered domains written anywhere, templates included."""
    return {m for _, v in _walk(tree) if isinstance(v, str) for m in ENTITY_ID_IN_TEXT.findall(v)}


# --- discovery rule -------------------------------------------------------------------------------------------


def test_both_discovery_forms_give_the_same_entity_ids() -> None:
    info = DeviceInfo(sensor_id=SENSOR_ID)
    per_component = {}
    for topic, config in component_discovery(info, Topics("hipsense", SENSOR_ID)):
        platform = topic.split("/")[1]
        per_component[entity_id_of(platform, config, config["dev"]["name"])] = config["unique_id"]
    assert per_component == {eid: c["unique_id"] for eid, c in ENTITIES.items()}
    # what goes on the wire is the same JSON
    (_, raw), *_ = discovery_messages(info, Topics("hipsense", SENSOR_ID))
    assert {c["default_entity_id"] for c in json.loads(raw)["cmps"].values()} == set(ENTITIES)


def test_the_entities_the_brief_lists_are_discovered() -> None:
    for key in ("tilt", "drop_left", "drop_right", "asymmetry", "cadence", "reps_in_set", "last_set",
                "glute_sessions_week", "battery", "link_quality"):  # fmt: skip
        assert f"sensor.hipsense_hip_{key}" in ENTITIES
    assert "binary_sensor.hipsense_hip_running" in ENTITIES
    assert {"event.hipsense_hip_rep", "event.hipsense_hip_alert"} <= set(ENTITIES)


def test_entity_ids_follow_the_sensor_id() -> None:
    other = discovered("left_hip")
    assert {e.replace("hipsense_left_hip_", "hipsense_hip_") for e in other} == set(ENTITIES)


def test_readme_table_lists_exactly_the_discovered_ids_for_both_rules() -> None:
    text = README.read_text(encoding="utf-8")
    rows = re.findall(r"^\| `([a-z_]+\.[a-z0-9_]+)` \| `([a-z_]+\.[a-z0-9_]+)` \|", text, flags=re.MULTILINE)
    assert {new for new, _ in rows} == set(ENTITIES)
    by_unique = {c["unique_id"]: eid for eid, c in discovered(use_default=False).items()}
    old_of_new = {eid: by_unique[c["unique_id"]] for eid, c in ENTITIES.items()}
    assert dict(rows) == old_of_new


# --- Lovelace -------------------------------------------------------------------------------------------------


def _cards(node: Any) -> Iterator[dict[str, Any]]:
    for key, value in _walk(node):
        if key in {"cards"}:
            yield from value
        elif key == "card":
            yield value


@pytest.fixture(scope="module")
def lovelace() -> dict[str, Any]:
    doc = load_ha_yaml(LOVELACE)
    assert isinstance(doc, dict)
    return doc


def test_lovelace_parses_into_views_of_known_cards(lovelace: dict[str, Any]) -> None:
    assert lovelace["title"] == "HipSense"
    assert [v["path"] for v in lovelace["views"]] == ["run", "glutes", "sensor"]
    types = [c["type"] for c in _cards(lovelace)]
    assert set(types) <= LOVELACE_CARD_TYPES
    assert {"gauge", "entities", "history-graph", "statistics-graph"} <= set(types)


def test_lovelace_names_only_discovered_entities(lovelace: dict[str, Any]) -> None:
    named = named_entities(lovelace)
    in_text = ids_in_text(lovelace)
    assert named
    assert named - set(ENTITIES) == set()
    assert in_text - set(ENTITIES) == set()
    # the dashboard shows every entity the discovery publishes
    assert named | in_text == set(ENTITIES)


def test_gauges_and_statistics_graphs_use_numeric_entities_with_statistics(lovelace: dict[str, Any]) -> None:
    for card in _cards(lovelace):
        if card["type"] == "gauge":
            c = ENTITIES[card["entity"]]
            assert c["p"] == "sensor"
            assert "unit_of_measurement" in c or "state_class" in c, card["entity"]
            assert card["min"] < card["max"]
        if card["type"] == "statistics-graph":
            for eid in _ids(card["entities"]):
                # Home Assistant keeps long-term statistics only for sensors with a state_class
                assert ENTITIES[eid].get("state_class") == "measurement", eid
            assert set(card["stat_types"]) <= {"mean", "min", "max", "sum", "state", "change"}
            assert card["period"] in {"5minute", "hour", "day", "week", "month"}


def test_attribute_rows_name_attributes_the_payload_carries(lovelace: dict[str, Any]) -> None:
    attrs = [c for c in _cards(lovelace) if c["type"] == "entities"]
    rows = [r for c in attrs for r in c["entities"] if isinstance(r, dict) and r.get("type") == "attribute"]
    assert rows
    for row in rows:
        component = ENTITIES[row["entity"]]
        # last_set's attributes are the SetEvent JSON (json_attributes_template dumps value_json.last_set)
        assert "value_json.last_set" in component["json_attributes_template"]
        assert row["attribute"] in SetEvent.model_fields


def test_event_attributes_in_templates_exist_in_the_payloads(lovelace: dict[str, Any]) -> None:
    automations = load_ha_yaml(AUTOMATIONS)
    texts = [v for tree in (lovelace, automations) for _, v in _walk(tree) if isinstance(v, str)]
    models = {"event.hipsense_hip_alert": AlertMessage, "event.hipsense_hip_rep": RepMessage}
    used = 0
    for text in texts:
        for eid, attr in re.findall(r"state_attr\('([a-z_]+\.[a-z0-9_]+)', '([a-z_]+)'\)", text):
            # an MQTT event entity exposes event_type and the payload's other top-level keys as attributes
            assert attr in models[eid].model_fields, (eid, attr)
            used += 1
    assert used >= 4


def _event_variables(text: str, trigger_entity: str | None) -> Iterator[tuple[str, str, str]]:
    """(entity, variable, attribute) for each ``var.attr`` where ``var`` was set to an event entity's ``event``."""
    pattern = (
        r"\{%-? set (\w+) = (?:state_attr\('([a-z_]+\.[a-z0-9_]+)', 'event'\)"
        r"|(trigger\.to_state\.attributes\.event)) -?%\}"
    )
    for var, entity, from_trigger in re.findall(pattern, text):
        source = entity or trigger_entity
        assert source is not None, (from_trigger, text)
        for attr in re.findall(rf"\b{var}\.(\w+)", text):
            yield source, var, attr


def test_event_fields_used_in_templates_exist(lovelace: dict[str, Any]) -> None:
    """``{% set e = ...'event' %}`` then ``e.value``: the field must exist in that entity's event model."""
    events = {"event.hipsense_hip_alert": AlertEvent, "event.hipsense_hip_rep": RepEvent}
    used = []
    for _, text in _walk(lovelace):
        if isinstance(text, str):
            used += list(_event_variables(text, None))
    for a in load_ha_yaml(AUTOMATIONS):
        entities = [t.get("entity_id") for t in _section(a, "triggers", "trigger")]
        trigger_entity = entities[0] if len(entities) == 1 and isinstance(entities[0], str) else None
        for _, text in _walk(a):
            if isinstance(text, str):
                used += list(_event_variables(text, trigger_entity))
    assert {(e, v) for e, v, _ in used} >= {("event.hipsense_hip_alert", "a"), ("event.hipsense_hip_rep", "r"),
                                            ("event.hipsense_hip_alert", "e")}  # fmt: skip
    for entity, _, attr in used:
        assert attr in events[entity].model_fields, (entity, attr)


# --- automations ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def automations() -> list[dict[str, Any]]:
    doc = load_ha_yaml(AUTOMATIONS)
    assert isinstance(doc, list)
    return doc


def _section(automation: dict[str, Any], new: str, old: str) -> list[dict[str, Any]]:
    value = automation.get(new, automation.get(old, []))
    return value if isinstance(value, list) else [value]


def _flat_conditions(conditions: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for c in conditions:
        yield c
        yield from _flat_conditions(c.get("conditions", []))


def test_automations_have_unique_ids_and_the_two_examples(automations: list[dict[str, Any]]) -> None:
    ids = [a["id"] for a in automations]
    assert len(ids) == len(set(ids))
    assert {"hipsense_drop_alert_announce", "hipsense_glute_weekly_reminder"} <= set(ids)
    for a in automations:
        assert _section(a, "triggers", "trigger")
        assert _section(a, "actions", "action")


def test_trigger_and_condition_entities_exist(automations: list[dict[str, Any]]) -> None:
    for a in automations:
        conditions = list(_flat_conditions(_section(a, "conditions", "condition")))
        for part in (_section(a, "triggers", "trigger"), conditions):
            ids = set()
            for item in part:
                ids.update(_ids(item.get("entity_id", [])))
            assert ids - set(ENTITIES) == set(), a["id"]


def test_automations_name_only_discovered_or_placeholder_entities(automations: list[dict[str, Any]]) -> None:
    assert ids_in_text(automations) - set(ENTITIES) == set()
    for eid in named_entities(automations) - set(ENTITIES):
        assert eid.split(".")[0] in PLACEHOLDER_DOMAINS, eid
    readme = README.read_text(encoding="utf-8")
    for eid in named_entities(automations) - set(ENTITIES):
        assert f"`{eid}`" in readme, f"placeholder {eid} is not explained in the README"


def test_state_conditions_use_states_the_entities_can_have(automations: list[dict[str, Any]]) -> None:
    checked = 0
    for a in automations:
        for c in _flat_conditions(_section(a, "conditions", "condition")):
            if c["condition"] != "state":
                continue
            component = ENTITIES[c["entity_id"]]
            states = c["state"] if isinstance(c["state"], list) else [c["state"]]
            # YAML 1.1 reads a bare on/off as a boolean, which never equals a state string
            assert all(isinstance(s, str) for s in states), c
            if c.get("attribute") == "event_type":
                assert set(states) <= set(component["event_types"])
            elif component["p"] == "binary_sensor":
                assert set(states) <= {"on", "off", "unavailable", "unknown"}
            else:
                assert set(states) <= {"unavailable", "unknown"}
            checked += 1
    assert checked >= 4


def test_drop_alert_automation_listens_to_the_alert_event(automations: list[dict[str, Any]]) -> None:
    a = next(x for x in automations if x["id"] == "hipsense_drop_alert_announce")
    (trigger,) = _section(a, "triggers", "trigger")
    assert trigger.get("trigger", trigger.get("platform")) == "state"
    assert ENTITIES[trigger["entity_id"]]["state_topic"] == "hipsense/hip/alert"
    conditions = _section(a, "conditions", "condition")
    assert {"condition": "state", "entity_id": trigger["entity_id"], "attribute": "event_type",
            "state": "drop_above_threshold"} in conditions  # fmt: skip
    assert any(x.get("action") == "tts.speak" for x in _section(a, "actions", "action"))


def test_weekly_reminder_fires_below_two_sessions(automations: list[dict[str, Any]]) -> None:
    a = next(x for x in automations if x["id"] == "hipsense_glute_weekly_reminder")
    (trigger,) = _section(a, "triggers", "trigger")
    assert trigger.get("trigger", trigger.get("platform")) == "time"
    numeric = [c for c in _flat_conditions(_section(a, "conditions", "condition")) if c["condition"] == "numeric_state"]
    assert [(c["entity_id"], c["below"]) for c in numeric] == [("sensor.hipsense_hip_glute_sessions_week", 2)]
    weekdays = [c["weekday"] for c in _section(a, "conditions", "condition") if c["condition"] == "time"]
    assert weekdays
    assert set(weekdays[0]) <= {"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
