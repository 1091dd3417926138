"""``hipsense mqtt``: check the broker connection, run the embedded broker, remove a sensor from Home Assistant.

* ``hipsense mqtt check [--broker URL]``: connect with the config's ``[broker]`` settings (or URL), report the
  MQTT version and TLS, or the error and its fix (exit 1).
* ``hipsense mqtt broker [--port N] [--ws-port N] [--bind ADDR]``: run the embedded amqtt broker in the
  foreground on 127.0.0.1 (or ``[broker] embedded_bind`` / ``--bind``: off loopback it requires the configured
  user name and password) with free ports when the usual ones are taken, until Ctrl-C.
* ``hipsense mqtt forget SENSOR_ID``: publish the empty retained messages that remove the sensor's Home
  Assistant entities and retained state.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from pathlib import Path
from typing import Any

import aiomqtt

from sensor.cli._common import print_json
from sensor.cli._live import bind_address, broker_config
from sensor.config import load_config
from sensor.errors import BrokerError
from sensor.publish.embedded_broker import (
    PREFERRED_TCP_PORTS,
    PREFERRED_WS_PORTS,
    describe,
    embedded_from_config,
    exposure_warning,
)
from sensor.publish.ha_discovery import remove_discovery
from sensor.publish.mqtt_client import BrokerSettings, check_connection, classify_error


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("mqtt", help="MQTT: check the broker, run the embedded broker, forget a sensor")
    sub = p.add_subparsers(dest="mqtt_command", metavar="ACTION", required=True)

    c = sub.add_parser("check", help="connect to the broker and report the MQTT version, or the error and its fix")
    c.add_argument("--broker", metavar="URL", help="mqtt://, mqtts://, ws:// or wss:// URL (default: config)")
    c.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for the connection (default 10)")
    c.add_argument("--json", action="store_true", help="print the result as JSON")
    c.set_defaults(func=_check)

    b = sub.add_parser("broker", help="run the embedded MQTT broker (amqtt, 127.0.0.1 by default) until Ctrl-C")
    b.add_argument("--port", type=int, default=None, help=f"TCP port (default {PREFERRED_TCP_PORTS[0]}, else free)")
    b.add_argument("--ws-port", type=int, default=None, help="websockets port (default 8083, then 9001, else free)")
    b.add_argument(
        "--bind",
        dest="broker_bind",
        metavar="ADDR",
        type=bind_address,
        help="listen address (default: [broker] embedded_bind, 127.0.0.1); any other than loopback requires "
        "[broker] username and password_env/password_file",
    )
    b.set_defaults(func=_broker)

    f = sub.add_parser("forget", help="remove a sensor's Home Assistant entities and retained MQTT state")
    f.add_argument("sensor_id")
    f.add_argument("--broker", metavar="URL", help="broker URL (default: config)")
    f.set_defaults(func=_forget)


def _settings(args: argparse.Namespace) -> tuple[BrokerSettings, str, str]:
    cfg = load_config(None if args.config is None else Path(args.config)).broker
    return BrokerSettings.from_config(cfg, args.broker), cfg.topic_prefix, cfg.discovery_prefix


def _check(args: argparse.Namespace) -> int:
    settings, _, _ = _settings(args)

    async def run() -> dict[str, Any]:
        version = await asyncio.wait_for(check_connection(settings), args.timeout)
        return {"url": settings.url, "mqtt": version, "tls": settings.target.tls, "connected": True}

    try:
        result = asyncio.run(run())
    except TimeoutError:
        raise BrokerError(
            f"no answer from {settings.url} within {args.timeout:g} s: check host, port and scheme (mqtts:// for TLS)",
            url=settings.url,
            reason="timeout",
        ) from None
    if args.json:
        print_json(result)
    else:
        print(f"connected to {result['url']} (MQTT {result['mqtt']}{', TLS' if result['tls'] else ''})")
    return 0


def _broker(args: argparse.Namespace) -> int:
    tcp = (args.port,) if args.port is not None else PREFERRED_TCP_PORTS
    ws = (args.ws_port,) if args.ws_port is not None else PREFERRED_WS_PORTS

    cfg = broker_config(load_config(None if args.config is None else Path(args.config)), args)
    broker = embedded_from_config(cfg, tcp_ports=tcp, ws_ports=ws)

    async def run() -> None:
        started = asyncio.Event()
        async with asyncio.TaskGroup() as tg:
            tg.create_task(broker.serve(started), name="embedded-broker")
            await started.wait()
            print(describe(broker), file=sys.stderr, flush=True)
            warning = exposure_warning(broker)
            if warning is not None:
                print(f"warning: {warning}", file=sys.stderr, flush=True)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())
    return 0


def remove_from_home_assistant(args: argparse.Namespace, sensor_id: str) -> list[str]:
    """Clear the sensor's discovery and retained state on the configured (or ``args.broker``) broker."""
    settings, prefix, discovery_prefix = _settings(args)
    t = settings.target

    async def run() -> list[str]:
        try:
            async with aiomqtt.Client(
                t.host,
                t.port,
                username=settings.username,
                password=settings.password,
                transport=t.transport,
                websocket_path=t.ws_path,
                tls_context=settings.tls_context(),
                timeout=settings.connect_timeout_s,
            ) as client:
                return await remove_discovery(client, sensor_id, discovery_prefix=discovery_prefix, topic_prefix=prefix)
        except aiomqtt.MqttError as exc:
            raise classify_error(exc, settings) from None

    return asyncio.run(run())


def _forget(args: argparse.Namespace) -> int:
    cleared = remove_from_home_assistant(args, args.sensor_id)
    print(f"removed {args.sensor_id} from Home Assistant ({len(cleared)} retained topics cleared)")
    return 0
