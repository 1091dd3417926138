"""``hipsense import FILE``: HipSense CSV, phyphox, Sensor Logger, or another install's export -> a session."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from sensor.cli._common import print_json
from sensor.cli._sessions_common import add_store_option, fmt_duration, open_store
from sensor.sessions.importers import IMPORT_FORMATS, import_file


def register(sub: Any) -> None:
    p = sub.add_parser("import", help="import a file as a session (HipSense CSV, phyphox, Sensor Logger, export)")
    p.add_argument("file", metavar="FILE", help="a CSV, a zip, a Sensor Logger folder, a .json or .hipsense export")
    p.add_argument("--format", choices=IMPORT_FORMATS, default="auto", help="default: detected from the content")
    p.add_argument(
        "--acc-unit", choices=("mps2", "g"), default="mps2", help="unit of the accelerometer columns (default m/s^2)"
    )
    p.add_argument(
        "--axes",
        metavar="X,Y,Z",
        help="remap/flip sensor axes: 'x,-z,y' = new x, new y, new z from the file's axes (must stay "
        "right-handed); write --axes=-y,x,z when the first one is negative",
    )
    p.add_argument("--name", help="session name (default: the file name)")
    p.add_argument("--sensor-id", help="sensor id to record the samples under")
    p.add_argument("--tag", action="append", default=[], metavar="TAG", help="tag the session (repeatable)")
    p.add_argument("--json", action="store_true", help="one JSON document on stdout")
    add_store_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        res = import_file(
            store,
            Path(args.file),
            fmt=args.format,
            acc_unit=args.acc_unit,
            axes=args.axes,
            name=args.name,
            sensor_id=args.sensor_id,
            tags=args.tag,
        )
    if args.json:
        print_json(
            {
                "session": res.session_id,
                "format": res.format,
                "samples": res.samples,
                "frames": res.frames,
                "duration_s": res.duration_s,
                "sensors": res.sensors,
                "warnings": res.warnings,
            }
        )
        return 0
    print(
        f"imported {args.file} ({res.format}) as session {res.session_id}: {res.samples} samples, "
        f"{fmt_duration(res.duration_s)}, sensors {', '.join(res.sensors)}"
    )
    for w in res.warnings:
        print(f"  note: {w}")
    return 0
