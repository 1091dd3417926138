"""``hipsense run [ALIAS]``: connect to the paired sensor(s), record, analyse, publish and show it live."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from sensor.cli._ble import add_ble_options, ble_environment
from sensor.cli._common import print_json
from sensor.cli._live import add_live_options, print_summary, run_live, store_path_for, summary_doc


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
    from sensor.config import SensorEntry, load_config
    from sensor.errors import SensorNotFoundError, UsageError
    from sensor.gateway import GatewayOptions
    from sensor.publish.terminal import LiveView

    cfg = load_config(Path(args.config) if args.config else None)
    async with ble_environment(args) as env:
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
            raise UsageError("no paired sensors: run `hipsense scan` and `hipsense pair NAME` first (or --virtual N)")
        show_view = not (args.no_view or args.json) and sys.stderr.isatty()
        opts = GatewayOptions(
            sensors=entries,
            backend_for=lambda e: env.backend_for(e.transport),
            clock=env.clock,
            duration_s=args.duration,
            store_path=store_path_for(args),
            session_name=args.name,
            broker=cfg.broker,
            broker_url=args.broker,
            publish=not args.no_publish,
            web=not args.no_web,
            web_ws_url=args.ws_url,
            view=LiveView() if show_view else None,
            declared_exercise=exercise,  # type: ignore[arg-type]
            announce=(lambda text: print(text, file=sys.stderr)) if args.json else print,
        )
        result = await run_live(opts, cue=args.cue)
    if args.json:
        print_json(summary_doc(result))
    else:
        print_summary(result)
    return 0


def run(args: argparse.Namespace) -> int:
    from sensor.cli.train import exercise_name

    exercise = None if args.exercise is None else exercise_name(args.exercise)
    return asyncio.run(run_command(args, exercise=exercise))
