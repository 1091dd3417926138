"""Helpers of the session commands (sessions, show, delete, note, tag, replay, import, export)."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from sensor.config import load_config
from sensor.sessions.store import Store


def add_store_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--store",
        metavar="FILE",
        help="session store (default: store_path from the config, else the platform data dir's sessions.db)",
    )


def store_path(args: argparse.Namespace) -> Path:
    if getattr(args, "store", None):
        return Path(args.store)
    return load_config(Path(args.config) if getattr(args, "config", None) else None).resolved_store_path()


def open_store(args: argparse.Namespace) -> Store:
    return Store(store_path(args))


def stderr_progress() -> Progress:
    """A rich progress bar drawn on stderr only (stdout stays clean for --json); hidden when not a terminal."""
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
        disable=not sys.stderr.isatty(),
    )


def fmt_time(epoch_s: float | None) -> str:
    if epoch_s is None:
        return "-"
    return dt.datetime.fromtimestamp(epoch_s).astimezone().strftime("%Y-%m-%d %H:%M")


def fmt_duration(s: float | None) -> str:
    if s is None:
        return "-"
    m, sec = divmod(round(s), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


def what_happened(counts: dict[str, int]) -> str:
    order = ("step", "rep", "set", "hold", "alert", "bout")
    parts = [f"{counts[k]} {k}s" for k in order if counts.get(k)]
    return ", ".join(parts) if parts else "not analysed"
