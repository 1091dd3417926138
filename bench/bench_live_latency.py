"""Live latency from a BLE notification to the MQTT subscriber, through the whole gateway, real time.

    python bench/bench_live_latency.py [--seconds 45]

A virtual sensor (Bumble, in-process) streams simulated running at 208 Hz in real time (speed 1); the gateway
(Bleak on Bumble -> decode -> pipeline -> MQTT sink) publishes to Mosquitto on 127.0.0.1:1883 and to the embedded
amqtt broker, one after the other in the same process. A subscriber stamps every message on arrival.

* tilt: arrival time minus the host receive time of the newest sample in the message (the live stream's
  notification-to-subscriber latency, including the 10 Hz decimation and 0.5 s batching);
* step: arrival time minus the step's toe-off (the step needs the next steps to be seen: algorithmic delay), and
  the compute part alone is in bench_running_speed.py.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path

import aiomqtt
import numpy as np

from firmware_proto.virtual_sensor import SampleSource, VirtualSensorConfig, VirtualWorld, sensor_address
from sensor.ble.link import BleBackend
from sensor.config import BrokerConfig, SensorEntry
from sensor.gateway import GatewayOptions, run_gateway
from sensor.publish.embedded_broker import EmbeddedBroker
from sensor.sim import Running, Scenario, SensorModel, Standing, simulate


async def one(broker_name: str, url: str, host: str, port: int, seconds: float, block: object) -> dict[str, object]:
    prefix = f"hs-lat-{broker_name.split(maxsplit=1)[0]}"
    arrivals: dict[str, list[tuple[float, dict[str, object]]]] = {"tilt": [], "step": []}
    ready = asyncio.Event()

    async def listen() -> None:
        async with aiomqtt.Client(host, port) as client:
            await client.subscribe(f"{prefix}/#")
            ready.set()
            async for msg in client.messages:
                kind = str(msg.topic).rsplit("/", 1)[-1]
                if kind in arrivals and isinstance(msg.payload, bytes):
                    arrivals[kind].append((time.time(), json.loads(msg.payload)))

    cfg = VirtualSensorConfig(address=sensor_address(1), sampling_rate_hz=208.0)
    tmp = Path(tempfile.mkdtemp())
    async with VirtualWorld([cfg], speed=1.0, source=SampleSource(block=block)) as world:  # type: ignore[arg-type]
        opts = GatewayOptions(
            sensors=[SensorEntry(alias="hip", address=cfg.address)],
            backend_for=lambda _e: BleBackend(world.central),
            clock=world.clock,
            duration_s=seconds,
            store_path=tmp / "s.db",
            broker=BrokerConfig(topic_prefix=prefix),
            broker_url=url,
            web=False,
            announce=lambda _t: None,
        )
        async with asyncio.TaskGroup() as tg:
            task = tg.create_task(listen(), name="listener")
            await ready.wait()
            await run_gateway(opts)
            await asyncio.sleep(1.0)
            task.cancel()
    tilt = np.array([a - max(p["t_s"]) for a, p in arrivals["tilt"] if p.get("t_s")])  # type: ignore[arg-type]
    step = np.array(
        [a - p["event"]["t_toe_off_s"] for a, p in arrivals["step"] if p["event"].get("t_toe_off_s")]  # type: ignore[index]
    )
    return {"broker": broker_name, "tilt": tilt, "step": step}


async def main(seconds: float) -> None:
    block = simulate(
        Scenario(
            name="latency",
            segments=[Standing(duration_s=5.0), Running(duration_s=seconds + 30.0)],
            sensor=SensorModel(sampling_rate_hz=208.0),
            seed=3,
        )
    ).block
    rows = [await one("mosquitto 127.0.0.1:1883", "mqtt://127.0.0.1:1883", "127.0.0.1", 1883, seconds, block)]
    async with EmbeddedBroker(tcp_ports=(0,), ws_ports=(0,)) as broker:
        assert broker.tcp_port is not None
        rows.append(await one("amqtt embedded", broker.tcp_url, "127.0.0.1", broker.tcp_port, seconds, block))
    print(f"live latency, notification -> MQTT subscriber ({seconds:.0f} s of real-time 208 Hz running per broker)")
    print(f"{'broker':26} {'stream':6} {'n':>5} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'p99 after warm-up':>18}")
    for r in rows:
        for kind in ("tilt", "step"):
            v = np.asarray(r[kind]) * 1000.0
            if v.size:
                late = v[v.size // 2 :]  # the second half: the mounting has locked, no held-back warm-up samples
                print(
                    f"{r['broker']!s:26} {kind:6} {v.size:5d} {np.percentile(v, 50):8.0f} {np.percentile(v, 99):8.0f}"
                    f" {v.max():8.0f} {np.percentile(late, 99):18.0f}"
                )
    print("tilt: newest sample's BLE receive time -> arrival; step: toe-off -> arrival (needs the next steps).")
    print("The first ~20 s are held back until the automatic mounting locks, then released at once: that is the max.")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=45.0)
    asyncio.run(main(ap.parse_args().seconds))
