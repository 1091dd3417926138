"""Gateway CPU per sensor at 208 Hz (1 and 8 sensors) and the most notifications per second one core handles.

Everything runs in this process: the virtual sensors (Bumble peripherals driving the firmware's SensorCore), the
in-process radio (Bumble's virtual controllers on a LocalLink) and the gateway (Bumble host stack, Bleak through
the Bumble backend, SensorLink, LinkDecoder). CPU time is attributed by wrapping the event-loop entry points of
each side, so the table shows

* ``gateway``: the central's Bumble host + GATT client + Bleak backend + link callbacks + decoding (what a
  gateway process pays; with BlueZ the host-stack part would run in bluetoothd instead),
* ``radio``: the central's virtual controller (hardware on a real machine),
* ``process``: everything, including the virtual sensors.

A peer in the same process: the same stream received with Bumble's own GATT client (``Peer.subscribe``), no
Bleak, no link supervisor, no decoding: the floor our layers sit on.

    python bench/bench_ble.py            # about a minute
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bumble.device import Peer

from firmware_proto.virtual_sensor import VirtualWorld
from sensor.ble import link as link_mod
from sensor.ble.link import Backoff, BleBackend, SensorLink, stream_for
from sensor.protocol import hipsense_v1 as v1


@dataclass
class Meter:
    """Process CPU seconds spent inside wrapped callables (top-level event-loop callbacks: no nesting)."""

    cpu_s: float = 0.0

    def wrap(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            t = time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self.cpu_s += time.process_time() - t

        return wrapped


def _instrument_central(world: VirtualWorld, gateway: Meter, radio: Meter) -> None:
    device = world.central.device
    host = device.host
    controller = world.central._controller
    assert controller is not None
    host.on_packet = gateway.wrap(host.on_packet)  # type: ignore[method-assign]
    controller.on_packet = radio.wrap(controller.on_packet)  # type: ignore[method-assign]
    controller.on_link_acl_data = radio.wrap(controller.on_link_acl_data)  # type: ignore[method-assign]


async def _run_gateway(n: int, rate_hz: float, mtu: int, sensor_s: float, speed: float) -> dict[str, Any]:
    gateway, radio = Meter(), Meter()
    original_feed = link_mod.LinkDecoder.feed
    link_mod.LinkDecoder.feed = gateway.wrap(original_feed)  # type: ignore[method-assign]
    try:
        async with VirtualWorld.of(
            n, speed=speed, sampling_rate_hz=rate_hz, max_mtu=mtu, duration_s=sensor_s, buffer_samples=1 << 17
        ) as world:
            _instrument_central(world, gateway, radio)
            links = [
                SensorLink(
                    f"s{i}",
                    s.config.address,
                    backend=BleBackend(world.central),
                    clock=world.clock,
                    backoff=Backoff(first_s=0.2, cap_s=1.0, seed=i),
                )
                for i, s in enumerate(world.sensors)
            ]
            stop = asyncio.Event()

            async def stopper() -> None:
                while not all(s.finished for s in world.sensors):  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
                await asyncio.sleep(0.3)
                stop.set()

            c0, w0 = time.process_time(), time.perf_counter()
            async with asyncio.TaskGroup() as tg:
                tg.create_task(stopper(), name="stopper")
                decoders = await stream_for(links, None, clock=world.clock, stop=stop)
            cpu, wall = time.process_time() - c0, time.perf_counter() - w0
            samples = sum(d.samples for d in decoders.values())
            missing = sum(d.missing for d in decoders.values())
            notifications = sum(s.stats.notifications for s in world.sensors)
    finally:
        link_mod.LinkDecoder.feed = original_feed  # type: ignore[method-assign]
    return _row(
        f"{n} x {rate_hz:g} Hz, MTU {mtu}", notifications, samples, missing, n * sensor_s, gateway, radio, cpu, wall
    )


def _row(
    case: str,
    notifications: int,
    samples: int,
    missing: int,
    stream_s: float,
    gateway: Meter,
    radio: Meter,
    cpu: float,
    wall: float,
) -> dict[str, Any]:
    return {
        "case": case,
        "notifications": notifications,
        "samples": samples,
        "missing": missing,
        "gateway_pct_per_sensor": 100 * gateway.cpu_s / stream_s,
        "radio_pct_per_sensor": 100 * radio.cpu_s / stream_s,
        "process_pct_per_sensor": 100 * cpu / stream_s,
        "gateway_us_per_notification": 1e6 * gateway.cpu_s / max(notifications, 1),
        "gateway_notifications_per_core_s": notifications / gateway.cpu_s if gateway.cpu_s else 0.0,
        "process_notifications_per_s": notifications / cpu if cpu else 0.0,
        "wall_s": wall,
    }


async def _run_peer(rate_hz: float, mtu: int, sensor_s: float, speed: float) -> dict[str, Any]:
    """Bumble's GATT client directly: subscribe, START, count notifications (no Bleak, no link, no decoding)."""
    gateway, radio = Meter(), Meter()
    async with VirtualWorld.of(
        1, speed=speed, sampling_rate_hz=rate_hz, max_mtu=mtu, duration_s=sensor_s, buffer_samples=1 << 17
    ) as world:
        _instrument_central(world, gateway, radio)
        sensor = world.sensors[0]
        central = world.central
        async with central.connecting():
            address = await central.find_advertiser(sensor.config.address, 5.0)
            connection = await central.connect(address, 5.0)
        peer = Peer(connection)
        await peer.request_mtu(247)
        await peer.discover_all()
        count = 0

        def on_value(_value: bytes) -> None:
            nonlocal count
            count += 1

        data = peer.get_characteristics_by_uuid(v1.DATA_UUID)[0]  # type: ignore[arg-type]
        control = peer.get_characteristics_by_uuid(v1.CONTROL_UUID)[0]  # type: ignore[arg-type]
        await data.subscribe(on_value)
        c0, w0 = time.process_time(), time.perf_counter()
        await peer.write_value(control, v1.start_command(), with_response=True)
        while not sensor.finished:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)
        cpu, wall = time.process_time() - c0, time.perf_counter() - w0
        await connection.disconnect()
    notifications = sensor.stats.notifications
    return _row(
        f"peer: Bumble Peer, 1 x {rate_hz:g} Hz, MTU {mtu}",
        notifications,
        sensor.stats.samples_sent,
        notifications - count,
        sensor_s,
        gateway,
        radio,
        cpu,
        wall,
    )


def _print(rows: list[dict[str, Any]]) -> None:
    header = (
        f"{'case':<40} {'notif':>7} {'missing':>7} {'gateway %/sensor':>16} {'radio %/sensor':>14} "
        f"{'process %/sensor':>16} {'gw us/notif':>11} {'gw notif/core-s':>15} {'process notif/s':>15} {'wall s':>7}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['case']:<40} {r['notifications']:>7} {r['missing']:>7} {r['gateway_pct_per_sensor']:>16.2f} "
            f"{r['radio_pct_per_sensor']:>14.2f} {r['process_pct_per_sensor']:>16.2f} "
            f"{r['gateway_us_per_notification']:>11.0f} {r['gateway_notifications_per_core_s']:>15.0f} "
            f"{r['process_notifications_per_s']:>15.0f} {r['wall_s']:>7.1f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sensor-s", type=float, default=60.0, help="seconds of sensor time per case")
    parser.add_argument("--quick", action="store_true", help="10 s of sensor time per case")
    args = parser.parse_args()
    sensor_s = 10.0 if args.quick else args.sensor_s
    rows = [
        asyncio.run(_run_gateway(1, 208.0, 247, sensor_s, speed=10.0)),
        asyncio.run(_run_gateway(8, 208.0, 247, sensor_s, speed=10.0)),
        asyncio.run(_run_gateway(1, 208.0, 23, sensor_s, speed=5.0)),
        asyncio.run(_run_gateway(8, 208.0, 23, sensor_s, speed=1.0)),
        # flat out: 833 Hz at MTU 23 is one notification per sample; the world runs faster than the CPU can
        # follow, so the numbers are what one core sustains
        asyncio.run(_run_gateway(1, 833.0, 23, sensor_s, speed=20.0)),
        asyncio.run(_run_peer(833.0, 23, sensor_s, speed=20.0)),
    ]
    print(f"sensor time per case: {sensor_s:g} s; CPU as % of one core per sensor (process_time / sensor time)")
    _print(rows)


if __name__ == "__main__":
    main()
