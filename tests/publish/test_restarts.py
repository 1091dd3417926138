"""Outages: a broker restart mid-session and a gateway killed with SIGKILL (kill -9) lose no QoS 1 event; the
last will marks a killed gateway offline. Real processes: the gateway is a subprocess, the broker a private
Mosquitto with persistence (the system Mosquitto on 1883 is never stopped)."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import aiomqtt
import pytest

from sensor.config import BrokerConfig
from sensor.events import RepEvent
from sensor.publish.embedded_broker import EmbeddedBroker
from sensor.publish.mqtt_client import BrokerSettings, MqttPublisher
from sensor.publish.mqtt_sink import MqttSink, mqtt_sink
from sensor.publish.payloads import Topics, event_id
from sensor.sessions.store import Store

from .brokers import Collector, PrivateMosquitto, collecting
from .conftest import outbox_counts

REPO = Path(__file__).resolve().parents[2]


def _rep(seq: int) -> RepEvent:
    return RepEvent(t_start_s=2.0 * seq, t_end_s=2.0 * seq + 1.8, exercise="hip_thrust", index_in_set=seq,
                    duration_s=1.8, confidence=0.9)  # fmt: skip


def _first_occurrences(c: Collector, suffix: str) -> tuple[list[int], int]:
    """Sequence numbers in order of first arrival (what a consumer de-duplicating on event_id sees), and how many
    raw duplicates arrived."""
    seen: set[str] = set()
    seqs: list[int] = []
    for m in c.on(suffix):
        doc = m.json()
        if doc["event_id"] not in seen:
            seen.add(doc["event_id"])
            seqs.append(doc["seq"])
    return seqs, len(c.on(suffix)) - len(seqs)


async def test_broker_restart_mid_session_loses_nothing(
    private_mosquitto: Callable[..., PrivateMosquitto], store: Store
) -> None:
    broker = private_mosquitto(persistence=True)
    n = 150
    cfg = BrokerConfig(url=broker.url, topic_prefix="hsr", ha_discovery="off")
    async with collecting("127.0.0.1", broker.port, "hsr/hs1/rep", persistent_id="hsr-consumer") as sub:
        async with mqtt_sink(cfg, sensor_id="hs1", session_id="run", outbox=store, backoff_max_s=0.5) as sink:
            await sink.publisher.wait_connected(10)
            for seq in range(1, n + 1):
                await sink.on_events("hs1", [_rep(seq)])
                if seq == 50:
                    await asyncio.to_thread(broker.stop)
                if seq == 100:
                    assert not sink.publisher.connected
                    assert outbox_counts(store)[0] - outbox_counts(store)[1] >= 50  # waiting in the outbox
                    await asyncio.to_thread(broker.start)
                await asyncio.sleep(0.005)
            assert await sink.publisher.wait_flushed(30)
            assert sink.publisher.stats.connects >= 2
        await sub.wait_for(lambda c: len(_first_occurrences(c, "rep")[0]) == n, 30)
    seqs, duplicates = _first_occurrences(sub, "rep")
    assert seqs == list(range(1, n + 1))  # nothing lost, in order
    assert duplicates <= 64  # at most one flush window re-sent when a PUBACK was lost with the broker
    assert outbox_counts(store) == (n, n)


async def _spawn(*args: str) -> asyncio.subprocess.Process:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.publish._gateway_proc", *args, cwd=REPO, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip


async def _read_until(proc: asyncio.subprocess.Process, line: str, timeout_s: float = 30.0) -> None:
    assert proc.stdout is not None

    async def loop() -> None:
        while True:
            raw = await proc.stdout.readline()  # type: ignore[union-attr]
            if not raw:
                raise AssertionError(f"gateway exited before printing {line!r}")
            if raw.decode().strip() == line:
                return

    await asyncio.wait_for(loop(), timeout_s)


async def _kill9(proc: asyncio.subprocess.Process) -> None:
    proc.kill()  # SIGKILL: no goodbye, no flush, no clean DISCONNECT
    await proc.wait()


@pytest.mark.mosquitto
async def test_last_will_marks_a_killed_gateway_offline(mosquitto_url: str, prefix: str, tmp_path: Path) -> None:
    status = f"{prefix}/hs1/status"
    async with collecting("127.0.0.1", 1883, status) as sub:
        proc = await _spawn(mosquitto_url, prefix, str(tmp_path / "s.db"), "lwt", "1", "2")
        try:
            await _read_until(proc, "done")
            await sub.wait_for(lambda c: [m.payload for m in c.messages] == [b"online"])
        finally:
            await _kill9(proc)
        await sub.wait_for(lambda c: [m.payload for m in c.messages] == [b"online", b"offline"])
    async with collecting("127.0.0.1", 1883, status) as late:
        await late.wait_for(lambda c: len(c.messages) == 1)
        assert late.messages[0].retain
        assert late.messages[0].payload == b"offline"
    async with aiomqtt.Client("127.0.0.1", 1883) as c:  # leave no retained message on the shared broker
        await c.publish(status, b"", qos=1, retain=True)


async def test_gateway_kill_9_and_restart_flushes_pending_in_order_once(
    private_mosquitto: Callable[..., PrivateMosquitto], tmp_path: Path
) -> None:
    broker = private_mosquitto(persistence=True)
    db = str(tmp_path / "gateway.db")
    async with collecting("127.0.0.1", broker.port, "hsk/hs1/rep", persistent_id="hsk-consumer") as sub:
        gw = await _spawn(broker.url, "hsk", db, "sess-k", "1", "60")
        try:
            await _read_until(gw, "enqueued 20")
            await sub.wait_for(lambda c: len(c.messages) >= 10)  # the first ones were delivered live
            await asyncio.to_thread(broker.stop)  # outage: the rest pile up in the outbox
            await _read_until(gw, "done")
        finally:
            await _kill9(gw)
        with Store(db) as s:
            pending = [int(r.payload.split('"seq":')[1].split(",")[0]) for r in s.pending_outbox(1000)]
        assert len(pending) >= 30
        assert pending == sorted(pending)
        assert pending[-1] == 60
        await asyncio.to_thread(broker.start)
        # the restarted gateway resumes the session after its last sequence number and flushes the backlog first
        gw2 = await _spawn(broker.url, "hsk", db, "sess-k", "61", "5")
        try:
            await _read_until(gw2, "done")
            await sub.wait_for(lambda c: len(_first_occurrences(c, "rep")[0]) == 65, 30)
            await asyncio.wait_for(_until_all_delivered(db), 30)  # PUBACKs reach the gateway after the consumer
        finally:
            await _kill9(gw2)
    seqs, duplicates = _first_occurrences(sub, "rep")
    assert seqs == list(range(1, 66))  # every event, in order
    ids = [m.json()["event_id"] for m in sub.on("rep")]
    assert set(ids) == {event_id("sess-k", k, "hs1") for k in range(1, 66)}
    assert duplicates <= 64


async def _until_all_delivered(db: str) -> None:
    while True:
        with Store(db) as s:
            if not s.pending_outbox(1):
                return
        await asyncio.sleep(0.05)


@pytest.mark.skipif(
    os.environ.get("HIPSENSE_SOAK") != "1",
    reason="amqtt's in-process restart intermittently hangs its broadcast loop under CPU load (1 in ~6 runs on a "
    "loaded 2-core box; an amqtt issue). test_broker_restart_mid_session_loses_nothing (Mosquitto) covers the "
    "requirement on every run; run this one with HIPSENSE_SOAK=1",
)
async def test_embedded_amqtt_restart_mid_session_loses_nothing(store: Store) -> None:
    """The embedded broker restarted in the gateway's own loop. amqtt keeps no session across a restart, so the
    consumer must be subscribed again before the publisher flushes: the publisher retries on a fixed 3 s period
    and the broker comes back right after a failed attempt, leaving the consumer ~3 s to reconnect."""
    first = EmbeddedBroker(tcp_ports=(0,), websockets=False)
    await first.start()
    port = first.tcp_port
    assert port is not None
    second = EmbeddedBroker(tcp_ports=(port,), websockets=False)
    topics = Topics("hsa", "hs1")
    publisher = MqttPublisher(BrokerSettings.from_url(first.tcp_url), status_topic=topics.status, outbox=store,
                              backoff_min_s=3.0, backoff_max_s=3.0)  # fmt: skip
    n = 90
    try:
        async with collecting("127.0.0.1", port, "hsa/hs1/rep", persistent_id="hsa-consumer") as sub, publisher:
            sink = MqttSink(publisher=publisher, outbox=store, topics=topics, session_id="amqtt-run")
            await publisher.wait_connected(10)
            for seq in range(1, n + 1):
                await sink.on_events("hs1", [_rep(seq)])
                if seq == 30:
                    await first.stop()
                    failures = publisher.stats.connect_failures
                    deadline = time.monotonic() + 10
                    while publisher.stats.connect_failures == failures:  # wait for an attempt to fail just now
                        assert time.monotonic() < deadline
                        await asyncio.sleep(0.01)
                    assert not publisher.connected
                if seq == 60:
                    assert not sub.subscribed.is_set()
                    await second.start()
                    await asyncio.wait_for(sub.subscribed.wait(), 2.5)
                    assert not publisher.connected  # the consumer is back first
            assert await publisher.wait_flushed(30)
            await sub.wait_for(lambda c: len(_first_occurrences(c, "rep")[0]) == n, 30)
            assert publisher.protocol == "3.1.1"
    finally:
        await first.stop()
        await second.stop()
    seqs, duplicates = _first_occurrences(sub, "rep")
    assert seqs == list(range(1, n + 1))
    assert duplicates <= 64
    assert outbox_counts(store) == (n, n)
