"""Short versions of bench/bench_load.py and bench/bench_soak.py: the ``hipsense run`` gateway with several sensors,
link drops and a broker restart loses no sample and no QoS 1 message (the benches carry the long runs)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
from collections import Counter
from pathlib import Path

import aiomqtt
import numpy as np
import pytest

from firmware_proto.virtual_sensor import VirtualSensorConfig, VirtualWorld, sensor_address
from sensor.ble.link import BleBackend
from sensor.config import BrokerConfig, SensorEntry
from sensor.events import StepEvent
from sensor.gateway import GatewayOptions, GatewayResult, run_gateway
from sensor.publish.embedded_broker import EmbeddedBroker
from sensor.sessions.replay import session_decoder_factory
from sensor.sessions.store import Store
from tests.publish.brokers import MOSQUITTO, PrivateMosquitto

RATE_HZ = 208.0
QOS1 = ("rep", "set", "alert", "bout", "session")


class _Counting:
    """A subscriber counting QoS 1 messages by event id and steps per sensor; reconnects (persistent session)."""

    def __init__(self, port: int, prefix: str) -> None:
        self.port, self.prefix = port, prefix
        self.ids: Counter[str] = Counter()
        self.steps: Counter[str] = Counter()
        self.subscribed = asyncio.Event()

    def _on(self, msg: aiomqtt.Message) -> None:
        *_, sensor_id, kind = str(msg.topic).split("/")
        if not isinstance(msg.payload, bytes) or not msg.payload.startswith(b"{"):
            return
        if kind == "step":
            self.steps[sensor_id] += 1
        elif kind in QOS1:
            self.ids[json.loads(msg.payload)["event_id"]] += 1

    async def run(self) -> None:
        while True:
            client = aiomqtt.Client(
                "127.0.0.1", self.port, identifier=f"{self.prefix}-sub", clean_session=False,
                protocol=aiomqtt.ProtocolVersion.V311,
            )  # fmt: skip
            try:
                async with client:
                    await client.subscribe(f"{self.prefix}/#", qos=1)
                    self.subscribed.set()
                    async for msg in client.messages:
                        self._on(msg)
            except aiomqtt.MqttError:
                await asyncio.sleep(0.2)
            finally:
                while not client._queue.empty():  # acknowledged already: the broker will not send them again
                    self._on(client._queue.get_nowait())

    async def wait_for(self, ids: set[str], steps: Counter[str], timeout_s: float = 20.0) -> None:
        async with asyncio.timeout(timeout_s):
            while not (ids <= set(self.ids) and all(self.steps[s] >= n for s, n in steps.items())):  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # duplicates, if any, would arrive now


async def _run(world: VirtualWorld, tmp_path: Path, url: str, prefix: str, aliases: list[str]) -> GatewayResult:
    stop = asyncio.Event()

    async def stopper() -> None:
        while not all(s.finished for s in world.sensors):  # noqa: ASYNC110 (polling the sensors' state)
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)
        stop.set()

    opts = GatewayOptions(
        sensors=[SensorEntry(alias=a, address=s.config.address) for a, s in zip(aliases, world.sensors, strict=True)],
        backend_for=lambda _e: BleBackend(world.central),
        clock=world.clock,
        store_path=tmp_path / "sessions.db",
        broker=BrokerConfig(topic_prefix=prefix, ha_discovery="off"),
        broker_url=url,
        web=False,
        announce=lambda _t: None,
        stop=stop,
        keep_events=True,
    )
    async with asyncio.TaskGroup() as tg:
        tg.create_task(stopper(), name="stopper")
        return await run_gateway(opts)


def _check_recorded(db: Path, session_id: str, world: VirtualWorld, aliases: list[str], first: list[int]) -> None:
    """Decode the store as a replay does: every sample each sensor generated after its stream started, once."""
    with Store(db) as store:
        make = session_decoder_factory(store, session_id)
        decoders = {a: make(a) for a in aliases}
        indices: dict[str, list[np.ndarray]] = {a: [] for a in aliases}
        for _row, _seq, frame in store.iter_frames(session_id):
            block = decoders[frame.sensor_id].decode(frame)
            if block is not None and len(block):
                assert block.n_missing == 0
                indices[frame.sensor_id].append(np.asarray(block.sample_index))
    for alias, sensor, start in zip(aliases, world.sensors, first, strict=True):
        idx = np.concatenate(indices[alias])
        assert idx.tolist() == list(range(start, sensor.head_index)), alias


def _outbox(db: Path, session_id: str) -> dict[str, str]:
    """event_id -> sensor id of every QoS 1 message queued; none left undelivered."""
    with contextlib.closing(sqlite3.connect(db)) as c:
        rows = c.execute(
            "SELECT event_id, topic, delivered_s FROM outbox WHERE session_uid=?", (session_id,)
        ).fetchall()
    assert all(r[2] is not None for r in rows)
    return {str(r[0]): str(r[1]).split("/")[-2] for r in rows}


def _watch_starts(world: VirtualWorld) -> list[int]:
    """The ring head when each sensor's stream starts (its first sample to deliver), filled in as they start."""
    first = [-1] * len(world.sensors)
    for i, s in enumerate(world.sensors):
        core, handle = s.core, s.core.handle_command

        def wrapped(data: bytes, ticks: int, i: int = i, core: object = core, handle: object = handle) -> object:
            out = handle(data, ticks)  # type: ignore[operator]
            if core.streaming and first[i] < 0:  # type: ignore[attr-defined]
                first[i] = int(core.cursor)  # type: ignore[attr-defined]
            return out

        core.handle_command = wrapped
    return first


@pytest.mark.slow
async def test_four_sensors_through_the_gateway_lose_nothing(tmp_path: Path) -> None:
    prefix = "hs-load-test"
    aliases = [f"runner{i}" for i in range(1, 5)]
    configs = [
        VirtualSensorConfig(address=sensor_address(i), sampling_rate_hz=RATE_HZ, duration_s=20.0, seed=i,
                            buffer_samples=1 << 16)
        for i in range(1, 5)
    ]  # fmt: skip
    async with EmbeddedBroker(tcp_ports=(0,), ws_ports=()) as broker, VirtualWorld(configs, speed=10.0) as world:
        first = _watch_starts(world)
        sub = _Counting(broker.tcp_port, prefix)
        async with asyncio.TaskGroup() as tg:
            listener = tg.create_task(sub.run(), name="subscriber")
            await sub.subscribed.wait()
            result = await _run(world, tmp_path, broker.tcp_url, prefix, aliases)
            assert result.session_id is not None
            queued = _outbox(tmp_path / "sessions.db", result.session_id)
            steps = Counter(sid for sid, e in result.events if isinstance(e, StepEvent))
            await sub.wait_for(set(queued), steps)
            listener.cancel()
    _check_recorded(tmp_path / "sessions.db", result.session_id, world, aliases, first)
    # every sensor's QoS 1 messages (its session start and end at least) went out once, none twice
    assert set(Counter(queued.values())) == set(aliases)
    assert all(Counter(queued.values())[a] >= 2 for a in aliases)
    assert {i: sub.ids[i] for i in queued} == dict.fromkeys(queued, 1)
    assert set(sub.ids) == set(queued)
    assert {a: sub.steps[a] for a in aliases} == {a: steps[a] for a in aliases}  # QoS 0, but nothing dropped


@pytest.mark.slow
@pytest.mark.skipif(MOSQUITTO is None, reason="mosquitto is not installed")
async def test_link_drops_and_a_broker_restart_lose_nothing(tmp_path: Path) -> None:
    prefix = "hs-soak-test"
    broker = PrivateMosquitto(tmp_path / "broker", persistence=True)
    broker.workdir.mkdir()
    await asyncio.to_thread(broker.start)
    config = VirtualSensorConfig(
        address=sensor_address(1), sampling_rate_hz=RATE_HZ, duration_s=60.0, link_drop_period_s=15.0,
        link_drop_duration_s=2.0, clock_drift_ppm=100.0, buffer_samples=1 << 16,
    )  # fmt: skip
    try:
        async with VirtualWorld([config], speed=10.0) as world:
            first = _watch_starts(world)
            sub = _Counting(broker.port, prefix)

            async def restart_broker() -> None:
                while first[0] < 0:  # noqa: ASYNC110 (polling the sensor's state)
                    await asyncio.sleep(0.05)
                await world.clock.sleep(25.0)
                await asyncio.to_thread(broker.stop)
                await asyncio.sleep(0.5)
                await asyncio.to_thread(broker.start)

            async with asyncio.TaskGroup() as tg:
                listener = tg.create_task(sub.run(), name="subscriber")
                await sub.subscribed.wait()
                restarter = tg.create_task(restart_broker(), name="broker-restart")
                result = await _run(world, tmp_path, broker.url, prefix, ["hip"])
                assert restarter.done()
                assert result.session_id is not None
                queued = _outbox(tmp_path / "sessions.db", result.session_id)
                await sub.wait_for(set(queued), Counter())
                listener.cancel()
            assert world.sensors[0].stats.link_drops >= 3
            assert result.links[0].stats.backlog_requests >= 3
    finally:
        await asyncio.to_thread(broker.stop)
    _check_recorded(tmp_path / "sessions.db", result.session_id, world, ["hip"], first)
    assert set(sub.ids) == set(queued)  # every QoS 1 message, by its id
    # QoS 1 is at least once: a message whose PUBACK the restart cut off is sent again (docs/mqtt.md); nothing else
    assert sum(sub.ids.values()) - len(queued) <= result.publishers["hip"].connects * 64
