"""How long after its end each rep is announced, on the rep accuracy bench's simulated sessions.

Every session of ``bench_reps_accuracy.make_scenario`` (``--fast``: the stress sessions whose every set runs at
0.9-1.5 s a rep with pauses of 0-0.2 s) is fed through the pipeline (known mounting within 3 deg) in chunks of
``--chunk-s`` (default 0.1 s, live-like); a rep's latency is the time of the last sample of the chunk that
produced its ``RepEvent`` minus the rep's ``t_end_s``. Prints every rep over ``--limit-s`` (issue 7: 0.5 s) and
the distribution. ``bench/bench_reps_speed.py`` measures the same on an hour of mixed activity in 20-sample chunks.

Run: ``python bench/bench_reps_latency.py [--fast] [--first-seed 100] [--cases 30]``
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_reps_accuracy import make_scenario, run_case
from sensor.events import RepEvent


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--first-seed", type=int, default=100)
    ap.add_argument("--cases", type=int, default=30)
    ap.add_argument("--fast", action="store_true", help="the fast-set stress sessions (bench_reps_accuracy --fast)")
    ap.add_argument("--chunk-s", type=float, default=0.1, help="input chunk length, s")
    ap.add_argument("--limit-s", type=float, default=0.5, help="list the reps announced later than this, s")
    args = ap.parse_args(argv)
    seeds = range(args.first_seed, args.first_seed + args.cases)
    print(f"Command: python bench/bench_reps_latency.py {' '.join(sys.argv[1:] if argv is None else argv)}")
    print()
    print("| seed | exercise | rep start s | rep end s | duration s | announced after its end, s |")
    print("|---|---|---|---|---|---|")
    latencies: list[float] = []
    for seed in seeds:
        res = run_case(make_scenario(seed, fast=args.fast), chunk_s=args.chunk_s)
        reps = [e for e in res.events if isinstance(e, RepEvent)]
        latencies += res.latencies_s
        for rep, lat in zip(reps, res.latencies_s, strict=True):
            if lat > args.limit_s:
                print(
                    f"| {seed} | {rep.exercise} | {rep.t_start_s:.2f} | {rep.t_end_s:.2f} "
                    f"| {rep.t_end_s - rep.t_start_s:.2f} | {lat:.3f} |"
                )
    la = np.asarray(latencies)
    print()
    print(f"| sessions | reps | p50 s | p99 s | max s | over {args.limit_s:g} s |")
    print("|---|---|---|---|---|---|")
    print(
        f"| {seeds.start}-{seeds.stop - 1}{' (fast)' if args.fast else ''} | {la.size} "
        f"| {np.median(la):.3f} | {np.percentile(la, 99):.3f} | {la.max():.3f} | {int((la > args.limit_s).sum())} |"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
