"""``hipsense pair NAME|ADDRESS``: find a sensor, read its device information, bond, and store it in the config."""

from __future__ import annotations

import argparse
import asyncio
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args

from sensor.cli._ble import BleEnvironment, add_ble_options, ble_environment
from sensor.cli._common import positive_float, print_json
from sensor.config import Mounting, SensorEntry, load_config, save_config
from sensor.errors import ConfigError, LinkError, SensorNotFoundError, UsageError

if TYPE_CHECKING:
    from bleak import BleakClient
    from bleak.backends.device import BLEDevice
    from bleak.backends.scanner import AdvertisementData

DIS_MODEL = "00002a24-0000-1000-8000-00805f9b34fb"
DIS_FIRMWARE = "00002a26-0000-1000-8000-00805f9b34fb"
MOUNTINGS: tuple[str, ...] = get_args(Mounting)


def register(subparsers: Any) -> None:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "pair",
        help="pair a sensor and store it in the config",
        description="Find the sensor by advertised name or address, connect, read its device information, bond "
        "(LE Secure Connections) where the sensor supports it, and store alias, address, type and mounting in "
        "the config file.",
    )
    p.add_argument("target", metavar="NAME|ADDRESS", help="advertised name (e.g. HipSense-0001) or address")
    p.add_argument("--alias", help="name to use for it in HipSense (default: from the advertised name)")
    p.add_argument("--mounting", choices=MOUNTINGS, help="where it is worn (default: the sensor's hint or sacrum)")
    p.add_argument("--timeout", type=positive_float("--timeout"), default=10.0, metavar="S", help="scan time (s)")
    p.add_argument("--no-bond", action="store_true", help="do not bond, only store the sensor")
    p.add_argument("--json", action="store_true", help="print the stored entry as JSON")
    add_ble_options(p)
    p.set_defaults(func=run)


def default_alias(name: str | None, address: str) -> str:
    text = name or f"sensor-{address.replace(':', '')[-4:]}"
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-").lower()
    return slug[:64] or "sensor"


async def _find(env: BleEnvironment, target: str, timeout_s: float) -> tuple[BLEDevice, AdvertisementData]:
    from bleak import BleakScanner
    from bleak.exc import BleakError

    from sensor.ble.link import link_error_from

    found: asyncio.Future[tuple[BLEDevice, AdvertisementData]] = asyncio.get_running_loop().create_future()
    wanted = target.strip()

    def on_adv(device: BLEDevice, adv: AdvertisementData) -> None:
        if found.done():
            return
        if device.address.upper() == wanted.upper() or (adv.local_name or "").lower() == wanted.lower():
            found.set_result((device, adv))

    try:
        async with BleakScanner(on_adv, **env.backend.scanner_kwargs()):
            async with asyncio.timeout(timeout_s / env.clock.speed):
                return await found
    except TimeoutError:
        raise SensorNotFoundError(
            f"no sensor named or addressed {target!r} advertised within {timeout_s:g} s; switch it on, bring it "
            "closer, and check the name with `hipsense scan`",
            query=target,
        ) from None
    except (BleakError, OSError) as exc:
        raise link_error_from(exc) from exc


async def _read_text(client: BleakClient, uuid: str) -> str | None:
    from bleak.exc import BleakError

    if client.services.get_characteristic(uuid) is None:
        return None
    try:
        return bytes(await client.read_gatt_char(uuid)).decode("utf-8", "replace").strip("\x00 ") or None
    except BleakError:
        return None


async def pair(args: argparse.Namespace) -> tuple[SensorEntry, list[str]]:
    from bleak import BleakClient
    from bleak.exc import BleakError

    from sensor.ble.link import link_error_from
    from sensor.protocol import hipsense_v1 as v1
    from sensor.protocol import registry

    notes: list[str] = []
    async with ble_environment(args) as env:
        device, adv = await _find(env, args.target, args.timeout)
        spec = registry.recognise(adv.local_name, adv.service_uuids, adv.manufacturer_data)
        if spec is None:
            raise UsageError(
                f"{adv.local_name or device.address} is not a sensor type HipSense knows "
                f"({', '.join(registry.names())}); `hipsense scan --all` shows what it advertises",
                argument="NAME|ADDRESS",
            )
        mounting = args.mounting
        bonded = False
        try:
            async with BleakClient(device, timeout=args.timeout, **env.backend.client_kwargs()) as client:
                model = await _read_text(client, DIS_MODEL)
                firmware = await _read_text(client, DIS_FIRMWARE)
                if spec.name == v1.SENSOR_TYPE and client.services.get_characteristic(v1.INFO_UUID) is not None:
                    info = v1.decode_info(bytes(await client.read_gatt_char(v1.INFO_UUID)))
                    firmware = firmware or info.firmware
                    if mounting is None and info.mounting in MOUNTINGS and info.mounting != "unknown":
                        mounting = info.mounting
                if not args.no_bond:
                    try:
                        await client.pair()
                        bonded = True
                    except (BleakError, NotImplementedError) as exc:
                        notes.append(f"not bonded: the sensor did not accept pairing ({exc}); stored anyway")
        except (BleakError, OSError) as exc:
            raise link_error_from(exc, device.address) from exc
        except TimeoutError as exc:
            raise LinkError(
                f"connecting to {device.address} timed out after {args.timeout:g} s; bring the sensor closer and "
                "make sure no phone app is connected to it",
                address=device.address,
                reason="timeout",
            ) from exc
    entry = SensorEntry(
        alias=args.alias or default_alias(adv.local_name, device.address),
        address=device.address,
        sensor_type=spec.name,
        name=adv.local_name,
        mounting=mounting or "sacrum",
        transport=getattr(args, "transport", None),
        bonded=bonded,
        firmware=firmware,
        model=model,
    )
    return entry, notes


def store(entry: SensorEntry, path: Path | None) -> Path:
    cfg = load_config(path)
    clash = cfg.sensor(entry.alias)
    if clash is not None and clash.address != entry.address:
        raise ConfigError(
            f"alias {entry.alias!r} is already used by {clash.address}; choose another with --alias or "
            f"`hipsense forget {entry.alias}` first",
            key="sensors.alias",
        )
    cfg.sensors = [s for s in cfg.sensors if s.address != entry.address and s.alias != entry.alias] + [entry]
    return save_config(cfg, path)


def run(args: argparse.Namespace) -> int:
    entry, notes = asyncio.run(pair(args))
    path = store(entry, Path(args.config) if args.config else None)
    if args.json:
        print_json(entry.model_dump(mode="json"))
    else:
        for note in notes:
            print(note)
        print(
            f"paired {entry.alias}: {entry.name or '?'} {entry.address}, {entry.sensor_type}, "
            f"{entry.model or 'model ?'}, {'bonded' if entry.bonded else 'not bonded'}; saved to {path}"
        )
    return 0
