"""``hipsense replay SESSION [--speed X | --fast]``: push a recorded session through decode -> pipeline -> sinks."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from typing import Any

from sensor.app import EventCollector, default_analyzer_factory, run_pipeline
from sensor.cli._common import positive_float, print_json
from sensor.cli._sessions_common import add_store_option, open_store, stderr_progress
from sensor.sessions.replay import ReplaySource, session_decoder_factory


def register(sub: Any) -> None:
    p = sub.add_parser("replay", help="replay a session with its original timing (or --fast)")
    p.add_argument("session", metavar="SESSION", help="id, unique id prefix, or name")
    g = p.add_mutually_exclusive_group()
    g.add_argument(
        "--speed",
        type=positive_float("--speed"),
        default=1.0,
        metavar="X",
        help="real-time factor (default 1 = as recorded)",
    )
    g.add_argument("--fast", action="store_true", help="as fast as possible, no waiting")
    p.add_argument("--json", action="store_true", help="one JSON document on stdout (counts and events)")
    add_store_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        sid = store.resolve(args.session)
        info = store.get_session(sid)
        collector = EventCollector()
        with stderr_progress() as bar:
            task = bar.add_task(f"replay {sid}", total=sum(s.n_frames for s in info.sensors) or None)
            src = ReplaySource(
                store,
                sid,
                speed=None if args.fast else args.speed,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
            t0 = time.perf_counter()
            stats = asyncio.run(
                run_pipeline(src, session_decoder_factory(store, sid), default_analyzer_factory(), [collector])
            )
            wall_s = time.perf_counter() - t0
    duration_s = info.duration_s or 0.0
    doc = {
        "session": sid,
        "frames": stats.frames,
        "samples": stats.samples,
        "samples_per_sensor": stats.samples_per_sensor,
        "decode_errors": stats.decode_errors,
        "events_by_kind": stats.events_by_kind,
        "duration_s": duration_s,
        "wall_s": wall_s,
        "x_realtime": duration_s / wall_s if wall_s > 0 else None,
        "loss": None if src.loss is None else src.loss.describe(),
        "events": [{"sensor_id": s, **e.model_dump(mode="json")} for s, e in collector.events],
    }
    if src.loss is not None:
        print(src.loss.describe(), file=sys.stderr)
    if args.json:
        print_json(doc)
        return 0
    print(
        f"replayed {sid}: {stats.frames} frames, {stats.samples} samples, {duration_s:.1f} s of data in "
        f"{wall_s:.2f} s ({doc['x_realtime'] or 0:.0f}x real time)"
    )
    for sensor, n in stats.decode_errors.items():
        print(f"  {sensor}: {n} payloads could not be decoded (first: {stats.first_error[sensor]})")
    if stats.events_by_kind:
        print("  events: " + ", ".join(f"{n} {k}" for k, n in stats.events_by_kind.items()))
    return 0
