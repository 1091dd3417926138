"""``hipsense demo``: the whole system with no hardware and no broker.

A virtual HipSense sensor (Bumble, in-process) streams the simulator's ``demo`` scenario (warm-up walk, a run
with a weaker left side that fatigues, then glute sets) over BLE; the gateway connects through Bleak on the
Bumble backend, runs the full pipeline, records the session, publishes to the embedded MQTT broker (free ports),
serves the web dashboard on 127.0.0.1 and shows the live terminal view. Ctrl-C stops it cleanly.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from sensor.cli._common import positive_float
from sensor.cli._live import add_live_options, broker_config, report_result, run_live, store_path_for


def register(sub: Any) -> None:
    p = sub.add_parser(
        "demo",
        help="run everything with a virtual sensor and the embedded broker (no hardware needed)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_live_options(p)
    p.add_argument(
        "--speed",
        type=positive_float("--speed"),
        default=1.0,
        metavar="X",
        help="run the virtual sensor's clock X times faster than real time (e.g. 10)",
    )
    p.add_argument("--scenario", default="demo", metavar="NAME|FILE", help="simulator scenario (default: demo)")
    p.add_argument("--rate", type=float, default=208.0, metavar="HZ", help="sensor rate: 52, 104, 208 or 416 Hz")
    p.set_defaults(func=run)


async def _demo(args: argparse.Namespace) -> int:
    from firmware_proto.virtual_sensor import SampleSource, VirtualSensorConfig, VirtualWorld, sensor_address
    from sensor.ble.link import BleBackend
    from sensor.config import SensorEntry, load_config
    from sensor.errors import UsageError
    from sensor.gateway import GatewayOptions
    from sensor.publish.terminal import LiveView
    from sensor.sim import Scenario, simulate

    if args.rate not in (52.0, 104.0, 208.0, 416.0):
        raise UsageError(f"--rate {args.rate:g} is not a protocol v1 rate; use 52, 104, 208 or 416", argument="--rate")
    cfg = load_config(None if args.config is None else Path(args.config))
    scenario = Scenario.load(args.scenario)
    scenario = scenario.model_copy(
        update={"sensor": scenario.sensor.model_copy(update={"sampling_rate_hz": args.rate})}
    )
    recording = simulate(scenario).block  # simulated once; the virtual sensor streams (and loops) these samples
    scenario_s = float(recording.t_s[-1] - recording.t_s[0])
    duration_s = args.duration if args.duration is not None else scenario_s
    config = VirtualSensorConfig(address=sensor_address(1), sampling_rate_hz=args.rate, name="HipSense-demo")
    show_view = not (args.no_view or args.json) and sys.stderr.isatty()
    view = LiveView(title="HipSense demo") if show_view else None
    announce = (lambda text: print(text, file=sys.stderr)) if args.json else print
    announce(
        f"HipSense demo: virtual sensor streaming scenario {scenario.name!r} ({scenario_s / 60:.1f} min of "
        f"sensor time) at {args.rate:g} Hz, speed x{args.speed:g}; Ctrl-C stops"
    )
    async with VirtualWorld([config], speed=args.speed, source=SampleSource(block=recording)) as world:
        entry = SensorEntry(alias="demo-hip", address=config.address, name=config.local_name, mounting="sacrum")
        opts = GatewayOptions(
            sensors=[entry],
            backend_for=lambda _e: BleBackend(world.central),
            clock=world.clock,
            duration_s=duration_s,
            store_path=store_path_for(args),
            session_name=args.name or f"demo {scenario.name}",
            broker=broker_config(cfg, args),
            broker_url=args.broker,
            publish=not args.no_publish,
            web=not args.no_web,
            web_ws_url=args.ws_url,
            view=view,
            announce=announce,
        )
        result = await run_live(opts, cue=args.cue)
    return report_result(result, as_json=args.json)


def run(args: argparse.Namespace) -> int:
    return asyncio.run(_demo(args))
