"""The running pipeline alone on ``bench_running_speed.py``'s hour, for instruction counts (offline or chunked).

Timings on a shared machine are noisy; callgrind's instruction counts are not. Only the pipeline (``HipPipeline``
construction, its ``feed`` calls and ``finish``) runs inside ``operator.call``, so ``--toggle-collect=_operator_call``
counts it alone (not the simulation, the slicing into chunks nor the imports):

    OPENBLAS_NUM_THREADS=1 valgrind --tool=callgrind --toggle-collect=_operator_call \\
        --callgrind-out-file=/tmp/pipe.cg python bench/pipeline_instructions.py [--chunk N] [--minutes M]

``--chunk 0`` (default) feeds the first ``--minutes`` (default 60) in one call, otherwise ``N``-sample chunks
(the live path: 20 samples is one BLE notification batch; the default 2-s micro-batch collects them).
``callgrind_annotate /tmp/pipe.cg`` gives the count per function; the total is its "PROGRAM TOTALS" line.
"""

from __future__ import annotations

import argparse
import operator

from bench_running_speed import FS, make_data  # this script's folder is on sys.path

from sensor.pipeline.pipeline import HipPipeline


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chunk", type=int, default=0)
    ap.add_argument("--minutes", type=float, default=60.0)
    args = ap.parse_args(argv)
    whole = make_data(60.0)
    whole = whole.slice(0, min(len(whole), round(args.minutes * 60.0 * FS)))
    n = len(whole)
    pieces = [whole] if args.chunk <= 0 else whole.chunks(args.chunk)

    def run() -> int:
        p = HipPipeline(FS)
        events = [e for b in pieces for e in p.feed(b)]
        return len(events + p.finish())

    print(f"{n} samples in {len(pieces)} chunks: {operator.call(run)} events")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
