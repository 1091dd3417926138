"""The rep stage alone on the recorded pelvis-frame stream of ``bench_reps_speed.py``'s hour, for instruction counts.

Timings on a shared machine are noisy; callgrind's instruction counts are not. Only ``RepStage`` (its ``feed`` calls
and ``finish``) runs inside ``operator.call``, so ``--toggle-collect=_operator_call`` counts it alone (not the
simulation, the running pipeline, the slicing nor the imports):

    valgrind --tool=callgrind --toggle-collect=_operator_call --callgrind-out-file=/tmp/reps.cg \\
        python bench/reps_instructions.py [--data mixed|running] [--chunk N] [--from-min A] [--to-min B]

``--data mixed``: the hour of ``bench_reps_speed.py``; ``running``: the hour of ``bench_running_speed.py``.
``--chunk 0`` (default) feeds the whole stream in one call, otherwise ``N``-sample chunks. ``--cache FILE``: the
pelvis-frame stream is pickled there on the first run and read back on the next ones (the simulation and the running
pipeline then need not run under valgrind again; one cache file per ``--data``).
"""

from __future__ import annotations

import argparse
import operator
import pickle
from pathlib import Path

from bench_reps_speed import FS, make_data, pelvis_chunk  # this script's folder is on sys.path
from bench_running_speed import make_data as make_running_data

from sensor.pipeline.reps import RepStage
from sensor.pipeline.reps.chunks import slice_chunk


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", choices=["mixed", "running"], default="mixed")
    ap.add_argument("--chunk", type=int, default=0)
    ap.add_argument("--from-min", type=float, default=0.0)
    ap.add_argument("--to-min", type=float, default=60.0)
    ap.add_argument("--cache", type=Path, default=None)
    args = ap.parse_args(argv)
    if args.cache is not None and args.cache.exists():
        with args.cache.open("rb") as f:
            whole = pickle.load(f)  # a file this script wrote
    else:
        whole = pelvis_chunk((make_data if args.data == "mixed" else make_running_data)(60.0))
        if args.cache is not None:
            with args.cache.open("wb") as f:
                pickle.dump(whole, f)
    whole = slice_chunk(whole, int(args.from_min * 60.0 * FS), int(args.to_min * 60.0 * FS))
    n = len(whole)
    pieces = [whole] if args.chunk <= 0 else [slice_chunk(whole, a, a + args.chunk) for a in range(0, n, args.chunk)]

    def run() -> int:
        stage = RepStage()
        events = [e for p in pieces for e in stage.feed(p)]
        return len(events + stage.finish())

    print(f"{n} samples in {len(pieces)} chunks: {operator.call(run)} events")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
