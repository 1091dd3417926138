"""``hipsense sensors [--json]``: the paired sensors stored in the config file."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from sensor.cli._common import print_json
from sensor.config import load_config


def register(subparsers: Any) -> None:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "sensors", help="list the paired sensors", description="List the sensors stored by `hipsense pair`."
    )
    p.add_argument("--json", action="store_true", help="print a JSON list on stdout")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    cfg = load_config(Path(args.config) if args.config else None)
    rows = [s.model_dump(mode="json") for s in cfg.sensors]
    if args.json:
        print_json(rows)
        return 0
    console = Console()
    if not rows:
        console.print("no sensors paired yet: `hipsense scan`, then `hipsense pair NAME`")
        return 0
    table = Table("alias", "address", "type", "mounting", "bonded", "model", "transport")
    for s in cfg.sensors:
        table.add_row(
            s.alias,
            s.address,
            s.sensor_type,
            s.mounting,
            "yes" if s.bonded else "no",
            s.model or "-",
            s.transport or "-",
        )
    console.print(table)
    return 0
