"""``hipsense show SESSION``: one session's metadata, sensors, counts, notes and summary."""

from __future__ import annotations

import argparse
from typing import Any

from sensor.cli._common import print_json
from sensor.cli._sessions_common import add_store_option, fmt_duration, fmt_time, open_store, what_happened
from sensor.sessions.exporters import events_doc


def register(sub: Any) -> None:
    p = sub.add_parser("show", help="show one session (SESSION = id, unique id prefix, or name)")
    p.add_argument("session", metavar="SESSION")
    p.add_argument("--json", action="store_true", help="one JSON document on stdout")
    add_store_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        sid = store.resolve(args.session)
        info = store.get_session(sid)
        summary = events_doc(list(store.iter_events(sid)))["summary"]
    if args.json:
        print_json({**info.model_dump(mode="json"), "summary": summary})
        return 0
    print(f"session {info.id}  {info.name or ''}")
    print(
        f"  started   {fmt_time(info.started_s)}   ended {fmt_time(info.ended_s)}   duration "
        f"{fmt_duration(info.duration_s)}   source {info.source_kind}"
    )
    print(f"  happened  {what_happened(info.event_counts)}")
    if info.tags:
        print(f"  tags      {' '.join(info.tags)}")
    for s in info.sensors:
        rate = f"{s.sampling_rate_hz:g} Hz" if s.sampling_rate_hz else "rate ?"
        extra = ", ".join(
            f"{k} {v}"
            for k, v in (
                ("protocol v", s.protocol_version),
                ("firmware", s.firmware),
                ("mounting", s.mounting),
                ("model", s.model),
            )
            if v is not None
        )
        print(
            f"  sensor    {s.sensor_id}: {s.sensor_type}, {rate}, {s.n_frames} frames" + (f", {extra}" if extra else "")
        )
    for n in info.notes:
        print(f"  note      {fmt_time(n.created_s)}  {n.text}")
    for w in info.meta.get("warnings", []):
        print(f"  warning   {w}")
    if summary:
        print("  summary   " + ", ".join(f"{k}={v}" for k, v in summary.items() if v is not None and k != "kind"))
    return 0
