"""``hipsense train [--exercise NAME] [--json] FILE``: count sets, reps and holds in a recording.

FILE is a HipSense CSV (``sensor.sessions.hipsense_csv``). The rep stage (:mod:`sensor.pipeline.reps`) runs behind
the running pipeline; with ``--mounting`` (a ``hipsense calibrate`` result) the mounting stays fixed, which floor
exercises need (the automatic calibration re-levels on quiet periods, lying ones included). The live BLE view is
wired by ``hipsense run``.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any, get_args

from sensor.cli._ble import add_ble_options
from sensor.cli._common import positive_float, print_json, require
from sensor.cli._live import add_live_options
from sensor.events import Event, Exercise, HoldEvent, RepEvent, SetEvent
from sensor.pipeline.calibration import Mounting
from sensor.pipeline.pipeline import HipPipeline
from sensor.pipeline.reps import RepStage
from sensor.pipeline.reps.frontend import pipeline_with_fixed_mounting
from sensor.sessions.hipsense_csv import read_csv

EXERCISES: tuple[str, ...] = get_args(Exercise)
ALIASES: dict[str, str] = {
    "bridge": "glute_bridge",
    "single_bridge": "single_leg_bridge",
    "thrust": "hip_thrust",
    "rdl": "romanian_deadlift",
    "deadlift": "romanian_deadlift",
    "kick": "donkey_kick",
    "stepup": "step_up",
    "sit": "sit_to_stand",
}


def exercise_name(text: str) -> str:
    """An argparse type: an exercise name (``glute_bridge``) or a short alias (``bridge``)."""
    key = text.strip().lower().replace("-", "_")
    key = ALIASES.get(key, key)
    if key not in EXERCISES:
        raise argparse.ArgumentTypeError(
            f"unknown exercise {text!r}; choose one of {', '.join(EXERCISES)} (or {', '.join(ALIASES)})"
        )
    return key


def count_reps(
    path: Path, *, exercise: str | None, sampling_rate_hz: float | None, mounting: Mounting | None
) -> list[Event]:
    """Run the pipeline and the rep stage over a HipSense CSV (library entry point of the command)."""
    block = read_csv(path)
    fs = sampling_rate_hz if sampling_rate_hz is not None else block.sampling_rate_hz
    require(
        math.isfinite(fs) and fs > 0,
        f"cannot tell the sampling rate of {path} (fewer than two samples?); pass --rate HZ",
        argument="--rate",
    )
    stage = RepStage(declared_exercise=exercise)  # type: ignore[arg-type]
    pipe = pipeline_with_fixed_mounting(fs, mounting, [stage]) if mounting else HipPipeline(fs, stages=[stage])
    events = pipe.feed(block) + pipe.finish()
    return [e for e in events if isinstance(e, RepEvent | SetEvent | HoldEvent)]


def register(subparsers: Any) -> None:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "train",
        help="count glute-exercise sets, reps and holds in a recording",
        description="Find the sets, reps (with eccentric, pause and concentric times, range of motion and, for "
        "one-sided work, the pelvic lateral tilt per side) and holds in a HipSense CSV recording. The exercise "
        "is recognised automatically; --exercise declares it (better counting, never worse).",
    )
    p.add_argument(
        "file", metavar="FILE", nargs="?", default=None, help="HipSense CSV recording (omit it to train live)"
    )
    p.add_argument("--exercise", type=exercise_name, default=None, metavar="NAME", help="declare the exercise")
    p.add_argument("--json", action="store_true", help="print one JSON document with sets, reps and holds")
    p.add_argument("--rate", type=positive_float("--rate"), default=None, metavar="HZ", help="sampling rate")
    p.add_argument("--mounting", metavar="FILE.json", default=None, help="a mounting from `hipsense calibrate`")
    add_live_options(p, with_json=False)  # live training (no FILE): the options of `hipsense run`
    add_ble_options(p)
    p.set_defaults(func=_run, alias=None)


def _run(args: argparse.Namespace) -> int:
    if args.file is None:
        # live: the gateway of `hipsense run` with the declared exercise (BLE and live options as for `run`)
        import asyncio

        from sensor.cli.run import run_command

        return asyncio.run(run_command(args, exercise=args.exercise))
    path = Path(args.file)
    require(path.is_file(), f"no such file: {str(path)!r}; pass a HipSense CSV recording", argument="FILE")
    mounting = None
    if args.mounting:
        mp = Path(args.mounting)
        require(mp.is_file(), f"no such mounting file: {str(mp)!r}; run `hipsense calibrate`", argument="--mounting")
        from sensor.cli.calibrate import load_mounting

        mounting = load_mounting(mp)
    events = count_reps(path, exercise=args.exercise, sampling_rate_hz=args.rate, mounting=mounting)
    sets = [e for e in events if isinstance(e, SetEvent)]
    reps = [e for e in events if isinstance(e, RepEvent)]
    holds = [e for e in events if isinstance(e, HoldEvent)]
    if args.json:
        print_json(
            {
                "source": str(path),
                "declared_exercise": args.exercise,
                "sets": [s.model_dump(mode="json") for s in sets],
                "reps": [r.model_dump(mode="json") for r in reps],
                "holds": [h.model_dump(mode="json") for h in holds],
            }
        )
        return 0
    print(f"{path}: {len(sets)} set(s), {len(reps)} rep(s), {len(holds)} hold(s)")
    for s in sets:
        side = f" ({s.side})" if s.side else ""
        tempo = f", tempo CV {100 * s.tempo_cv:.0f} %" if s.tempo_cv is not None else ""
        tilt = f", lateral tilt {s.mean_lateral_tilt_deg:.1f} deg" if s.mean_lateral_tilt_deg is not None else ""
        print(
            f"  {s.t_start_s:7.1f}-{s.t_end_s:7.1f} s  {s.exercise}{side}: {s.reps} reps, "
            f"{s.mean_rep_s or 0.0:.1f} s/rep{tempo}{tilt} (confidence {s.exercise_confidence:.2f})"
        )
        for side_name in ("left", "right"):
            tilts = [
                r.lateral_tilt_deg
                for r in reps
                if r.side == side_name and r.lateral_tilt_deg is not None and s.t_start_s <= r.t_start_s <= s.t_end_s
            ]
            if tilts and s.side is None:
                print(f"      {side_name}: {len(tilts)} reps, mean lateral tilt {sum(tilts) / len(tilts):.1f} deg")
    for h in holds:
        print(f"  {h.t_start_s:7.1f}-{h.t_end_s:7.1f} s  {h.exercise} hold: {h.duration_s:.1f} s")
    return 0
