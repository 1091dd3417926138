"""``hipsense run [ALIAS]``: connect to the paired sensor(s), record, analyse, publish and show it live."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from sensor.cli._ble import add_ble_options, ble_environment, target_entries
from sensor.cli._live import add_live_options, broker_config, report_result, run_live, store_path_for


def register(sub: Any) -> None:
    p = sub.add_parser(
        "run",
        help="stream from the paired sensor(s): pelvic drop per step, reps, live view, recording and MQTT",
    )
    p.add_argument("alias", nargs="?", metavar="ALIAS", help="only this sensor (default: every paired sensor)")
    add_live_options(p)
    p.add_argument("--exercise", default=None, metavar="NAME", help="declare the glute exercise you are doing")
    add_ble_options(p)
    p.set_defaults(func=run)


async def run_command(args: argparse.Namespace, *, exercise: str | None) -> int:
    from sensor.config import load_config
    from sensor.gateway import GatewayOptions
    from sensor.publish.terminal import LiveView

    cfg = load_config(Path(args.config) if args.config else None)
    async with ble_environment(args) as env:
        entries = target_entries(args, env)
        show_view = not (args.no_view or args.json) and sys.stderr.isatty()
        opts = GatewayOptions(
            sensors=entries,
            backend_for=lambda e: env.backend_for(e.transport),
            clock=env.clock,
            duration_s=args.duration,
            store_path=store_path_for(args),
            session_name=args.name,
            broker=broker_config(cfg, args),
            broker_url=args.broker,
            publish=not args.no_publish,
            web=not args.no_web,
            web_ws_url=args.ws_url,
            view=LiveView() if show_view else None,
            declared_exercise=exercise,  # type: ignore[arg-type]
            announce=(lambda text: print(text, file=sys.stderr)) if args.json else print,
        )
        result = await run_live(opts, cue=args.cue)
    return report_result(result, as_json=args.json)


def run(args: argparse.Namespace) -> int:
    from sensor.cli.train import exercise_name

    exercise = None if args.exercise is None else exercise_name(args.exercise)
    return asyncio.run(run_command(args, exercise=exercise))
