"""``hipsense report SESSION -o report.html``: a self-contained HTML report of one recorded session."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path
from typing import Any

from sensor.cli._common import require
from sensor.cli._sessions_common import add_store_option, open_store


def register(sub: Any) -> None:
    p = sub.add_parser("report", help="write a self-contained HTML report of a session (for a runner or a physio)")
    p.add_argument("session", metavar="SESSION", help="session id, unique id prefix, or name")
    p.add_argument("-o", "--output", metavar="FILE", required=True, help="the HTML file to write")
    p.add_argument("--threshold", type=float, default=8.0, metavar="DEG", help="pelvic drop threshold line (deg)")
    add_store_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from sensor.events import RepEvent, SetEvent, StepEvent
    from sensor.report import ReportMeta, render_report

    out = Path(args.output)
    require(out.suffix.lower() in (".html", ".htm"), f"--output {out} should end in .html", argument="--output")
    require(0 < args.threshold < 45, f"--threshold {args.threshold} deg is outside 0-45 deg", argument="--threshold")
    with open_store(args) as store:
        sid = store.resolve(args.session)
        info = store.get_session(sid)
        events = [e.event for e in store.iter_events(sid)]
    steps = [e for e in events if isinstance(e, StepEvent)]
    reps = [e for e in events if isinstance(e, RepEvent)]
    sets = [e for e in events if isinstance(e, SetEvent)]
    meta = ReportMeta(
        title=f"HipSense session {info.name or info.id}",
        started=dt.datetime.fromtimestamp(info.started_s).astimezone(),
        duration_s=info.duration_s,
        sensor=", ".join(s.sensor_id for s in info.sensors) or None,
        notes=tuple(n.text for n in info.notes),
        drop_threshold_deg=args.threshold,
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_report(meta, steps, reps, sets), encoding="utf-8")
    print(f"wrote {out} ({len(steps)} steps, {len(reps)} reps, {len(sets)} sets)")
    return 0
