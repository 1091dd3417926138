"""``hipsense virtual-sensor``: run a virtual HipSense sensor (or an impersonated WitMotion / Polar).

On a Bumble transport (``--transport usb:0``) a machine with a USB dongle becomes a real over-the-air sensor for
another machine running ``hipsense scan`` / ``stream``. Without a transport it runs alone on an in-process link
(for a quick look at its knobs; tests and the demo build a whole virtual world instead, see
``firmware_proto.virtual_sensor.VirtualWorld``).
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from sensor.cli._common import positive_float, print_json
from sensor.errors import ConfigError, ScenarioError, UsageError


def register(subparsers: Any) -> None:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "virtual-sensor",
        help="run a virtual sensor (protocol v1, or impersonating WitMotion/Polar) on a Bumble transport",
        description="Run a virtual sensor streaming a simulated scenario. With --transport (usb:0, "
        "serial:/dev/ttyACM0, tcp-client:HOST:PORT) it advertises over the air through that controller.",
    )
    p.add_argument("--scenario", default="run10", help="simulator preset or scenario file (default: run10)")
    p.add_argument("--kind", choices=["hipsense_v1", "witmotion", "polar"], default="hipsense_v1")
    p.add_argument("--rate", type=float, default=208.0, metavar="HZ", help="sample rate: 52, 104, 208 or 416")
    p.add_argument("--mtu", type=int, default=247, help="largest ATT MTU to accept (23..517)")
    p.add_argument("--loss", type=float, default=0.0, metavar="P", help="probability a notification is lost")
    p.add_argument("--drop-every", type=positive_float("--drop-every"), default=None, metavar="S")
    p.add_argument("--drop-for", type=positive_float("--drop-for"), default=2.0, metavar="S")
    p.add_argument("--battery", type=int, default=87, metavar="PCT")
    p.add_argument("--drift-ppm", type=float, default=0.0, metavar="PPM", help="sensor clock error")
    p.add_argument("--buffer", type=int, default=8192, metavar="SAMPLES", help="ring-buffer depth")
    p.add_argument("--address", default="D0:00:00:00:00:01", help="its static random address")
    p.add_argument("--name", default=None, help="advertised name (default from the address)")
    p.add_argument("--transport", metavar="SPEC", help="Bumble transport of the radio to advertise on")
    p.add_argument("--duration", type=positive_float("--duration"), default=None, metavar="S", help="stop after S s")
    p.add_argument("--json", action="store_true", help="print a JSON summary at the end")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from firmware_proto.virtual_sensor import SampleSource, VirtualSensorConfig, run_virtual_sensor
    from sensor.sim import Scenario

    try:
        config = VirtualSensorConfig(
            name=args.name,
            address=args.address,
            kind=args.kind,
            sampling_rate_hz=args.rate,
            max_mtu=args.mtu,
            packet_loss=args.loss,
            link_drop_period_s=args.drop_every,
            link_drop_duration_s=args.drop_for,
            battery_pct=args.battery,
            clock_drift_ppm=args.drift_ppm,
            buffer_samples=args.buffer,
        )
        source = SampleSource(scenario=Scenario.load(args.scenario))
    except (ConfigError, ScenarioError) as exc:
        raise UsageError(str(exc)) from None
    if args.transport is None and args.duration is None:
        raise UsageError(
            "without --transport the sensor has nobody to talk to: give --transport usb:0 (a dongle) or a "
            "--duration for a dry run",
            argument="--transport",
        )
    if not args.json:
        where = args.transport or "an in-process link"
        print(f"virtual sensor {config.local_name} ({config.address}, {config.kind}) advertising on {where}")
    stats = asyncio.run(run_virtual_sensor(config, transport=args.transport, source=source, duration_s=args.duration))
    doc = {
        "name": config.local_name,
        "address": config.address,
        "notifications": stats.notifications,
        "samples_sent": stats.samples_sent,
        "lost_samples": stats.lost_samples,
        "link_drops": stats.link_drops,
        "connections": stats.connections,
    }
    if args.json:
        print_json(doc)
    else:
        print(doc)
    return 0
