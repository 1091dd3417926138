"""The Grafana trend dashboard queries only what Telegraf stores from HipSense's real MQTT payloads.

Example payloads are generated from the pydantic payload models (every optional field filled, every literal value
and union branch taken at least once), serialised as the gateway does (``model_dump_json``) and turned into metrics
by ``dashboards/grafana/telegraf_json.py``, the documented mapping of Telegraf's JSON parser for the options in
telegraf.conf. Every InfluxQL query of the dashboard must then name a produced measurement, fields that exist (and
are numeric where aggregated), tags that exist, and tag values that can occur.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import importlib.util
import json
import re
import socket
import sys
import tomllib
import types
import typing
import uuid
from pathlib import Path
from typing import Any, Literal

import aiomqtt
import pytest
import yaml
from pydantic import BaseModel

from sensor.config import BrokerConfig
from sensor.events import Event, HoldEvent, RepEvent, RollingSummary, SetEvent, StepEvent
from sensor.frames import Side
from sensor.publish.mqtt_sink import mqtt_sink
from sensor.publish.payloads import PAYLOAD_MODELS, RELIABLE_TOPICS, TOPIC_NAMES, Topics
from sensor.sessions.store import Store

GRAFANA_DIR = Path(__file__).resolve().parents[2] / "dashboards" / "grafana"
DASHBOARD = GRAFANA_DIR / "hipsense-trends.json"
DATASOURCE = GRAFANA_DIR / "provisioning" / "datasources" / "hipsense-influxdb.yaml"
PROVIDER = GRAFANA_DIR / "provisioning" / "dashboards" / "hipsense.yaml"
SUBSCRIBED = {"step", "rep", "set", "session"}


def _load_telegraf_json() -> types.ModuleType:
    spec = importlib.util.spec_from_file_location("hipsense_telegraf_json", GRAFANA_DIR / "telegraf_json.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


tj = _load_telegraf_json()

# --- example payloads from the models ---------------------------------------------------------------------------


def _options(tp: Any) -> list[Any]:
    """JSON values for annotation ``tp``: one per literal value / union branch / bool value, else one."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Annotated:
        return _options(args[0])
    if origin in (typing.Union, types.UnionType):
        return [x for a in args if a is not type(None) for x in _options(a)]
    if origin is Literal:
        return list(args)
    if origin in (list, tuple):
        inner = _options(args[0])
        return [[x, x] for x in inner]
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return _model_examples(tp)
    if tp is bool:
        return [False, True]
    if tp is int:
        return [1]
    if tp is float:
        return [0.5]  # inside every constraint of the models (0..1 shares, >0 rates, 0..100 percentages)
    if tp is str:
        return ["hip"]
    raise TypeError(f"no example for {tp!r}")


def _model_examples(model: type[BaseModel]) -> list[dict[str, Any]]:
    options = {name: _options(f.annotation) for name, f in model.model_fields.items()}
    n = max(len(o) for o in options.values())
    return [{name: o[i % len(o)] for name, o in options.items()} for i in range(n)]


def example_payloads(topic: str) -> list[bytes]:
    model = PAYLOAD_MODELS[topic]
    return [model.model_validate(d).model_dump_json().encode() for d in _model_examples(model)]


class Produced:
    """Fields (with their Python types) and tags (with their values) of one measurement over all examples."""

    def __init__(self) -> None:
        self.fields: dict[str, set[type]] = {}
        self.tags: dict[str, set[str]] = {}

    def add(self, metric: Any) -> None:
        for k, v in metric.fields.items():
            self.fields.setdefault(k, set()).add(type(v))
        for k, v in metric.tags.items():
            self.tags.setdefault(k, set()).add(v)


CONSUMERS = tj.load_consumers()


@functools.cache
def produced_metrics() -> dict[str, Produced]:
    """Measurement -> what Telegraf makes of every example payload of the subscribed topics."""
    out: dict[str, Produced] = {}
    topics = Topics(BrokerConfig().topic_prefix, "hip")
    for name in SUBSCRIBED:
        consumers = [c for c in CONSUMERS if c.matches(topics.of(name))]
        assert len(consumers) == 1, f"{len(consumers)} mqtt_consumers subscribe to {topics.of(name)}"
        (consumer,) = consumers
        for payload in example_payloads(name):
            metric = tj.parse(consumer, payload)
            assert metric.time_ns == 500_000_000  # created_unix_s = 0.5 s
            out.setdefault(metric.name, Produced()).add(metric)
    return out


@pytest.fixture(scope="module")
def produced() -> dict[str, Produced]:
    return produced_metrics()


# --- the emulated parser itself ---------------------------------------------------------------------------------


def test_json_parser_mapping_follows_telegrafs_documented_rules() -> None:
    consumer = tj.Consumer(
        measurement="m", topics=("a/+/b",), qos=0, persistent_session=False, client_id=None,
        tag_keys=("sensor_id", "event_side", "event_in_turn"), string_fields=("session_id",),
        time_key="created_unix_s", time_format="unix",
    )  # fmt: skip
    payload = {
        "sensor_id": "hip", "session_id": "s1", "event_id": "e", "created_unix_s": 1700000000.25, "seq": 3,
        "event": {"side": "left", "in_turn": False, "drop_deg": 6.5, "ci": [1.0, 2.0], "none": None, "ok": True},
    }  # fmt: skip
    m = tj.parse(consumer, json.dumps(payload).encode())
    assert m.name == "m"
    assert m.time_ns == 1_700_000_000_250_000_000
    assert m.tags == {"sensor_id": "hip", "event_side": "left", "event_in_turn": "false"}
    # strings/bools not listed are dropped, numbers become floats, arrays get their index, nulls vanish
    assert m.fields == {"session_id": "s1", "seq": 3.0, "event_drop_deg": 6.5, "event_ci_0": 1.0, "event_ci_1": 2.0}
    assert tj.line_protocol(m) == (
        "m,event_in_turn=false,event_side=left,sensor_id=hip event_ci_0=1.0,event_ci_1=2.0,event_drop_deg=6.5,"
        'seq=3.0,session_id="s1" 1700000000250000000'
    )
    assert tj.topic_matches("hipsense/+/step", "hipsense/hip/step")
    assert not tj.topic_matches("hipsense/+/step", "hipsense/hip/steps")
    assert not tj.topic_matches("hipsense/+/step", "hipsense/a/b/step")
    assert tj.topic_matches("hipsense/#", "hipsense/a/b/step")


# --- telegraf.conf ------------------------------------------------------------------------------------------------


def test_telegraf_conf_parses_and_subscribes_to_the_publishers_topics() -> None:
    with (GRAFANA_DIR / "telegraf.conf").open("rb") as f:
        conf = tomllib.load(f)
    assert "influxdb_v2" in conf["outputs"]
    assert conf["outputs"]["influxdb_v2"][0]["bucket"] == "hipsense"
    prefix = BrokerConfig().topic_prefix
    subscribed: set[str] = set()
    for consumer in CONSUMERS:
        (topic_filter,) = consumer.topics
        # exactly the publisher's topic for every sensor id: <prefix>/<sensor_id>/<name>
        pfx, wildcard, name = topic_filter.split("/")
        assert (pfx, wildcard) == (prefix, "+")
        assert name in TOPIC_NAMES
        assert name in PAYLOAD_MODELS
        for sensor_id in ("hip", "left-hip", "AA:BB:CC:DD:EE:01"):
            assert consumer.matches(Topics(prefix, sensor_id).of(name))
            assert not consumer.matches(Topics(prefix, sensor_id).status)
        if name in RELIABLE_TOPICS:
            # QoS 1 events wait in the broker for a persistent session while Telegraf is down
            assert (consumer.qos, consumer.persistent_session) == (1, True)
            assert consumer.client_id
        assert consumer.time_key == "created_unix_s"
        assert "created_unix_s" in PAYLOAD_MODELS[name].model_fields
        subscribed.add(name)
    assert subscribed == SUBSCRIBED
    assert len({c.client_id for c in CONSUMERS}) == len(CONSUMERS)
    assert len({c.measurement for c in CONSUMERS}) == len(CONSUMERS)


def test_tag_keys_are_low_cardinality_strings_of_the_payloads(produced: dict[str, Produced]) -> None:
    for consumer in CONSUMERS:
        metrics = produced[consumer.measurement]
        for key in consumer.tag_keys:
            assert key in metrics.tags, (consumer.measurement, key)
        # ids that grow without bound stay fields (or are dropped), never tags
        assert not {"session_id", "event_id", "seq"} & set(metrics.tags)


def test_step_metrics_carry_drop_cadence_side(produced: dict[str, Produced]) -> None:
    step = produced["hipsense_step"]
    assert step.fields["event_pelvic_drop_deg"] == {float}
    assert step.fields["event_cadence_spm"] == {float}
    assert step.tags["event_side"] == {"left", "right"}
    assert step.tags["event_in_turn"] == {"true", "false"}
    assert step.tags["event_activity"] == {"walking", "running"}
    session = produced["hipsense_session"]
    assert {
        "sets",
        "reps",
        "steps",
        "summary_asymmetry_index_pct",
        "summary_fatigue_slope_ci95_deg_per_10min_0",
    } <= set(session.fields)
    assert produced["hipsense_set"].tags["event_type"] == {"set", "hold"}


# --- the dashboard ------------------------------------------------------------------------------------------------

SELECT_RE = re.compile(
    r'^SELECT (?P<select>.+?) FROM "(?P<m>[a-z_]+)" WHERE (?P<where>.+?)'
    r"(?: GROUP BY (?P<group>.+?))?(?: fill\((?P<fill>none|null|0|previous|linear)\))?$"
)
ITEM_RE = re.compile(r'^(?:(?P<fn>median|mean|count|sum|min|max|last)\()?"(?P<f>[a-z0-9_]+)"\)?(?: AS "[^"]+")?$')
WHERE_RES = (
    re.compile(r"^\$timeFilter$"),
    re.compile(r'^"(?P<tag>[a-z_]+)" =~ /\^\$sensor\$/$'),
    re.compile(r"^\"(?P<tag>[a-z_]+)\" = '(?P<value>[^']*)'$"),
    re.compile(r'^"(?P<field>[a-z0-9_]+)" > (?P<num>-?[0-9.]+)$'),
)
WEEK = "time(1w, 4d)"


def _queries(dashboard: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [(p, t) for p in dashboard["panels"] for t in p["targets"]]


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text(encoding="utf-8"))


def test_dashboard_has_the_trend_panels(dashboard: dict[str, Any]) -> None:
    titles = " | ".join(p["title"].lower() for p in dashboard["panels"])
    for words in ("median pelvic drop per stance side", "asymmetry", "cadence", "reps per week per exercise",
                  "sets per week per exercise", "sessions per week"):  # fmt: skip
        assert words in titles
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    assert dashboard["uid"] == "hipsense-trends"


def check_queries(dashboard: dict[str, Any], produced: dict[str, Produced]) -> int:
    """Assert that every query of ``dashboard`` names only what ``produced`` holds; returns the queries checked."""
    checked = 0
    for panel, target in _queries(dashboard):
        assert target["rawQuery"] is True
        q = target["query"]
        m = SELECT_RE.match(q)
        assert m, q
        assert m["m"] in produced, (panel["title"], m["m"])
        made = produced[m["m"]]
        for item in m["select"].split(", "):
            sel = ITEM_RE.match(item)
            assert sel, item
            assert sel["f"] in made.fields, (panel["title"], sel["f"])
            if sel["fn"] not in (None, "count"):
                assert made.fields[sel["f"]] == {float}, sel["f"]
        for cond in m["where"].split(" AND "):
            matched = [r.match(cond) for r in WHERE_RES]
            hit = next((x for x in matched if x), None)
            assert hit, cond
            groups = hit.groupdict()
            if "tag" in groups:
                assert groups["tag"] in made.tags, (panel["title"], cond)
            if groups.get("value") is not None:
                assert groups["value"] in made.tags[groups["tag"]], (panel["title"], cond)
            if "field" in groups:
                assert made.fields[groups["field"]] == {float}, cond
        group_tags: list[str] = []
        if m["group"]:
            assert m["group"].startswith(WEEK), q
            group_tags = [g.strip('"') for g in m["group"][len(WEEK) :].split(", ") if g]
            assert set(group_tags) <= set(made.tags), q
        for tag in re.findall(r"\$tag_([a-z_]+)", target.get("alias", "")):
            assert tag in group_tags, (panel["title"], tag)
        checked += 1
    return checked


def test_every_query_names_only_what_telegraf_produces(
    dashboard: dict[str, Any], produced: dict[str, Produced]
) -> None:
    assert check_queries(dashboard, produced) >= 8


def test_weekly_buckets_start_on_monday(dashboard: dict[str, Any]) -> None:
    # InfluxQL time(1w) buckets start at the epoch, a Thursday; the 4 d offset moves them to Monday 00:00 UTC
    assert dt.date(1970, 1, 1).weekday() == 3
    assert (dt.date(1970, 1, 1) + dt.timedelta(days=4)).weekday() == 0
    grouped = [t["query"] for _, t in _queries(dashboard) if "GROUP BY" in t["query"]]
    assert grouped
    assert all(f"GROUP BY {WEEK}" in q for q in grouped)


def test_template_variable_and_datasource_are_provisioned(
    dashboard: dict[str, Any], produced: dict[str, Produced]
) -> None:
    (var,) = dashboard["templating"]["list"]
    m = re.fullmatch(r'SHOW TAG VALUES FROM "([a-z_]+)" WITH KEY = "([a-z_]+)"', var["query"])
    assert m
    assert m[2] in produced[m[1]].tags
    ds = yaml.safe_load(DATASOURCE.read_text(encoding="utf-8"))
    (source,) = ds["datasources"]
    assert source["type"] == "influxdb"
    assert source["jsonData"]["dbName"] == "hipsense"
    uids = {p["datasource"]["uid"] for p in dashboard["panels"]}
    uids |= {t["datasource"]["uid"] for _, t in _queries(dashboard)} | {var["datasource"]["uid"]}
    assert uids == {source["uid"]}
    provider = yaml.safe_load(PROVIDER.read_text(encoding="utf-8"))
    assert provider["providers"][0]["type"] == "file"


def test_sessions_panel_marks_the_two_to_three_per_week_guidance(dashboard: dict[str, Any]) -> None:
    panel = next(p for p in dashboard["panels"] if "sessions per week" in p["title"].lower())
    steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert [s["value"] for s in steps][:2] == [None, 2]
    (target,) = panel["targets"]
    assert "\"phase\" = 'end'" in target["query"]
    assert '"sets" > 0' in target["query"]


def test_compose_example_wires_the_files_and_variables_together() -> None:
    compose = yaml.safe_load((GRAFANA_DIR / "docker-compose.yml").read_text(encoding="utf-8"))
    services = compose["services"]
    for service in services.values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (GRAFANA_DIR / source).exists(), volume
    needed = {
        "telegraf": set(re.findall(r"\$\{([A-Z_]+)\}", (GRAFANA_DIR / "telegraf.conf").read_text(encoding="utf-8"))),
        "grafana": set(re.findall(r"\$\{([A-Z_]+)\}", DATASOURCE.read_text(encoding="utf-8"))),
    }
    for name, variables in needed.items():
        assert variables
        assert variables <= set(services[name]["environment"]), name
    provider = yaml.safe_load(PROVIDER.read_text(encoding="utf-8"))
    mounted = [v.split(":")[1] for v in services["grafana"]["volumes"] if v.startswith("./hipsense-trends.json")]
    assert [str(Path(m).parent) for m in mounted] == [provider["providers"][0]["options"]["path"]]


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _session_events() -> tuple[list[Event], RollingSummary]:
    """A short realistic session: a walk into a run (one step in a turn), then a set, a single-leg set and a hold."""
    events: list[Event] = []
    for k in range(24):
        side: Side = "left" if k % 2 == 0 else "right"
        events.append(StepEvent(t_s=0.36 * k, side=side, t_toe_off_s=0.36 * k + 0.22, neutral="standing",
                                pelvic_drop_deg=6.0 + 0.5 * (k % 2), cadence_spm=168.0, in_turn=k == 13,
                                activity="walking" if k < 4 else "running", confidence=0.9))  # fmt: skip
    t = 20.0
    for exercise, set_side in (("glute_bridge", None), ("single_leg_bridge", "left")):
        t0 = t
        for i in range(3):
            events.append(RepEvent(t_start_s=t, t_end_s=t + 2.4, exercise=exercise, side=set_side, index_in_set=i + 1,
                                   duration_s=2.4, quality=0.8, confidence=0.9))  # fmt: skip
            t += 2.4
        events.append(SetEvent(t_start_s=t0, t_end_s=t, exercise=exercise, exercise_confidence=0.9, reps=3,
                               side=set_side, mean_rep_s=2.4, tempo_cv=0.05))  # fmt: skip
        t += 30.0
    events.append(HoldEvent(t_start_s=t, t_end_s=t + 20.0, exercise="static_lunge", duration_s=20.0))
    summary = RollingSummary(t_s=t + 20.0, activity="running", steps=24, median_drop_left_deg=6.0,
                             median_drop_right_deg=6.5, asymmetry_index_pct=8.0, cadence_spm=168.0,
                             fatigue_slope_deg_per_10min=0.4)  # fmt: skip
    return events, summary


@pytest.mark.mosquitto
async def test_real_sink_messages_reach_the_consumers_and_feed_every_query(
    tmp_path: Path, dashboard: dict[str, Any]
) -> None:
    """HipSense's real MQTT sink publishes a session to Mosquitto; what telegraf.conf's topic filters receive,
    parsed as Telegraf would, holds every measurement, field, tag and tag value the dashboard queries."""
    if not _port_open(1883):
        pytest.skip("Mosquitto is not running on 127.0.0.1:1883 (bash .ci/services starts it)")
    sensor_id = f"grafana-{uuid.uuid4().hex[:8]}"  # the filters are hipsense/+/...: keep only this test's sensor
    events, summary = _session_events()
    metrics: dict[str, Produced] = {}
    phases: list[str] = []
    counts: dict[str, int] = {}
    want = {"hipsense_step": 24, "hipsense_rep": 6, "hipsense_set": 3, "hipsense_session": 2}
    async with aiomqtt.Client("127.0.0.1", 1883) as sub:
        for consumer in CONSUMERS:
            for topic_filter in consumer.topics:
                await sub.subscribe(topic_filter, qos=consumer.qos)
        store = Store(tmp_path / "sessions.db")
        try:
            cfg = BrokerConfig(url="mqtt://127.0.0.1:1883", ha_discovery="off")
            async with mqtt_sink(cfg, sensor_id=sensor_id, session_id="grafana-1", outbox=store) as sink:
                await sink.publisher.wait_connected(10)
                await sink.start_session()
                await sink.on_events(sensor_id, events)
                await sink.end_session(summary)
                assert await sink.publisher.wait_flushed(15)
        finally:
            store.close()
        async with asyncio.timeout(15):
            async for msg in sub.messages:
                topic = str(msg.topic)
                if topic.split("/")[1] != sensor_id:
                    continue
                (consumer,) = [c for c in CONSUMERS if c.matches(topic)]
                assert isinstance(msg.payload, bytes)
                metric = tj.parse(consumer, msg.payload)
                assert metric.tags["sensor_id"] == sensor_id
                metrics.setdefault(metric.name, Produced()).add(metric)
                if metric.name == "hipsense_session":
                    phases.append(metric.tags["phase"])
                counts[metric.name] = counts.get(metric.name, 0) + 1
                if counts == want:
                    break
    assert counts == want
    assert phases == ["start", "end"]
    assert set(metrics) == {c.measurement for c in CONSUMERS}
    assert check_queries(dashboard, metrics) >= 8
