"""``hipsense train-log --records FILE.json``: glute sessions per week against the 2-3 per week guidance.

The pure part is :func:`sensor.pipeline.reps.log.weekly_glute_sessions`. Until the session store is wired in (by
the integrator), the records come from a JSON file: a list of ``{"date": "YYYY-MM-DD", "sets": [SetEvent, ...]}``
objects, e.g. one per ``hipsense train --json`` run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from sensor.cli._common import print_json, require
from sensor.errors import UsageError
from sensor.events import SetEvent
from sensor.pipeline.reps.log import SessionRecord, weekly_glute_sessions

_SETS = TypeAdapter(list[SetEvent])


def load_records(path: Path) -> list[SessionRecord]:
    """Session records from a JSON file (see the module docstring)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise UsageError(
            f"cannot read records from {str(path)!r}: {exc}; pass a JSON list", argument="--records"
        ) from None
    require(isinstance(data, list), f"{path}: expected a JSON list of {{date, sets}} records", argument="--records")
    out: list[SessionRecord] = []
    for i, rec in enumerate(data):
        try:
            day = dt.date.fromisoformat(str(rec["date"]))
            sets = _SETS.validate_python(rec.get("sets", []))
        except (KeyError, TypeError, ValueError, ValidationError) as exc:
            raise UsageError(
                f"{path}: record {i} is not {{'date': 'YYYY-MM-DD', 'sets': [...]}} ({exc.__class__.__name__}); "
                "fix that record",
                argument="--records",
            ) from None
        out.append(SessionRecord(day, sets))
    return out


def register(subparsers: Any) -> None:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "train-log",
        help="glute sessions per week against the 2-3 per week guidance",
        description="Count training days with glute sets per ISO week and judge them against 2-3 sessions per "
        "week (too few, on target, too many for recovery; back-to-back days flagged).",
    )
    p.add_argument("--records", metavar="FILE.json", required=True, help="list of {date, sets} records")
    p.add_argument("--per-week-min", type=int, default=2)
    p.add_argument("--per-week-max", type=int, default=3)
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    path = Path(args.records)
    require(path.is_file(), f"no such file: {str(path)!r}; pass a JSON list of records", argument="--records")
    weeks = weekly_glute_sessions(load_records(path), per_week_min=args.per_week_min, per_week_max=args.per_week_max)
    if args.json:
        print_json(
            {
                "weeks": [
                    {
                        "week_start": w.week_start.isoformat(),
                        "sessions": w.sessions,
                        "sets": w.sets,
                        "reps": w.reps,
                        "back_to_back_days": w.back_to_back_days,
                        "status": w.status,
                        "message": w.message,
                    }
                    for w in weeks
                ]
            }
        )
        return 0
    for w in weeks:
        print(f"week of {w.week_start}: {w.status:9s} {w.message} ({w.sets} sets, {w.reps} reps)")
    return 0
