"""Paired speed A/B in one process: the working tree's ``sensor`` against an earlier git revision, and imufusion.

On a shared or noisy machine separate bench runs can differ by more than a code change does (imufusion's own time
has varied 0.65-1.23 s per hour between runs here). This script puts both versions in one process and alternates
them round by round on the same data, so both see the same machine state; the paired ratio per round is the figure
to read. The earlier revision is extracted with ``git archive`` into a temporary folder and imported as the package
``sensor_rev`` (its ``sensor`` imports rewritten), beside the working tree's ``sensor``.

Jobs per round (CPU seconds per hour of data, offline, whole hour in one call):
- running pipeline alone on ``bench_running_speed.py``'s hour (10 s standing, then running), and imufusion's AHRS
  on the same samples (per-sample calls, as in ``bench_running_speed.py``);
- running pipeline + RepStage on ``bench_reps_speed.py``'s mixed hour (walk, run, 25 sets with rests).

Run: ``python bench/bench_speed_ab.py [--rev main] [--rounds 8] [--minutes 60]``
"""

from __future__ import annotations

import argparse
import gc
import importlib
import io
import re
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

import bench_reps_speed  # noqa: E402
import bench_running_speed  # noqa: E402

from sensor.pipeline.pipeline import HipPipeline  # noqa: E402
from sensor.pipeline.reps import RepStage  # noqa: E402

FS = 208.0
_IMPORT = re.compile(r"\b(from|import) sensor\b")


def load_revision(rev: str, into: Path) -> Any:
    """``git archive REV sensor`` into ``into/sensor_rev`` with its own imports renamed; returns the package."""
    raw = subprocess.run(["git", "-C", str(REPO), "archive", rev, "sensor"], check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
        tar.extractall(into, filter="data")
    (into / "sensor").rename(into / "sensor_rev")
    for path in (into / "sensor_rev").rglob("*.py"):
        text = path.read_text()
        path.write_text(_IMPORT.sub(r"\1 sensor_rev", text.replace("from sensor.", "from sensor_rev.")))
    sys.path.insert(0, str(into))
    return importlib.import_module("sensor_rev")


def cpu_s(job: Callable[[], object]) -> float:
    gc.collect()
    c0 = time.process_time()
    job()
    return time.process_time() - c0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rev", default="main", help="the git revision to compare against (default: main)")
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--minutes", type=float, default=60.0)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="hipsense-ab-") as tmp:
        load_revision(a.rev, Path(tmp))
        from sensor_rev.model import ImuBlock as ImuBlockRev  # type: ignore[import-not-found]
        from sensor_rev.pipeline.pipeline import HipPipeline as HipPipelineRev  # type: ignore[import-not-found]
        from sensor_rev.pipeline.reps import RepStage as RepStageRev  # type: ignore[import-not-found]

        run_hour = bench_running_speed.make_data(a.minutes)
        mixed_hour = bench_reps_speed.make_data(a.minutes)

        def as_rev(b: Any) -> Any:
            return ImuBlockRev(b.sensor_id, b.t_s, b.acc_mps2, b.gyr_radps, b.sample_index, b.missing_before)

        run_rev, mixed_rev = as_rev(run_hour), as_rev(mixed_hour)

        def offline(pipeline: Any, block: Any, stage: Any = None) -> Callable[[], object]:
            def job() -> object:
                p = pipeline(FS, stages=[stage()] if stage is not None else [])
                return p.feed(block) + p.finish()

            return job

        imufusion_job = bench_running_speed.imufusion_job(run_hour)

        jobs: dict[str, Callable[[], object]] = {
            "rev": offline(HipPipelineRev, run_rev),
            "now": offline(HipPipeline, run_hour),
            "imufusion": imufusion_job,
            "rev+reps": offline(HipPipelineRev, mixed_rev, RepStageRev),
            "now+reps": offline(HipPipeline, mixed_hour, RepStage),
        }
        per_hour = 60.0 / a.minutes
        res: dict[str, list[float]] = {k: [] for k in jobs}
        for r in range(a.rounds):
            order = list(jobs) if r % 2 == 0 else ["now", "imufusion", "rev", "now+reps", "rev+reps"]
            for k in order:
                res[k].append(cpu_s(jobs[k]) * per_hour)
            print(f"round {r}: " + "  ".join(f"{k} {res[k][-1]:.3f}" for k in jobs), flush=True)
        x = {k: np.array(v) for k, v in res.items()}
        print(f"\n## Paired A/B in one process: working tree vs {a.rev} ({a.rounds} rounds, CPU s per hour of data)")
        print("| job | best s/h | x realtime (best) | median s/h |")
        print("|---|---|---|---|")
        for k in jobs:
            print(f"| {k} | {x[k].min():.3f} | {3600 / x[k].min():,.0f} | {np.median(x[k]):.3f} |")
        print()
        print(f"running pipeline, now / {a.rev}, paired median: {np.median(x['now'] / x['rev']):.3f}")
        print(
            f"running pipeline + RepStage, now / {a.rev}, paired median: {np.median(x['now+reps'] / x['rev+reps']):.3f}"
        )
        print(
            f"running pipeline / imufusion, median of the rounds: now {np.median(x['now'] / x['imufusion']):.3f}, "
            f"{a.rev} {np.median(x['rev'] / x['imufusion']):.3f}"
        )


if __name__ == "__main__":
    main()
