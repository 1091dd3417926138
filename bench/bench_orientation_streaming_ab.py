"""Same-process A/B of the streaming pipeline with the orientation module of other commits.

Run: ``python bench/bench_orientation_streaming_ab.py --before 45aeb33 --also 5d9c2f9^`` (``--minutes``, ``--reps``).

The bench's simulated running (``bench_running_speed.make_data``) in 20-sample chunks through ``HipPipeline`` with
the default 2-s and with 0.5-s micro-batches; per round each variant once, alternated, ``time.process_time``. Only
``sensor/pipeline/orientation.py`` differs between the variants (taken from git by ``git show REV:PATH``; the rest of
the pipeline is this checkout's), so the paired ratios isolate the orientation filter's streaming cost from the
load of a shared machine. Variants whose filter is not the same algorithm (e.g. before the block filter) give other
numbers; only their time is compared.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_running_speed import FS, make_data  # noqa: E402

import sensor.pipeline.orientation as here  # noqa: E402
import sensor.pipeline.pipeline as pl  # noqa: E402
from sensor.model import ImuBlock  # noqa: E402
from sensor.pipeline.pipeline import HipPipeline, PipelineConfig  # noqa: E402


def module_at(rev: str, tmp: Path) -> ModuleType:
    src = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{rev}:sensor/pipeline/orientation.py"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    path = tmp / f"orientation_{len(list(tmp.iterdir()))}.py"
    path.write_text(src)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None
    assert spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def run(mod: ModuleType, chunks: list[ImuBlock], micro_batch_s: float) -> float:
    pl.GravityFilter = mod.GravityFilter  # type: ignore[attr-defined]
    p = HipPipeline(FS, PipelineConfig(micro_batch_s=micro_batch_s))
    gc.collect()
    c0 = time.process_time()
    for b in chunks:
        p.feed(b)
    p.finish()
    return time.process_time() - c0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", required=True, help="git revision of the reference orientation module")
    ap.add_argument("--also", action="append", default=[], help="more revisions to time beside them")
    ap.add_argument("--minutes", type=float, default=20.0)
    ap.add_argument("--reps", type=int, default=6)
    args = ap.parse_args()
    chunks = make_data(args.minutes).chunks(20)
    seconds = args.minutes * 60.0
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        variants = {args.before: module_at(args.before, tmp), "this checkout": here}
        for rev in args.also:
            variants[rev] = module_at(rev, tmp)
        print(f"## Streaming A/B, 20-sample chunks, {args.minutes:g} min, {args.reps} rounds (x realtime CPU)")
        print("| micro_batch_s | orientation.py of | best | median | worst | paired CPU vs --before, median (range) |")
        print("|---|---|---|---|---|---|")
        for mb in (2.0, 0.5):
            cpu: dict[str, list[float]] = {k: [] for k in variants}
            for _ in range(args.reps):
                for k, mod in variants.items():
                    cpu[k].append(run(mod, chunks, mb))
            ref = np.array(cpu[args.before])
            for k, v in cpu.items():
                a = np.array(v)
                r = a / ref
                print(
                    f"| {mb:g} | {k} | {seconds / a.min():,.0f} | {seconds / np.median(a):,.0f} | "
                    f"{seconds / a.max():,.0f} | {np.median(r):.3f} ({r.min():.3f}-{r.max():.3f}) |"
                )


if __name__ == "__main__":
    main()
