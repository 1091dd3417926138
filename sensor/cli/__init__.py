"""The ``hipsense`` command: thin sub-commands that parse, call ``sensor.app``/library code, and print.

Conventions for every sub-command:

* bad usage or a bad value -> a one-line error naming the value and the fix, exit code 2;
* any other :class:`~sensor.errors.HipSenseError` -> its message, exit code 1;
* ``--json`` where the output is data (one JSON document on stdout, nothing else on stdout);
* progress bars (rich, on stderr) on long work.

Each sub-command lives in its own module of this package with a ``register(subparsers)`` function; add it to
``COMMANDS`` below (name, module, help line).
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

#: Every sub-command: its name, the module of this package that implements it, and the one-line help that
#: ``hipsense --help`` lists. Only the chosen command's module is imported (several pull in scipy, the simulator
#: or Bleak): ``hipsense --help`` and light commands start fast. A test checks each help line against the
#: module's own ``register``.
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("demo", "run everything with a virtual sensor and the embedded broker (no hardware needed)"),
    "run": ("run", "stream from the paired sensor(s): pelvic drop per step, reps, live view, recording and MQTT"),
    "report": ("report", "write a self-contained HTML report of a session (for a runner or a physio)"),
    "simulate": ("simulate", "simulate a hip IMU recording (HipSense CSV + truth JSON)"),
    "sessions": ("sessions", "list recorded and imported sessions"),
    "show": ("show", "show one session (SESSION = id, unique id prefix, or name)"),
    "delete": ("delete", "delete a session (frames, events, notes)"),
    "note": ("note", "add a note to a session"),
    "tag": ("tag", "add (or --remove) tags of a session"),
    "replay": ("replay", "replay a session with its original timing (or --fast)"),
    "import": ("importer", "import a file as a session (HipSense CSV, phyphox, Sensor Logger, export)"),
    "export": ("export", "export samples and results (steps, reps, sets, summary)"),
    "scan": ("scan", "list nearby BLE sensors and their recognised type"),
    "pair": ("pair", "pair a sensor and store it in the config"),
    "sensors": ("sensors", "list the paired sensors"),
    "forget": ("forget", "remove a paired sensor"),
    "stream": ("stream", "stream from paired sensors with a live view of rate, loss, RSSI and battery"),
    "virtual-sensor": (
        "virtual_sensor",
        "run a virtual sensor (protocol v1, or impersonating WitMotion/Polar) on a Bumble transport",
    ),
    "analyze": ("analyze", "analyse a recording: steps, pelvic drop per leg, summaries"),
    "calibrate": ("calibrate", "compute the sensor's mounting from a recording (stand 3 s, walk 10 steps)"),
    "train": ("train", "count glute-exercise sets, reps and holds in a recording"),
    "train-log": ("train_log", "glute sessions per week against the 2-3 per week guidance"),
    "mqtt": ("mqtt", "MQTT: check the broker, run the embedded broker, forget a sensor"),
}

#: Top-level options that take a value (so the command word can be found before parsing).
_VALUE_OPTIONS = ("--config",)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def _chosen_command(argv: Sequence[str]) -> str | None:
    """The sub-command word in ``argv`` (the first positional token), or None."""
    skip = False
    for tok in argv:
        if skip:
            skip = False
        elif tok in _VALUE_OPTIONS:
            skip = True
        elif not tok.startswith("-"):
            return tok
    return None


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The ``hipsense`` parser.

    With ``argv``, only the sub-command named in it is built in full (the others are listed with their help line);
    without, every sub-command is (for documentation and tests).
    """
    parser = _Parser(
        prog="hipsense",
        description="HipSense: pelvic drop per step while running and glute-exercise reps, from one hip IMU.",
    )
    parser.add_argument("--version", action="version", version=f"hipsense {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    parser.add_argument("--config", metavar="FILE", help="config file (default: platform config dir)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    chosen = None if argv is None else _chosen_command(argv)
    # without argv, or when the word found is no command (an abbreviated option took its value): build them all
    build_all = argv is None or (chosen is not None and chosen not in COMMANDS)
    for name, (module, help_line) in COMMANDS.items():
        if build_all or name == chosen:
            importlib.import_module(f"sensor.cli.{module}").register(sub)
        else:
            sub.add_parser(name, help=help_line)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(args_list)
    args = parser.parse_args(args_list)
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
