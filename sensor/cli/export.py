"""``hipsense export SESSION --format csv|json|parquet|hipsense [-o PATH]``."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

from sensor.cli._sessions_common import add_store_option, open_store
from sensor.sessions.exporters import EXPORT_FORMATS, export_session

_EXT = {"json": ".json", "csv": "", "parquet": "", "hipsense": ".hipsense"}


def register(sub: Any) -> None:
    p = sub.add_parser("export", help="export samples and results (steps, reps, sets, summary)")
    p.add_argument("session", metavar="SESSION", help="id, unique id prefix, or name")
    p.add_argument(
        "--format",
        choices=EXPORT_FORMATS,
        required=True,
        help="csv (a folder, or a zip if PATH ends in .zip), json, parquet (a folder; needs "
        "hipsense[parquet]), hipsense (a lossless one-session archive)",
    )
    p.add_argument("-o", "--output", metavar="PATH", help="default: ./<session name or id><ext>")
    add_store_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        sid = store.resolve(args.session)
        info = store.get_session(sid)
        stem = re.sub(r"[^\w.-]+", "_", info.name or sid)
        out = Path(args.output) if args.output else Path(f"{stem}{_EXT[args.format]}")
        path, data = export_session(store, sid, args.format, out)
    if data is not None and data.loss:
        print(data.loss, file=sys.stderr)
    n = "" if data is None else f": {sum(len(b) for b in data.samples.values())} samples, {len(data.events)} events"
    print(f"exported session {sid} as {args.format} to {path}{n}")
    return 0
