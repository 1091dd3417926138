"""``hipsense stream [ALIAS]``: connect and show live sample rate, loss, RSSI and battery per sensor.

The first live view, on the same stream later analysis hangs on: :func:`sensor.ble.link.stream_for` (one
supervisor per sensor, frames decoded in the consumer, gaps marked exactly).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sensor.cli._ble import BleEnvironment, add_ble_options, ble_environment, target_entries
from sensor.cli._common import positive_float, print_json

if TYPE_CHECKING:
    from rich.table import Table

    from sensor.ble.link import LinkDecoder, SensorLink
    from sensor.model import ImuBlock

_REFRESH_S = 0.5


def register(subparsers: Any) -> None:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "stream",
        help="stream from paired sensors with a live view of rate, loss, RSSI and battery",
        description="Connect to the paired sensors (or one ALIAS), keep the links up (reconnecting and replaying "
        "the sensor's backlog after a drop) and show the live sample rate, loss, RSSI and battery.",
    )
    p.add_argument("alias", nargs="?", metavar="ALIAS", help="only this sensor (default: every paired sensor)")
    p.add_argument("--duration", type=positive_float("--duration"), default=None, metavar="S", help="stop after S s")
    p.add_argument("--rate", type=float, default=None, metavar="HZ", help="ask the sensors for this sample rate")
    p.add_argument("--json", action="store_true", help="no live view; print a JSON summary at the end")
    add_ble_options(p)
    p.set_defaults(func=run)


@dataclass
class _Live:
    """Per-sensor numbers for the view (samples seen since the last refresh)."""

    window_samples: dict[str, int] = field(default_factory=dict)
    rate_hz: dict[str, float] = field(default_factory=dict)

    def on_block(self, block: ImuBlock) -> None:
        self.window_samples[block.sensor_id] = self.window_samples.get(block.sensor_id, 0) + len(block)


def summary(link: SensorLink, decoder: LinkDecoder, duration_s: float) -> dict[str, Any]:
    received = decoder.samples
    total = received + decoder.missing
    est = decoder.clock_estimate
    return {
        "alias": link.sensor_id,
        "address": link.address,
        "sensor_type": link.sensor_type,
        "samples": received,
        "missing": decoder.missing,
        "loss_fraction": decoder.missing / total if total else 0.0,
        "rate_hz": received / duration_s if duration_s > 0 else 0.0,
        "skipped": dict(decoder.skipped),
        "connects": link.stats.connects,
        "backlog_requests": link.stats.backlog_requests,
        "mtu": link.stats.mtu,
        "rssi_dbm": link.stats.rssi_dbm,
        "battery_pct": link.stats.battery_pct,
        "clock_drift_ppm": est.drift_ppm if est is not None else None,
        "last_error": link.stats.last_error,
    }


def _table(links: list[SensorLink], decoders: dict[str, LinkDecoder], live: _Live) -> Table:
    from rich.table import Table

    table = Table("sensor", "state", "rate", "loss", "RSSI", "battery", "MTU", "connects", "skipped")
    for link in links:
        dec = decoders.get(link.sensor_id)
        total = (dec.samples + dec.missing) if dec else 0
        loss = f"{100.0 * dec.missing / total:.2f} %" if dec and total else "-"
        table.add_row(
            link.sensor_id,
            link.stats.state.value,
            f"{live.rate_hz.get(link.sensor_id, 0.0):.0f} Hz",
            loss,
            f"{link.stats.rssi_dbm} dBm" if link.stats.rssi_dbm is not None else "-",
            f"{link.stats.battery_pct} %" if link.stats.battery_pct is not None else "-",
            str(link.stats.mtu or "-"),
            str(link.stats.connects),
            str(sum(dec.skipped.values())) if dec else "0",
        )
    return table


async def stream(args: argparse.Namespace) -> list[dict[str, Any]]:
    from sensor.ble.link import SensorLink, stream_for
    from sensor.protocol import registry

    async with ble_environment(args) as env:
        entries = target_entries(args, env)
        rate: dict[str, Any] = {} if args.rate is None else {"sampling_rate_hz": args.rate}
        links = [
            SensorLink(
                e.alias,
                e.address,
                sensor_type=e.sensor_type,
                # defaults the advertised name suggests (a Polar H10 has no gyroscope), then --rate
                settings={**registry.get(e.sensor_type).settings_for_name(e.name), **rate},
                backend=env.backend_for(e.transport),
                clock=env.clock,
            )
            for e in entries
        ]
        live = _Live()
        t0 = env.clock.now()
        decoders: dict[str, LinkDecoder] = {}
        if args.json or not sys.stdout.isatty():
            decoders = await stream_for(links, args.duration, clock=env.clock, on_block=live.on_block)
        else:
            decoders = await _stream_live(links, args.duration, env, live)
        elapsed = env.clock.now() - t0
    return [summary(link, decoders[link.sensor_id], elapsed) for link in links]


async def _stream_live(
    links: list[SensorLink], duration_s: float | None, env: BleEnvironment, live: _Live
) -> dict[str, LinkDecoder]:
    from rich.console import Console
    from rich.live import Live

    from sensor.ble.link import stream_for

    stop = asyncio.Event()
    result: dict[str, LinkDecoder] = {}
    shown: dict[str, LinkDecoder] = {}

    async def run_links() -> None:
        result.update(await stream_for(links, None, clock=env.clock, on_block=live.on_block, stop=stop, decoders=shown))

    with Live(_table(links, shown, live), console=Console(), refresh_per_second=4) as view:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(run_links(), name="stream")
            end = None if duration_s is None else env.clock.now() + duration_s
            while end is None or env.clock.now() < end:
                await env.clock.sleep(_REFRESH_S)
                for sid, n in live.window_samples.items():
                    live.rate_hz[sid] = n / _REFRESH_S
                live.window_samples.clear()
                view.update(_table(links, shown, live))
            stop.set()
    return result


def run(args: argparse.Namespace) -> int:
    rows = asyncio.run(stream(args))
    if args.json:
        print_json(rows)
    else:
        for r in rows:
            print(
                f"{r['alias']}: {r['samples']} samples ({r['rate_hz']:.1f} Hz), {r['missing']} missing "
                f"({100 * r['loss_fraction']:.2f} %), {r['connects']} connects, skipped {r['skipped'] or 'none'}"
            )
    return 0
