"""``hipsense sessions``: the recorded sessions, newest last."""

from __future__ import annotations

import argparse
from typing import Any

from rich.console import Console
from rich.table import Table

from sensor.cli._common import print_json
from sensor.cli._sessions_common import add_store_option, fmt_duration, fmt_time, open_store, what_happened


def register(sub: Any) -> None:
    p = sub.add_parser("sessions", help="list recorded and imported sessions")
    p.add_argument("--json", action="store_true", help="one JSON document on stdout")
    add_store_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        infos = store.list_sessions()
    if args.json:
        print_json([i.model_dump(mode="json") for i in infos])
        return 0
    if not infos:
        print(f"no sessions in {store.path}; record one with `hipsense run` or `hipsense import FILE`")
        return 0
    t = Table(title=f"sessions in {store.path}")
    for col in ("id", "name", "date", "duration", "sensors", "what happened", "tags"):
        t.add_column(col, no_wrap=col in ("id", "date", "duration"))
    for i in infos:
        sensors = ", ".join(s.sensor_id for s in i.sensors) or "-"
        happened = what_happened(i.event_counts)
        if i.source_kind != "live":
            happened = f"{happened} [{i.source_kind}]"
        t.add_row(
            i.id, i.name or "", fmt_time(i.started_s), fmt_duration(i.duration_s), sensors, happened, " ".join(i.tags)
        )
    Console().print(t)
    return 0
