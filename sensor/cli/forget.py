"""``hipsense forget ALIAS``: remove a paired sensor from the config file."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from sensor.config import load_config, save_config
from sensor.errors import SensorNotFoundError


def register(subparsers: Any) -> None:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "forget", help="remove a paired sensor", description="Remove a sensor stored by `hipsense pair`."
    )
    p.add_argument("alias", metavar="ALIAS", help="the sensor's alias (or address)")
    p.add_argument(
        "--broker", metavar="URL", help="also remove it from Home Assistant on this broker (default: [broker] url)"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    path = Path(args.config) if args.config else None
    cfg = load_config(path)
    entry = cfg.sensor(args.alias)
    if entry is None:
        known = ", ".join(s.alias for s in cfg.sensors) or "none"
        raise SensorNotFoundError(
            f"no paired sensor {args.alias!r} (paired: {known}); see `hipsense sensors`", query=args.alias
        )
    cfg.sensors = [s for s in cfg.sensors if s is not entry]
    written = save_config(cfg, path)
    print(f"forgot {entry.alias} ({entry.address}); config: {written}")
    from sensor.ble.bumble_backend import forget_bonds
    from sensor.cli._ble import host_key_files

    if sum(forget_bonds(f, entry.address) for f in host_key_files(cfg.resolved_data_dir())):
        print(f"deleted the bonding keys of {entry.address}")
    if args.broker or cfg.broker.url:
        from sensor.cli.mqtt import remove_from_home_assistant

        cleared = remove_from_home_assistant(args, entry.alias)
        print(f"removed {entry.alias} from Home Assistant ({len(cleared)} retained topics cleared)")
    else:
        print("no broker configured: nothing to remove from Home Assistant (pass --broker URL to clear it there)")
    return 0
