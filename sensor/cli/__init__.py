"""The ``hipsense`` command: thin sub-commands that parse, call ``sensor.app``/library code, and print.

Conventions for every sub-command:

* bad usage or a bad value -> a one-line error naming the value and the fix, exit code 2;
* any other :class:`~sensor.errors.HipSenseError` -> its message, exit code 1;
* ``--json`` where the output is data (one JSON document on stdout, nothing else on stdout);
* progress bars (rich, on stderr) on long work.

Each sub-command lives in its own module of this package with a ``register(subparsers)`` function; add the module
to ``COMMAND_MODULES`` below.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from sensor import __version__
from sensor.cli._common import CommandFn
from sensor.errors import HipSenseError, UsageError

COMMAND_MODULES: tuple[str, ...] = (
    "demo",
    "run",
    "report",
    "simulate",
    "sessions",
    "show",
    "delete",
    "note",
    "tag",
    "replay",
    "importer",
    "export",
    "scan",
    "pair",
    "sensors",
    "forget",
    "stream",
    "virtual_sensor",
    "analyze",
    "calibrate",
    "train",
    "train_log",
    "mqtt",
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="hipsense",
        description="HipSense: pelvic drop per step while running and glute-exercise reps, from one hip IMU.",
    )
    parser.add_argument("--version", action="version", version=f"hipsense {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    parser.add_argument("--config", metavar="FILE", help="config file (default: platform config dir)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMAND_MODULES:
        importlib.import_module(f"sensor.cli.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING - 10 * min(args.verbose, 2),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    func: CommandFn | None = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        return func(args)
    except UsageError as exc:
        print(f"hipsense {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except HipSenseError as exc:
        print(f"hipsense {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
