"""``hipsense simulate SCENARIO -o FILE.csv``: a simulated recording in HipSense CSV plus its truth JSON."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from sensor.cli._common import positive_float, print_json
from sensor.errors import ScenarioError, UsageError
from sensor.sessions.hipsense_csv import write_csv
from sensor.sim import PRESETS, Scenario, SensorModel, simulate
from sensor.sim.kinematics import truncate


def truth_path_for(csv_path: Path) -> Path:
    """``run.csv`` -> ``run.truth.json`` (beside the CSV)."""
    stem = csv_path.name[: -len(csv_path.suffix)] if csv_path.suffix else csv_path.name
    return csv_path.with_name(f"{stem}.truth.json")


def register(subparsers: Any) -> None:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "simulate",
        help="simulate a hip IMU recording (HipSense CSV + truth JSON)",
        description="Simulate a scenario (a preset name or a YAML/JSON file) and write the recording as HipSense "
        "CSV, with the ground truth in FILE.truth.json beside it. Presets: " + ", ".join(sorted(PRESETS)) + ".",
    )
    p.add_argument("scenario", metavar="SCENARIO", help="preset name or path to a .yaml/.json scenario")
    p.add_argument("-o", "--output", metavar="FILE.csv", required=True, help="CSV file to write")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: the scenario's)")
    p.add_argument(
        "--duration",
        type=positive_float("--duration"),
        default=None,
        metavar="S",
        help="cut the scenario to its first S seconds",
    )
    p.add_argument(
        "--rate", type=positive_float("--rate"), default=None, metavar="HZ", help="override the sampling rate"
    )
    p.add_argument("--ideal", action="store_true", help="an error-free sensor (no noise, bias, quantisation, loss)")
    p.add_argument("--no-truth", action="store_true", help="do not write the truth JSON")
    p.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.seed is not None and args.seed < 0:
        raise UsageError(f"--seed must be >= 0, got {args.seed}", argument="--seed")
    try:
        scenario = Scenario.load(args.scenario)
        if args.duration is not None:
            scenario = truncate(scenario, args.duration)
        if args.ideal or args.rate is not None:
            rate = args.rate if args.rate is not None else scenario.sensor.sampling_rate_hz
            sensor = (
                SensorModel.ideal(rate) if args.ideal else scenario.sensor.model_copy(update={"sampling_rate_hz": rate})
            )
            scenario = Scenario.from_dict(
                {**scenario.model_dump(mode="json"), "sensor": sensor.model_dump(mode="json")}
            )
        result = simulate(scenario, seed=args.seed)
    except ScenarioError as exc:
        raise UsageError(str(exc), argument="SCENARIO") from None
    out = Path(args.output)
    if not out.parent.exists():
        raise UsageError(f"output directory {str(out.parent)!r} does not exist; create it first", argument="-o")
    seed = scenario.seed if args.seed is None else args.seed
    write_csv(
        out,
        result.block,
        comments=[
            f"hipsense simulate {scenario.name} seed={seed}",
            f"sensor_id={scenario.sensor_id} sampling_rate_hz={scenario.sensor.sampling_rate_hz:g}",
        ],
    )
    truth_file = None
    if not args.no_truth:
        truth_file = truth_path_for(out)
        truth_file.write_text(result.truth.to_json(), encoding="utf-8")
    tr = result.truth
    summary = {
        "scenario": scenario.name,
        "seed": seed,
        "csv": str(out),
        "truth": None if truth_file is None else str(truth_file),
        "samples": len(result.block),
        "samples_lost": result.block.n_missing,
        "duration_s": float(tr.t_s[-1] + 1.0 / tr.sampling_rate_hz) if tr.t_s.size else 0.0,
        "sampling_rate_hz": tr.sampling_rate_hz,
        "steps": len(tr.steps),
        "reps": len(tr.reps),
        "sets": len(tr.sets),
        "holds": len(tr.holds),
    }
    if args.json:
        print_json(summary)
    else:
        print(
            f"wrote {summary['samples']} samples ({summary['duration_s']:.1f} s) to {out}"
            + (f" and truth to {truth_file}" if truth_file else "")
            + f": {summary['steps']} steps, {summary['reps']} reps in {summary['sets']} sets"
        )
    return 0
