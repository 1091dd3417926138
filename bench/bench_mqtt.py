"""MQTT publishing: replay throughput and live latency, Mosquitto and the embedded amqtt in the same run.

* Replay throughput: N rep events already in the session store's outbox (what a replay, or a gateway coming back
  after an outage, has to send) are flushed at QoS 1 by the publisher; messages/s from the first publish to the
  last message received by a subscriber.
* Live latency: rep events created at a live rate go through the whole path (MqttSink -> SQLite outbox, durable
  commit -> QoS 1 publish -> broker -> subscriber); latency = subscriber receipt - ``created_unix_s`` in the
  payload (same host clock). p50, p99 and max.

Brokers: the system Mosquitto on 127.0.0.1:1883 (MQTT 5; skipped when absent), the embedded amqtt over TCP and
websockets (MQTT 3.1.1, trimmed plugins), and amqtt with its default plugin set for comparison.

Usage: python bench/bench_mqtt.py [--n 3000] [--live-n 200] [--live-rate-hz 20]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import socket
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiomqtt
from amqtt.broker import Broker

from sensor.config import BrokerConfig
from sensor.events import RepEvent
from sensor.publish.embedded_broker import EmbeddedBroker
from sensor.publish.mqtt_client import BrokerSettings, MqttPublisher
from sensor.publish.mqtt_sink import mqtt_sink
from sensor.publish.payloads import RepMessage, event_id
from sensor.sessions.store import Store


def _rep(seq: int) -> RepEvent:
    return RepEvent(t_start_s=2.0 * seq, t_end_s=2.0 * seq + 1.8, exercise="squat", index_in_set=1 + seq % 12,
                    duration_s=1.8, eccentric_s=0.9, concentric_s=0.8, confidence=0.9)  # fmt: skip


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


@contextlib.asynccontextmanager
async def _amqtt_default_plugins() -> AsyncIterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    broker = Broker({"listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{port}"}}})
    await broker.start()
    try:
        yield f"mqtt://127.0.0.1:{port}"
    finally:
        await broker.shutdown()


class _Sub:
    def __init__(self, url: str, topic: str, expected: int) -> None:
        self.url, self.topic, self.expected = url, topic, expected
        self.received: dict[str, float] = {}
        self.latencies_s: list[float] = []
        self.ready = asyncio.Event()
        self.done = asyncio.Event()

    async def run(self) -> None:
        s = BrokerSettings.from_url(self.url)
        t = s.target
        async with aiomqtt.Client(t.host, t.port, transport=t.transport, websocket_path=t.ws_path,
                                  max_queued_incoming_messages=0) as c:  # fmt: skip
            await c.subscribe(self.topic, qos=1)
            self.ready.set()
            async for m in c.messages:
                now = time.time()
                assert isinstance(m.payload, bytes)
                doc = json.loads(m.payload)
                if doc["event_id"] not in self.received:
                    self.received[doc["event_id"]] = now
                    self.latencies_s.append(now - doc["created_unix_s"])
                if len(self.received) >= self.expected:
                    self.done.set()
                    return


async def replay_throughput(url: str, n: int, tmp: Path) -> tuple[float, str | None]:
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    topic = f"{prefix}/hs1/rep"
    with Store(tmp / f"{prefix}.db") as store:
        now = time.time()
        with store.transaction():
            for k in range(n):
                msg = RepMessage(sensor_id="hs1", session_id="replay", seq=k, event_id=event_id("replay", k),
                                 created_unix_s=now, event_type="squat", event=_rep(k))  # fmt: skip
                store.enqueue_outbox("replay", topic, msg.model_dump_json(), msg.event_id)
        sub = _Sub(url, topic, n)
        async with asyncio.TaskGroup() as tg:
            tg.create_task(sub.run(), name="bench-subscriber")
            await sub.ready.wait()
            t0 = time.perf_counter()
            async with MqttPublisher(BrokerSettings.from_url(url), status_topic=f"{prefix}/hs1/status",
                                     outbox=store) as pub:  # fmt: skip
                await asyncio.wait_for(sub.done.wait(), 300)
                dt = time.perf_counter() - t0
                protocol = pub.protocol
    return n / dt, protocol


async def live_latency(url: str, n: int, rate_hz: float, tmp: Path) -> list[float]:
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    with Store(tmp / f"{prefix}.db") as store:
        sub = _Sub(url, f"{prefix}/hs1/rep", n)
        cfg = BrokerConfig(url=url, topic_prefix=prefix, ha_discovery="off")
        async with asyncio.TaskGroup() as tg:
            tg.create_task(sub.run(), name="bench-subscriber")
            await sub.ready.wait()
            async with mqtt_sink(cfg, sensor_id="hs1", session_id="live", outbox=store) as sink:
                await sink.publisher.wait_connected(10)
                t0 = time.perf_counter()
                for k in range(n):
                    delay = k / rate_hz - (time.perf_counter() - t0)
                    if delay > 0:
                        await asyncio.sleep(delay)
                    await sink.on_events("hs1", [_rep(k)])
                await asyncio.wait_for(sub.done.wait(), 60)
    return sub.latencies_s


def _pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))]


async def main(args: argparse.Namespace) -> None:
    rows: list[tuple[str, str, float, list[float]]] = []
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)

        async def measure(name: str, url: str) -> None:
            rate, protocol = await replay_throughput(url, args.n, tmp)
            lat = await live_latency(url, args.live_n, args.live_rate_hz, tmp)
            rows.append((name, protocol or "?", rate, lat))

        if _port_open(1883):
            await measure("mosquitto 127.0.0.1:1883", "mqtt://127.0.0.1:1883")
        async with EmbeddedBroker(tcp_ports=(0,), ws_ports=(0,)) as broker:
            await measure("amqtt embedded (tcp)", broker.tcp_url)
            assert broker.ws_url is not None
            await measure("amqtt embedded (websockets)", broker.ws_url)
        async with _amqtt_default_plugins() as url:
            await measure("amqtt default plugins (tcp)", url)

    print(f"\nMQTT publishing, QoS 1 through the SQLite outbox; replay n={args.n}, live n={args.live_n} at "
          f"{args.live_rate_hz:g} events/s")  # fmt: skip
    head = f"{'broker':<30} {'MQTT':>5} {'replay msg/s':>13} {'live p50 ms':>12} {'live p99 ms':>12} {'max ms':>8}"
    print(head)
    print("-" * len(head))
    for name, proto, rate, lat in rows:
        print(f"{name:<30} {proto:>5} {rate:>13,.0f} {1e3 * statistics.median(lat):>12.1f} "
              f"{1e3 * _pct(lat, 0.99):>12.1f} {1e3 * max(lat):>8.1f}")  # fmt: skip


def _args() -> Any:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=3000, help="messages per replay throughput run")
    ap.add_argument("--live-n", type=int, default=200, help="events per live latency run")
    ap.add_argument("--live-rate-hz", type=float, default=20.0, help="live event rate")
    return ap.parse_args()


if __name__ == "__main__":
    asyncio.run(main(_args()))
