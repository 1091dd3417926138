"""The live gateway when the session store's file system fills up or is read-only, on REAL file systems: a small
tmpfs (``mount -t tmpfs -o size=...``) filled to the brim, and a tmpfs remounted read-only (tests/_mounts.py; the
tests skip with the reason where mounting is not permitted).

Disk full mid-session: the recording stops with a StoreError naming the path and the fix; streaming, analysis and
live MQTT go on; what was committed is intact and equals the first frames received. Read-only at start: the gateway
refuses before connecting, naming the path and the fix, and the sessions already on the medium stay readable."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import aiomqtt
import pytest

from firmware_proto.virtual_sensor import SampleSource, VirtualSensorConfig, VirtualWorld, sensor_address
from sensor.ble.link import BleBackend
from sensor.config import BrokerConfig, SensorEntry
from sensor.errors import StoreError
from sensor.events import Event
from sensor.gateway import GatewayOptions, GatewayResult, run_gateway
from sensor.model import RawFrame
from sensor.publish.embedded_broker import EmbeddedBroker
from sensor.sessions.store import SensorMeta, SessionReader, Store
from sensor.sim import Scenario, SensorModel, Standing, Walking, simulate
from tests._mounts import fill, mount, tmpfs

RATE_HZ = 104.0
SPEED = 20.0  # sensor seconds per real second: fills the disk in seconds


class _Frames:
    """A sink after the recorder: every frame the gateway received, and how many had arrived at the failure."""

    def __init__(self, frames_after_failure: int = 0) -> None:
        self.frames: list[RawFrame] = []
        self.at_failure: int | None = None
        self.frames_after_failure = frames_after_failure
        self.streamed_on = asyncio.Event()  # that many frames arrived after the failure

    async def on_frames(self, frames: Sequence[RawFrame]) -> None:
        self.frames.extend(frames)
        if self.at_failure is not None and len(self.frames) - self.at_failure >= self.frames_after_failure:
            self.streamed_on.set()

    async def on_events(self, sensor_id: str, events: Sequence[Event]) -> None:
        return None


def _source() -> SampleSource:
    sc = Scenario(
        name="store-faults",
        segments=[Standing(duration_s=4.0), Walking(duration_s=56.0)],
        sensor=SensorModel(sampling_rate_hz=RATE_HZ),
        seed=9,
    )
    return SampleSource(block=simulate(sc).block)


async def _run(
    store_path: Path, broker: EmbeddedBroker, prefix: str, sink: _Frames, announced: list[str], stop: asyncio.Event
) -> GatewayResult:
    cfg = VirtualSensorConfig(address=sensor_address(1), sampling_rate_hz=RATE_HZ)
    async with VirtualWorld([cfg], speed=SPEED, source=_source()) as world:

        def announce(text: str) -> None:
            announced.append(text)
            if text.startswith("recording stopped"):
                sink.at_failure = len(sink.frames)

        opts = GatewayOptions(
            sensors=[SensorEntry(alias="hip", address=cfg.address)],
            backend_for=lambda _e: BleBackend(world.central),
            clock=world.clock,
            duration_s=None,
            store_path=store_path,
            session_name="store-faults",
            broker=BrokerConfig(topic_prefix=prefix, ha_discovery="off"),
            broker_url=broker.tcp_url,
            web=False,
            announce=announce,
            extra_sinks=[sink],
            stop=stop,
        )
        return await run_gateway(opts)


@pytest.mark.slow
async def test_disk_full_mid_session_stops_recording_keeps_streaming_and_keeps_what_was_committed(
    tmp_path: Path,
) -> None:
    with tmpfs(tmp_path / "small", "1M") as data:
        filler = fill(data, leave_bytes=320 * 1024)
        store_path = data / "sessions.db"
        sink = _Frames(frames_after_failure=int(4 * RATE_HZ / 9))  # ~4 s of sensor time (9 samples a frame)
        announced: list[str] = []
        stop = asyncio.Event()
        tilt_after_failure = 0
        prefix = "hs-diskfull"
        async with EmbeddedBroker(tcp_ports=(0,), websockets=False) as broker:
            subscribed = asyncio.Event()

            async def listen() -> None:
                nonlocal tilt_after_failure
                async with aiomqtt.Client("127.0.0.1", broker.tcp_port) as client:
                    await client.subscribe(f"{prefix}/hip/tilt", qos=0)
                    subscribed.set()
                    async for _msg in client.messages:
                        if sink.at_failure is not None:
                            tilt_after_failure += 1

            async def stop_when_streamed_on() -> None:
                # the run goes on after the failure: stop once ~4 s of sensor time more has arrived
                await sink.streamed_on.wait()
                await asyncio.sleep(0.5)
                stop.set()

            async with asyncio.TaskGroup() as tg:
                listener = tg.create_task(listen(), name="tilt-listener")
                await asyncio.wait_for(subscribed.wait(), 10)
                stopper = tg.create_task(stop_when_streamed_on(), name="stopper")
                result = await asyncio.wait_for(_run(store_path, broker, prefix, sink, announced, stop), 180)
                stopper.cancel()
                listener.cancel()
        # the failure: named, with the path and the fix; announced once
        err = result.store_error
        assert isinstance(err, StoreError)
        assert err.path == str(store_path)
        assert str(store_path) in str(err)
        assert "disk is full" in str(err)
        assert "Free disk space" in str(err)
        assert len([a for a in announced if a.startswith("recording stopped")]) == 1
        # streaming, analysis and live MQTT went on after it
        assert sink.at_failure is not None
        assert len(sink.frames) - sink.at_failure >= sink.frames_after_failure
        assert result.stats.frames == len(sink.frames)
        assert tilt_after_failure >= 3
        assert result.decoders["hip"].missing == 0
        # what was committed is intact and is exactly the first frames received
        filler.unlink()
        with Store(store_path) as store:
            assert store.integrity_check() == []
            assert result.session_id is not None
            got = [f for _, f in SessionReader(store, result.session_id).frames()]
        print(
            f"\ndisk full after {sink.at_failure} frames received; {len(got)} committed and intact; "
            f"{len(sink.frames) - sink.at_failure} frames and {tilt_after_failure} tilt messages after the failure"
        )
        assert 0 < len(got) <= sink.at_failure
        assert got == sink.frames[: len(got)]


@pytest.mark.slow
async def test_read_only_store_refuses_before_connecting_and_keeps_the_sessions(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "medium", "4M") as data:
        store_path = data / "sessions.db"
        frames = [RawFrame("hip", 1.7e9 + i, bytes([i % 256]) * 40, "c") for i in range(500)]
        with Store(store_path) as store:
            sid = store.create_session(name="earlier", sensors=[SensorMeta(sensor_id="hip", sensor_type="imu_f64")])
            store.write_batch(sid, frames)
        mount("-o", "remount,ro", str(data))
        sink = _Frames()
        announced: list[str] = []
        async with EmbeddedBroker(tcp_ports=(0,), websockets=False) as broker:
            with pytest.raises(StoreError) as ei:
                await asyncio.wait_for(_run(store_path, broker, "hs-ro", sink, announced, asyncio.Event()), 60)
        msg = str(ei.value)
        assert ei.value.path == str(store_path)
        assert str(store_path) in msg
        assert "mounted read-only" in msg
        assert "remount it read-write" in msg
        assert "store_path" in msg
        assert sink.frames == []  # refused before streaming anything
        # the sessions already there stay readable (replay, export) on the read-only medium
        with Store(store_path, readonly=True) as store:
            assert store.integrity_check() == []
            assert [f for _, _, f in store.iter_frames(sid)] == frames
        assert not any(a.startswith("recording session") for a in announced)


def test_cli_run_on_a_read_only_store_exits_1_naming_path_and_fix(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "medium", "1M") as data:
        mount("-o", "remount,ro", str(data))
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
        proc = subprocess.run(
            [sys.executable, "-m", "sensor", "run", "--virtual", "1", "--no-publish", "--no-web", "--no-view",
             "--duration", "5", "--store", str(data / "sessions.db")],
            capture_output=True, text=True, env=env, timeout=120, check=False,
        )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert str(data / "sessions.db") in proc.stderr
    assert "mounted read-only" in proc.stderr
    assert "Traceback" not in proc.stderr
