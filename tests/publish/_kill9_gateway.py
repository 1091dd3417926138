"""A ``hipsense run`` gateway process for the kill -9 campaign (tests/publish/test_kill9.py, bench/bench_kill9.py).

One virtual HipSense v1 sensor (208 Hz) on an in-process Bumble link, the full gateway (recorder into STORE, the MQTT
sink with its outbox publishing to BROKER_URL under PREFIX), stopped by SIGINT like ``hipsense run``. It prints,
flushed, one line per step the campaign needs::

    started                           the interpreter runs (imports done)
    session <id>                      the store is open and the session created
    rx <frames> <unix_s> <sent>       frames handed to the sinks so far (the recorder has them), the wall clock then,
                                      and the samples the virtual sensor has sent
    done                              a clean stop

``HIPSENSE_TEST_CRASH_AT`` (see :mod:`sensor.crashpoints`) makes it SIGKILL itself at a named point.

Usage: python -m tests.publish._kill9_gateway STORE BROKER_URL PREFIX
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Sequence

from firmware_proto.virtual_sensor import VirtualSensorConfig, VirtualWorld, sensor_address
from sensor.ble.link import BleBackend
from sensor.cli._live import run_live
from sensor.config import BrokerConfig, SensorEntry
from sensor.events import Event
from sensor.gateway import GatewayOptions
from sensor.model import RawFrame


class Progress:
    """A sink after the recorder in the fan-out: reports what the gateway received."""

    def __init__(self, world: VirtualWorld) -> None:
        self.world = world
        self.frames = 0

    async def on_frames(self, frames: Sequence[RawFrame]) -> None:
        self.frames += len(frames)
        sent = self.world.sensors[0].stats.samples_sent
        sys.stdout.write(f"rx {self.frames} {time.time():.6f} {sent}\n")
        sys.stdout.flush()

    async def on_events(self, sensor_id: str, events: Sequence[Event]) -> None:
        return None


def _announce(text: str) -> None:
    if text.startswith("recording session "):
        print(f"session {text.split()[2]}", flush=True)


async def main(store: str, url: str, prefix: str) -> None:
    config = VirtualSensorConfig(address=sensor_address(1), sampling_rate_hz=208.0)
    async with VirtualWorld([config]) as world:
        opts = GatewayOptions(
            sensors=[SensorEntry(alias="hs1", address=config.address, sensor_type="hipsense_v1")],
            backend_for=lambda _e: BleBackend(world.central),
            clock=world.clock,
            store_path=store,
            session_name="kill9",
            broker=BrokerConfig(url=url, topic_prefix=prefix, ha_discovery="off"),
            web=False,
            extra_sinks=[Progress(world)],
            announce=_announce,
        )
        await run_live(opts, cue=False)
    print("done", flush=True)


if __name__ == "__main__":
    print("started", flush=True)
    asyncio.run(main(*sys.argv[1:4]))
