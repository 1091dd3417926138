"""What the BLE sub-commands share: the backend choice (platform, Bumble transport, or the virtual world).

* default: Bleak's platform backend (BlueZ, CoreBluetooth, WinRT);
* ``--transport usb:0`` (or a sensor entry with ``transport = "usb:0"``): Bleak on Bumble, driving a USB/UART
  dongle directly;
* ``--virtual N`` or ``HIPSENSE_BLE=virtual`` (``virtual:N``): N virtual sensors on an in-process Bumble link,
  no hardware at all (sensor 1 speaks HipSense v1, 2 impersonates a WitMotion, 3 a Polar Verity Sense, the
  rest HipSense v1; addresses ``D0:00:00:00:00:01`` ... so that ``pair`` then ``stream`` find them again).

Bonding keys made by ``pair`` stay in the data directory, owner-only (``ble-keys.json`` for Bumble transports;
``virtual-ble/`` for the virtual world, which keeps the virtual sensors' side there too), so a later ``run`` or
``stream`` reconnects encrypted without pairing again. The platform backend leaves bonds to the OS.
"""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sensor.cli._common import positive_float
from sensor.errors import UsageError

if TYPE_CHECKING:
    from firmware_proto.virtual_sensor import VirtualSensorConfig, VirtualWorld
    from sensor.ble.link import BleBackend, Clock
    from sensor.config import SensorEntry

ENV_VAR = "HIPSENSE_BLE"
_VIRTUAL_KINDS = ("hipsense_v1", "witmotion", "polar")
KEYS_FILE = "ble-keys.json"
VIRTUAL_KEYS_DIR = "virtual-ble"


def data_dir(args: argparse.Namespace) -> Path:
    from sensor.config import load_config

    return load_config(Path(args.config) if getattr(args, "config", None) else None).resolved_data_dir()


def host_key_files(data: Path) -> list[Path]:
    """The files where this host keeps bonding keys (Bumble transports, the virtual world's gateway)."""
    return [data / KEYS_FILE, data / VIRTUAL_KEYS_DIR / "gateway-keys.json"]


def add_ble_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("Bluetooth backend")
    group.add_argument(
        "--transport",
        metavar="SPEC",
        help="drive a Bluetooth dongle through Bumble instead of the OS stack (usb:0, serial:/dev/ttyACM0, "
        "tcp-client:HOST:PORT)",
    )
    group.add_argument(
        "--virtual",
        metavar="N",
        type=int,
        default=None,
        help=f"use N virtual sensors on an in-process Bumble link, no hardware (also: {ENV_VAR}=virtual[:N])",
    )
    group.add_argument(
        "--speed",
        type=positive_float("--speed"),
        default=1.0,
        help="virtual world only: run the sensors' clock this many times faster than real time",
    )


def virtual_count(args: argparse.Namespace) -> int | None:
    """How many virtual sensors the command asked for (``--virtual N`` or the environment), or ``None``."""
    if getattr(args, "virtual", None) is not None:
        if args.virtual < 1 or args.virtual > 64:
            raise UsageError(f"--virtual must be within 1..64, got {args.virtual}", argument="--virtual")
        return int(args.virtual)
    env = os.environ.get(ENV_VAR, "").strip().lower()
    if not env or env in {"platform", "os"}:
        return None
    if env == "virtual":
        return 3
    if env.startswith("virtual:") and env[8:].isdigit() and 1 <= int(env[8:]) <= 64:
        return int(env[8:])
    raise UsageError(f"{ENV_VAR}={env!r} is not understood; use 'virtual', 'virtual:N' (1..64) or unset it")


def virtual_configs(n: int) -> list[VirtualSensorConfig]:
    from firmware_proto.virtual_sensor import VirtualSensorConfig, sensor_address

    kinds = [_VIRTUAL_KINDS[i] if i < len(_VIRTUAL_KINDS) else "hipsense_v1" for i in range(n)]
    rates = {"hipsense_v1": 208.0, "witmotion": 100.0, "polar": 52.0}
    return [
        VirtualSensorConfig(
            address=sensor_address(i + 1),
            kind=k,  # type: ignore[arg-type]
            sampling_rate_hz=rates[k],
            seed=i + 1,
        )
        for i, k in enumerate(kinds)
    ]


@dataclass(frozen=True, slots=True)
class BleEnvironment:
    """The backend and host clock a command uses (plus the virtual world, if any)."""

    backend: BleBackend
    clock: Clock
    world: VirtualWorld | None = None

    def backend_for(self, transport: str | None) -> BleBackend:
        """A sensor entry's own transport wins over the platform backend (not over the virtual world)."""
        from sensor.ble.link import BleBackend

        if self.world is None and transport:
            return BleBackend(transport, keys_path=self.backend.keys_path)
        return self.backend


@contextlib.asynccontextmanager
async def ble_environment(args: argparse.Namespace, **world_options: Any) -> AsyncIterator[BleEnvironment]:
    from firmware_proto.virtual_sensor import VirtualWorld
    from sensor.ble.bumble_backend import close_transport_centrals
    from sensor.ble.link import BleBackend, SystemClock

    n = virtual_count(args)
    transport = getattr(args, "transport", None)
    if n is not None and transport:
        raise UsageError("--virtual and --transport exclude each other; pick one", argument="--transport")
    data = data_dir(args)
    if n is None:
        try:
            yield BleEnvironment(BleBackend(transport, keys_path=data / KEYS_FILE), SystemClock())
        finally:
            await close_transport_centrals()
        return
    world_options.setdefault("keys_dir", data / VIRTUAL_KEYS_DIR)
    async with VirtualWorld(virtual_configs(n), speed=getattr(args, "speed", 1.0), **world_options) as world:
        yield BleEnvironment(BleBackend(world.central), world.clock, world)


def target_entries(args: argparse.Namespace, env: BleEnvironment) -> list[SensorEntry]:
    """The sensors a command streams from: the paired ones (or ALIAS), else the virtual world's."""
    from sensor.config import SensorEntry, load_config
    from sensor.errors import SensorNotFoundError

    cfg = load_config(Path(args.config) if args.config else None)
    entries = list(cfg.sensors)
    if not entries and env.world is not None:
        entries = [
            SensorEntry(alias=f"virtual-{i + 1}", address=s.config.address, sensor_type=s.config.kind)
            for i, s in enumerate(env.world.sensors)
        ]
    if args.alias is not None:
        entries = [e for e in entries if args.alias in (e.alias, e.address)]
        if not entries:
            raise SensorNotFoundError(
                f"no paired sensor {args.alias!r}; `hipsense sensors` lists them, `hipsense pair` adds one",
                query=args.alias,
            )
    if not entries:
        raise UsageError("no paired sensors: run `hipsense scan` and `hipsense pair NAME` first (or use --virtual N)")
    return entries
