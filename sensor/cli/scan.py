"""``hipsense scan [--timeout S] [--json]``: nearby sensors with name, address, RSSI, recognised type, battery."""

from __future__ import annotations

import argparse
import asyncio
from typing import TYPE_CHECKING, Any

from sensor.cli._ble import add_ble_options, ble_environment
from sensor.cli._common import positive_float, print_json

if TYPE_CHECKING:
    from bleak.backends.scanner import AdvertisementData

BATTERY_SERVICE_UUID = "0000180f-0000-1000-8000-00805f9b34fb"


def register(subparsers: Any) -> None:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "scan",
        help="list nearby BLE sensors and their recognised type",
        description="Scan for BLE devices and show name, address, RSSI, the recognised sensor type (from the "
        "advertised service UUIDs, name and manufacturer data) and the battery level if advertised.",
    )
    p.add_argument("--timeout", type=positive_float("--timeout"), default=5.0, metavar="S", help="scan time (s)")
    p.add_argument("--all", action="store_true", help="also list devices of no known sensor type")
    p.add_argument("--json", action="store_true", help="print a JSON list on stdout")
    add_ble_options(p)
    p.set_defaults(func=run)


def describe(address: str, adv: AdvertisementData) -> dict[str, Any]:
    """One scan result as a plain dict (what ``--json`` prints)."""
    from sensor.protocol import registry

    spec = registry.recognise(adv.local_name, adv.service_uuids, adv.manufacturer_data)
    battery = adv.service_data.get(BATTERY_SERVICE_UUID)
    return {
        "name": adv.local_name,
        "address": address,
        "rssi_dbm": adv.rssi,
        "sensor_type": spec.name if spec is not None else None,
        "battery_pct": int(battery[0]) if battery else None,
    }


async def scan(args: argparse.Namespace) -> list[dict[str, Any]]:
    from bleak import BleakScanner
    from bleak.exc import BleakError

    from sensor.ble.link import link_error_from

    async with ble_environment(args) as env:
        try:
            found = await BleakScanner.discover(
                timeout=args.timeout / env.clock.speed, return_adv=True, **env.backend.scanner_kwargs()
            )
        except (BleakError, OSError) as exc:
            raise link_error_from(exc) from exc
    rows = [describe(address, adv) for address, (_, adv) in found.items()]
    if not args.all:
        rows = [r for r in rows if r["sensor_type"] is not None]
    return sorted(rows, key=lambda r: -r["rssi_dbm"])


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    rows = asyncio.run(scan(args))
    if args.json:
        print_json(rows)
        return 0
    console = Console()
    if not rows:
        console.print("no sensors found; is the sensor switched on and awake? (--all lists every BLE device)")
        return 0
    table = Table("name", "address", "RSSI", "type", "battery")
    for r in rows:
        battery = f"{r['battery_pct']} %" if r["battery_pct"] is not None else "-"
        table.add_row(r["name"] or "?", r["address"], f"{r['rssi_dbm']} dBm", r["sensor_type"] or "?", battery)
    console.print(table)
    return 0
