"""What Telegraf's ``mqtt_consumer`` + ``json`` parser make of a HipSense MQTT message, as described by telegraf.conf.

This is a re-statement of Telegraf's documented JSON parser (plugins/parsers/json, ``data_format = "json"``) for
the options telegraf.conf uses, so the dashboard's queries can be checked against the real payload models
(tests/dashboards/test_grafana.py) and so the end-to-end check (e2e_influxdb.py) can stand in for Telegraf, which
has no Debian or PyPI package:

* nested objects are flattened, keys joined with ``_``; array items get their index (``x_0``, ``x_1``);
* numbers become float fields; ``null`` is dropped;
* flattened keys matching ``tag_keys`` (globs) become tags (numbers and booleans formatted as text);
* other strings and booleans are dropped unless they match ``json_string_fields`` (globs);
* ``json_time_key`` is removed from the fields and gives the metric time (``json_time_format = "unix"``: seconds,
  fractional allowed);
* the measurement is ``name_override``; ``topic_tag = ""`` adds no topic tag.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

TELEGRAF_CONF = Path(__file__).resolve().parent / "telegraf.conf"

FieldValue = float | str | bool


@dataclass(frozen=True)
class Consumer:
    """One ``[[inputs.mqtt_consumer]]`` of telegraf.conf (the options this module implements)."""

    measurement: str
    topics: tuple[str, ...]
    qos: int
    persistent_session: bool
    client_id: str | None
    tag_keys: tuple[str, ...]
    string_fields: tuple[str, ...]
    time_key: str | None
    time_format: str | None

    @classmethod
    def from_toml(cls, table: dict[str, Any]) -> Consumer:
        if table.get("data_format") != "json":
            raise ValueError(f"mqtt_consumer {table.get('alias')!r}: data_format must be 'json'")
        if table.get("topic_tag", "topic") != "":
            raise ValueError(f"mqtt_consumer {table.get('alias')!r}: set topic_tag = '' (sensor_id is a tag already)")
        return cls(
            measurement=table["name_override"],
            topics=tuple(table["topics"]),
            qos=int(table.get("qos", 0)),
            persistent_session=bool(table.get("persistent_session", False)),
            client_id=table.get("client_id"),
            tag_keys=tuple(table.get("tag_keys", ())),
            string_fields=tuple(table.get("json_string_fields", ())),
            time_key=table.get("json_time_key"),
            time_format=table.get("json_time_format"),
        )

    def matches(self, topic: str) -> bool:
        return any(topic_matches(f, topic) for f in self.topics)


@dataclass
class Metric:
    name: str
    tags: dict[str, str] = field(default_factory=dict)
    fields: dict[str, FieldValue] = field(default_factory=dict)
    time_ns: int | None = None


def load_consumers(path: Path = TELEGRAF_CONF) -> list[Consumer]:
    with path.open("rb") as f:
        conf = tomllib.load(f)
    return [Consumer.from_toml(t) for t in conf["inputs"]["mqtt_consumer"]]


def topic_matches(topic_filter: str, topic: str) -> bool:
    """MQTT topic filter matching (``+`` one level, ``#`` the rest)."""
    f_parts, t_parts = topic_filter.split("/"), topic.split("/")
    for i, part in enumerate(f_parts):
        if part == "#":
            return True
        if i >= len(t_parts) or (part not in ("+", t_parts[i])):
            return False
    return len(f_parts) == len(t_parts)


def flatten(value: Any, prefix: str = "") -> dict[str, FieldValue]:
    """Telegraf's ``JSONFlattener.FullFlattenJSON`` with strings and booleans kept (filtered afterwards)."""
    out: dict[str, FieldValue] = {}
    if isinstance(value, dict):
        for k, v in value.items():
            out.update(flatten(v, f"{prefix}_{k}" if prefix else k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out.update(flatten(v, f"{prefix}_{i}" if prefix else str(i)))
    elif isinstance(value, bool):
        out[prefix] = value
    elif isinstance(value, int | float):
        out[prefix] = float(value)
    elif isinstance(value, str):
        out[prefix] = value
    elif value is not None:
        raise TypeError(f"unexpected JSON value {value!r} at {prefix!r}")
    return out


def _as_tag(value: FieldValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(int(value)) if value.is_integer() else repr(value)
    return value


def parse(consumer: Consumer, payload: bytes) -> Metric:
    """The metric Telegraf builds from one message received by ``consumer``."""
    fields = flatten(json.loads(payload))
    metric = Metric(consumer.measurement)
    if consumer.time_key is not None:
        if consumer.time_format != "unix":
            raise ValueError("only json_time_format = 'unix' is implemented")
        t = fields.pop(consumer.time_key)
        assert isinstance(t, float)
        # Telegraf formats the float back to its shortest decimal text and reads seconds and fraction from that
        metric.time_ns = int(Decimal(repr(t)) * 1_000_000_000)
    for key in list(fields):
        if any(fnmatchcase(key, pattern) for pattern in consumer.tag_keys):
            metric.tags[key] = _as_tag(fields.pop(key))
    for key, value in list(fields.items()):
        if isinstance(value, str | bool) and not any(fnmatchcase(key, p) for p in consumer.string_fields):
            del fields[key]
    metric.fields = fields
    return metric


def _escape(text: str, chars: str) -> str:
    for c in "\\" + chars:
        text = text.replace(c, "\\" + c)
    return text


def line_protocol(metric: Metric) -> str:
    """InfluxDB line protocol of ``metric`` (what Telegraf's InfluxDB outputs send)."""
    head = _escape(metric.name, ", ")
    for k in sorted(metric.tags):
        head += f",{_escape(k, ',= ')}={_escape(metric.tags[k], ',= ')}"
    parts = []
    for k, v in sorted(metric.fields.items()):
        if isinstance(v, bool):
            text = "true" if v else "false"
        elif isinstance(v, float):
            text = repr(v)
        else:
            text = '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        parts.append(f"{_escape(k, ',= ')}={text}")
    line = f"{head} {','.join(parts)}"
    return line if metric.time_ns is None else f"{line} {metric.time_ns}"
