"""Paired speed A/B of the running pipeline alone, offline and streaming, against a git revision, with imufusion.

As ``bench_speed_ab.py`` (whose ``load_revision`` it uses: the revision is extracted with ``git archive`` and
imported as ``sensor_rev``), on ``bench_running_speed.py``'s hour, both versions alternated round by round in one
process, CPU time (``time.process_time``):

- offline: ``HipPipeline(208).feed(the hour) + finish()``, and imufusion's AHRS on the same samples (per-sample
  calls, as in ``bench_running_speed.py``);
- streaming: the first ``--stream-minutes`` of the hour fed in ``--chunk``-sample chunks (20: one BLE
  notification batch; the default 2-s micro-batch), the chunks sliced before timing.

The paired ratio per round (this tree / the revision) is the figure to read on a shared machine.

Run: ``python bench/pipeline_speed_ab.py [--rev main] [--rounds 6] [--stream-minutes 10] [--chunk 20]``
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_running_speed
from bench_speed_ab import cpu_s, load_revision

from sensor.pipeline.pipeline import HipPipeline

FS = 208.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rev", default="main", help="the git revision to compare against (default: main)")
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--stream-minutes", type=float, default=10.0)
    ap.add_argument("--chunk", type=int, default=20)
    ap.add_argument("--no-imufusion", action="store_true")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="hipsense-ab-") as tmp:
        load_revision(a.rev, Path(tmp))
        from sensor_rev.model import ImuBlock as ImuBlockRev  # type: ignore[import-not-found]
        from sensor_rev.pipeline.pipeline import HipPipeline as HipPipelineRev  # type: ignore[import-not-found]

        hour = bench_running_speed.make_data(60.0)
        hour_rev = ImuBlockRev(hour.sensor_id, hour.t_s, hour.acc_mps2, hour.gyr_radps, hour.sample_index,
                               hour.missing_before)  # fmt: skip
        n_stream = round(a.stream_minutes * 60.0 * FS)
        chunks = hour.slice(0, n_stream).chunks(a.chunk)
        chunks_rev = hour_rev.slice(0, n_stream).chunks(a.chunk)

        def offline(pipeline: Any, block: Any) -> Callable[[], object]:
            def job() -> object:
                p = pipeline(FS)
                return p.feed(block) + p.finish()

            return job

        def streaming(pipeline: Any, pieces: list[Any]) -> Callable[[], object]:
            def job() -> object:
                p = pipeline(FS)
                out = [e for b in pieces for e in p.feed(b)]
                return out + p.finish()

            return job

        imufusion_job = bench_running_speed.imufusion_job(hour)

        jobs: dict[str, tuple[Callable[[], object], float]] = {  # (job, hours of data)
            "offline rev": (offline(HipPipelineRev, hour_rev), 1.0),
            "offline now": (offline(HipPipeline, hour), 1.0),
            "stream rev": (streaming(HipPipelineRev, chunks_rev), a.stream_minutes / 60.0),
            "stream now": (streaming(HipPipeline, chunks), a.stream_minutes / 60.0),
        }
        if not a.no_imufusion:
            jobs["imufusion"] = (imufusion_job, 1.0)
        res: dict[str, list[float]] = {k: [] for k in jobs}
        for r in range(a.rounds):
            order = list(jobs) if r % 2 == 0 else ["offline now", "offline rev", "stream now", "stream rev"]
            order += [k for k in jobs if k not in order]
            for k in order:
                job, hours = jobs[k]
                res[k].append(cpu_s(job) / hours)
            print(f"round {r}: " + "  ".join(f"{k} {res[k][-1]:.3f}" for k in jobs), flush=True)
        x = {k: np.array(v) for k, v in res.items()}
        n_chunks_h = 3600.0 * FS / a.chunk
        print(f"\n## Paired A/B in one process: working tree vs {a.rev} ({a.rounds} rounds, CPU s per hour of data)")
        print("| job | best s/h | x realtime (best) | median s/h | x realtime (median) |")
        print("|---|---|---|---|---|")
        for k in jobs:
            print(
                f"| {k} | {x[k].min():.3f} | {3600 / x[k].min():,.0f} | {np.median(x[k]):.3f} | "
                f"{3600 / np.median(x[k]):,.0f} |"
            )
        print()
        for kind in ("offline", "stream"):
            q = x[f"{kind} now"] / x[f"{kind} rev"]
            print(f"{kind}: now / {a.rev} paired median {np.median(q):.3f} (rounds {q.min():.3f}-{q.max():.3f})")
        per_chunk = {v: x[f"stream {v}"].min() / n_chunks_h * 1e6 for v in ("now", "rev")}
        print(
            f"streaming, {a.chunk}-sample chunks, CPU per chunk (best): now {per_chunk['now']:.1f} us, "
            f"{a.rev} {per_chunk['rev']:.1f} us"
        )
        if "imufusion" in x:
            for v in ("now", "rev"):
                q = x[f"offline {v}"] / x["imufusion"]
                print(
                    f"offline {v} / imufusion: median of the rounds {np.median(q):.3f}, best / best "
                    f"{x[f'offline {v}'].min() / x['imufusion'].min():.3f}"
                )


if __name__ == "__main__":
    main()
