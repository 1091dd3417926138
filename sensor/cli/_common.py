"""Helpers shared by the sub-commands: JSON output, progress bars, argument types."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from sensor.errors import UsageError

CommandFn = Callable[[argparse.Namespace], int]


def print_json(doc: Any) -> None:
    """Write one JSON document to stdout."""
    json.dump(doc, sys.stdout, indent=2, allow_nan=False)
    sys.stdout.write("\n")


def progress(*, disable: bool = False) -> Progress:
    """A rich progress bar on stderr (hidden when stderr is not a terminal or ``disable``)."""
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
        disable=disable or not sys.stderr.isatty(),
    )


def positive_float(name: str) -> Callable[[str], float]:
    """An argparse type: a float > 0, with an error naming the option."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a number, got {text!r}") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"{name} must be > 0, got {text!r}")
        return value

    return parse


def require(condition: bool, message: str, *, argument: str | None = None) -> None:
    """Raise :class:`UsageError` (exit code 2) unless ``condition``."""
    if not condition:
        raise UsageError(message, argument=argument)
