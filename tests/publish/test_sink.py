"""The MQTT sink end to end against real brokers: Mosquitto (MQTT 5) and the embedded amqtt (3.1.1, TCP and
websockets)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from urllib.parse import urlsplit

import aiomqtt
import numpy as np
import pytest

from sensor.config import BrokerConfig
from sensor.events import AlertEvent, Event, RepEvent, RollingSummary, SetEvent, StepEvent
from sensor.publish.embedded_broker import EmbeddedBroker
from sensor.publish.mqtt_sink import mqtt_sink
from sensor.publish.payloads import PAYLOAD_MODELS, event_id
from sensor.sessions.store import Store

from .brokers import Collector, collecting
from .conftest import outbox_counts


def workout(n_sets: int = 3, reps_per_set: int = 8) -> list[Event]:
    """A small glute session: sets of squats with an alert in the middle."""
    out: list[Event] = []
    t = 0.0
    for s in range(n_sets):
        t0 = t
        for i in range(reps_per_set):
            out.append(RepEvent(t_start_s=t, t_end_s=t + 2.5, exercise="squat", index_in_set=i + 1, duration_s=2.5,
                                confidence=0.9))  # fmt: skip
            t += 2.5
        out.append(SetEvent(t_start_s=t0, t_end_s=t, exercise="squat", exercise_confidence=0.95, reps=reps_per_set,
                            mean_rep_s=2.5))  # fmt: skip
        if s == 1:
            out.append(AlertEvent(t_s=t, alert="asymmetry_above_limit", message="left side drops more", value=14.0,
                                  threshold=10.0))  # fmt: skip
        t += 60.0
    return out


def running(n_steps: int) -> list[Event]:
    out: list[Event] = []
    for k in range(n_steps):
        out.append(StepEvent(t_s=0.35 * k, side="left" if k % 2 == 0 else "right", pelvic_drop_deg=5.0 + 0.1 * (k % 2),
                             cadence_spm=171.0, confidence=0.8))  # fmt: skip
    out.append(RollingSummary(t_s=0.35 * n_steps, window_s=30.0, activity="running", steps=n_steps,
                              median_drop_left_deg=5.0, median_drop_right_deg=5.1, asymmetry_index_pct=2.0,
                              cadence_spm=171.0))  # fmt: skip
    return out


def _host_port(url: str) -> tuple[str, int]:
    u = urlsplit(url)
    assert u.hostname is not None
    assert u.port is not None
    return u.hostname, u.port


async def _session(url: str, prefix: str, collector: Collector, reliable: Sequence[Event], outbox: Store) -> str | None:
    cfg = BrokerConfig(url=url, topic_prefix=prefix, discovery_prefix=f"{prefix}-ha")
    async with mqtt_sink(cfg, sensor_id="hs1", session_id="sess-1", outbox=outbox) as sink:
        await sink.publisher.wait_connected(10)
        await sink.start_session()
        await sink.on_events("hs1", running(20))
        t = 1000.0 + np.arange(400) / 200.0
        sink.on_tilt(t, 3.0 * np.sin(t), np.full(t.size, 11.0))
        await sink.on_events("other-sensor", workout(1, 1))  # not ours: ignored
        await sink.on_events("hs1", reliable)
        await sink.end_session(RollingSummary(t_s=100.0, activity="exercise", steps=20))
        assert await sink.publisher.wait_flushed(15)
        await collector.wait_for(lambda c: len(c.on("session")) == 2)
        return sink.publisher.protocol


async def _check(collector: Collector, prefix: str, reliable: Sequence[Event], outbox: Store) -> None:
    await collector.wait_for(lambda c: any(m.payload == b"offline" for m in c.on("status")))
    # every topic's payload validates against its published model
    for m in collector.messages:
        name = m.topic.rsplit("/", 1)[1]
        if name in PAYLOAD_MODELS and m.topic.startswith(prefix + "/hs1/"):
            PAYLOAD_MODELS[name].model_validate_json(m.payload)
    kinds = [m.json()["event"]["kind"] for m in collector.messages if m.topic.split("/")[-1] in ("rep", "set", "alert")]
    assert kinds == [e.kind for e in reliable]  # QoS 1 events in order, each once
    seqs = [m.json()["seq"] for m in collector.messages if m.topic.split("/")[-1] in ("rep", "set", "alert", "session")]
    assert seqs == sorted(seqs)
    docs = [m.json() for m in collector.messages if not m.topic.endswith("/status")]
    ids = [d["event_id"] for d in docs if "event_id" in d]
    assert len(ids) == len(set(ids))
    assert collector.on("session")[0].json()["event_id"] == event_id("sess-1", 0, "hs1")
    end = collector.on("session")[1].json()
    assert (end["phase"], end["steps"], end["reps"], end["sets"]) == ("end", 20, 24, 3)
    assert len(collector.on("step")) == 20
    assert [m.payload for m in collector.on("status")] == [b"online", b"offline"]
    state = [m.json() for m in collector.on("state")]
    assert state[-1]["last_set"]["reps"] == 8
    assert any(s["running"] and s["rolling"]["median_drop_right_deg"] == 5.1 for s in state)
    tilt = [m.json() for m in collector.on("tilt")]
    n_bins = sum(len(x["t_s"]) for x in tilt)
    assert n_bins == 20  # 2 s at 200 Hz -> 20 bins of 0.1 s
    assert all(len(x["t_s"]) <= 5 for x in tilt)
    assert all(abs(v - 11.0) < 1e-9 for x in tilt for v in x["anterior_tilt_deg"])
    assert not outbox.pending_outbox(10)
    n = 1 + len(reliable) + 1  # start, events, end
    assert outbox_counts(outbox) == (n, n)


@pytest.mark.mosquitto
async def test_sink_on_mosquitto(mosquitto_url: str, prefix: str, store: Store) -> None:
    reliable = workout()
    async with collecting("127.0.0.1", 1883, f"{prefix}/#") as collector:
        protocol = await _session(mosquitto_url, prefix, collector, reliable, store)
        assert protocol == "5"
        await _check(collector, prefix, reliable, store)


@pytest.mark.parametrize("transport", ["tcp", "websockets"])
async def test_sink_on_embedded_amqtt(amqtt_broker: EmbeddedBroker, transport: str, store: Store) -> None:
    prefix = f"amqtt-{transport}"
    reliable = workout()
    host, port = _host_port(amqtt_broker.tcp_url)
    url = amqtt_broker.tcp_url if transport == "tcp" else amqtt_broker.ws_url
    assert url is not None
    async with collecting(host, port, f"{prefix}/#") as collector:
        protocol = await _session(url, prefix, collector, reliable, store)
        assert protocol == "3.1.1"  # amqtt refuses MQTT 5; the publisher fell back
        await _check(collector, prefix, reliable, store)


@pytest.mark.mosquitto
async def test_retained_status_and_state_for_late_subscribers(mosquitto_url: str, prefix: str, store: Store) -> None:
    cfg = BrokerConfig(url=mosquitto_url, topic_prefix=prefix, ha_discovery="off")
    async with mqtt_sink(cfg, sensor_id="hs1", session_id="s", outbox=store) as sink:
        await sink.publisher.wait_connected(10)
        sink.update_device(battery_pct=81.0, rssi_dbm=-67.0, glute_sessions_this_week=2)
        await asyncio.sleep(0)
        async with collecting("127.0.0.1", 1883, f"{prefix}/#") as late:
            await late.wait_for(lambda c: c.on("status") and c.on("state"))
            assert late.on("status")[0].retain
            assert late.on("status")[0].payload == b"online"
            st = late.on("state")[-1].json()
            assert (st["battery_pct"], st["rssi_dbm"], st["glute_sessions_this_week"]) == (81.0, -67.0, 2)
    async with collecting("127.0.0.1", 1883, f"{prefix}/+/status") as after:
        await after.wait_for(lambda c: c.on("status"))
        assert after.on("status")[-1].payload == b"offline"
    # clean up the retained messages this test left on the shared broker
    async with aiomqtt.Client("127.0.0.1", 1883) as c:
        for t in ("status", "state"):
            await c.publish(f"{prefix}/hs1/{t}", b"", qos=1, retain=True)


@pytest.mark.mosquitto
async def test_mqtt5_properties(mosquitto_url: str, prefix: str, store: Store) -> None:
    """On MQTT 5 payloads say they are JSON, and live data carries an expiry (stale steps are not delivered)."""
    got: dict[str, aiomqtt.Message] = {}
    async with aiomqtt.Client("127.0.0.1", 1883, protocol=aiomqtt.ProtocolVersion.V5) as sub:
        await sub.subscribe(f"{prefix}/#", qos=1)
        cfg = BrokerConfig(url=mosquitto_url, topic_prefix=prefix, ha_discovery="off")
        async with mqtt_sink(cfg, sensor_id="hs1", session_id="p5", outbox=store) as sink:
            await sink.publisher.wait_connected(10)
            await sink.on_events("hs1", running(1)[:1] + workout(1, 1)[:1])

            async def receive() -> None:
                async for m in sub.messages:
                    got[str(m.topic).rsplit("/", 1)[1]] = m
                    if {"rep", "step"} <= got.keys():
                        return

            await asyncio.wait_for(receive(), 10)
    rep_props, step_props = got["rep"].properties, got["step"].properties
    assert rep_props is not None
    assert step_props is not None
    assert rep_props.ContentType == "application/json"
    assert not hasattr(rep_props, "MessageExpiryInterval")
    assert step_props.ContentType == "application/json"
    assert 0 < step_props.MessageExpiryInterval <= 10


@pytest.mark.mosquitto
async def test_events_left_by_a_sensor_no_longer_in_use_are_delivered(
    mosquitto_url: str, prefix: str, store: Store
) -> None:
    """A sensor renamed or forgotten with QoS 1 events still in the outbox: the next gateway's first sink sends
    them to their original topics; the other active sensor's rows stay with its own publisher."""
    for i in range(3):
        store.enqueue_outbox("old-session", f"{prefix}/retired/rep", f'{{"seq": {i}}}', f"retired-{i}")
    store.enqueue_outbox("s2", f"{prefix}/hs2/rep", '{"seq": 0}', "hs2-0")
    cfg = BrokerConfig(url=mosquitto_url, topic_prefix=prefix, ha_discovery="off")
    async with collecting("127.0.0.1", 1883, f"{prefix}/#") as collector:
        async with mqtt_sink(
            cfg, sensor_id="hs1", session_id="s", outbox=store, adopt_leftovers_except=["hs2"]
        ) as sink:
            await sink.publisher.wait_connected(10)
            assert await sink.publisher.wait_flushed(15)
        await collector.wait_for(lambda c: len([m for m in c.messages if m.topic.endswith("/rep")]) == 3)
        reps = [m for m in collector.messages if m.topic.endswith("/rep")]
        assert [(m.topic, m.json()["seq"]) for m in reps] == [(f"{prefix}/retired/rep", i) for i in range(3)]
    assert [r.event_id for r in store.pending_outbox(10)] == ["hs2-0"]  # hs2's own publisher sends it
