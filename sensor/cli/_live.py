"""What ``run``, ``train`` (live) and ``demo`` share: options, the cue sink, and running the gateway."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sensor.cli._common import positive_float

if TYPE_CHECKING:
    from sensor.config import AppConfig, BrokerConfig
    from sensor.events import Event
    from sensor.gateway import GatewayOptions, GatewayResult
    from sensor.model import RawFrame


def add_live_options(p: argparse.ArgumentParser, *, with_json: bool = True) -> None:
    p.add_argument(
        "--duration",
        type=positive_float("--duration"),
        default=None,
        metavar="S",
        help="stop after S s of sensor time (a virtual sensor's clock runs --speed times faster than the wall clock)",
    )
    p.add_argument("--broker", metavar="URL", help="MQTT broker URL (default: [broker] url, else the embedded one)")
    p.add_argument(
        "--broker-bind",
        metavar="ADDR",
        type=bind_address,
        help="address the embedded broker listens on (default: [broker] embedded_bind, 127.0.0.1); any other "
        "than loopback requires [broker] username and password_env/password_file",
    )
    p.add_argument("--no-publish", action="store_true", help="do not publish to MQTT")
    p.add_argument("--no-web", action="store_true", help="do not serve the web dashboard")
    p.add_argument(
        "--ws-url",
        metavar="URL",
        help="websockets URL of an external broker for the web dashboard (ws://host:9001/)",
    )
    p.add_argument("--no-view", action="store_true", help="no live terminal view (also when not on a terminal)")
    p.add_argument("--store", metavar="FILE", help="session store (default: the configured one)")
    p.add_argument("--name", metavar="NAME", help="name of the recorded session")
    p.add_argument(
        "--cue",
        action="store_true",
        help="audible cue on alerts: the terminal bell, and a spoken message when espeak-ng (Linux) or say (macOS) "
        "is installed",
    )
    if with_json:
        p.add_argument("--json", action="store_true", help="print a JSON summary at the end (implies --no-view)")


def bind_address(text: str) -> str:
    """argparse type of a listen address (``--broker-bind``, ``mqtt broker --bind``)."""
    from sensor.config import check_bind_address

    try:
        return check_bind_address(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def broker_config(cfg: AppConfig, args: argparse.Namespace) -> BrokerConfig:
    """The ``[broker]`` section with the command line's ``--broker-bind`` applied."""
    if getattr(args, "broker_bind", None) is None:
        return cfg.broker
    return cfg.broker.model_copy(update={"embedded_bind": args.broker_bind})


class CueSink:
    """Turns alert events into an audible cue (terminal bell + a spoken message when a TTS command exists).

    Speaking runs in :meth:`run` (a named task of the gateway's TaskGroup), one message at a time; alerts that
    arrive while one is spoken are dropped rather than queued, because a late cue is worse than none.
    """

    def __init__(self) -> None:
        self.tts = shutil.which("espeak-ng") or shutil.which("say")
        self._queue: asyncio.Queue[str] = asyncio.Queue(maxsize=1)
        self.cued = 0

    async def on_frames(self, frames: Sequence[RawFrame]) -> None:
        return None

    async def on_events(self, sensor_id: str, events: Sequence[Event]) -> None:
        from sensor.events import AlertEvent

        for ev in events:
            if isinstance(ev, AlertEvent):
                self.cued += 1
                sys.stderr.write("\a")
                sys.stderr.flush()
                with contextlib.suppress(asyncio.QueueFull):
                    self._queue.put_nowait(ev.message)

    async def run(self) -> None:
        while True:
            message = await self._queue.get()
            if self.tts is None:
                continue
            proc = await asyncio.create_subprocess_exec(
                self.tts, message, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
            )
            try:
                await asyncio.wait_for(proc.wait(), timeout=10)
            except TimeoutError:
                proc.kill()
                await proc.wait()


def store_path_for(args: argparse.Namespace) -> Path:
    from sensor.config import load_config

    if getattr(args, "store", None):
        return Path(args.store)
    return load_config(Path(args.config) if args.config else None).resolved_store_path()


async def run_live(opts: GatewayOptions, *, cue: bool) -> GatewayResult:
    """Run the gateway; Ctrl-C (SIGINT) or SIGTERM ends it cleanly (the session is closed, events flushed)."""
    from sensor.gateway import run_gateway

    stop = opts.stop or asyncio.Event()
    opts.stop = stop
    loop = asyncio.get_running_loop()
    handled: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
            handled.append(sig)
    try:
        if not cue:
            return await run_gateway(opts)
        cue_sink = CueSink()
        opts.extra_sinks = [*opts.extra_sinks, cue_sink]
        async with asyncio.TaskGroup() as tg:
            task = tg.create_task(cue_sink.run(), name="cue")
            try:
                return await run_gateway(opts)
            finally:
                task.cancel()
    finally:
        for sig in handled:
            loop.remove_signal_handler(sig)


def summary_doc(result: GatewayResult) -> dict[str, Any]:
    """The JSON summary of a live run."""
    kinds = dict(result.stats.events_by_kind)
    return {
        "session_id": result.session_id,
        "broker_url": result.broker_url,
        "web_url": result.web_url,
        "frames": result.stats.frames,
        "samples": result.stats.samples,
        "events_by_kind": kinds,
        "store_error": None if result.store_error is None else str(result.store_error),
        "sensors": {
            sid: {"samples": d.samples, "missing": d.missing, "skipped": dict(d.skipped)}
            for sid, d in result.decoders.items()
        },
    }


def print_summary(result: GatewayResult) -> None:
    doc = summary_doc(result)
    print(
        f"session {doc['session_id']}: {doc['samples']} samples, "
        + ", ".join(f"{n} {k}" for k, n in sorted(doc["events_by_kind"].items()))
    )
    for sid, s in doc["sensors"].items():
        print(f"  {sid}: {s['samples']} samples, {s['missing']} missing, skipped {s['skipped'] or 'none'}")
    if doc["session_id"]:
        sid = doc["session_id"]
        print(f"  replay it: hipsense replay {sid} --fast; report: hipsense report {sid} -o report.html")


def report_result(result: GatewayResult, *, as_json: bool) -> int:
    """Print what a live run did (JSON document or text) and return the exit code: 1 when the recording stopped
    early (the store could not be written), else 0."""
    if as_json:
        from sensor.cli._common import print_json

        print_json(summary_doc(result))
    else:
        print_summary(result)
    if result.store_error is not None:
        print(f"error: the recording stopped early: {result.store_error}", file=sys.stderr)
        return 1
    return 0
