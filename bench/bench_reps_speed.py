"""Speed of the rep stage beside the running pipeline (same process, same data).

Data: one simulated hour at 208 Hz (stand, walk 10 min, run 20 min, then 25 sets of squats, lunges, step-ups,
bridges, hip thrusts, deadlifts, donkey kicks and sit-to-stands with rests). Offline: the whole hour in one call
(best of 2). Streaming: 20-sample chunks (~100 ms at 208 Hz), per-call cost. "RepStage alone" is fed the
pipeline's own pelvis-frame chunks, recorded once.

Run: ``python bench/bench_reps_speed.py [--minutes 60]``
"""

from __future__ import annotations

import argparse
import gc
import sys
import time

import numpy as np

from sensor.model import ImuBlock
from sensor.pipeline.pipeline import HipPipeline
from sensor.pipeline.reps import RepStage
from sensor.pipeline.reps.chunks import ChunkRecorder, concat_chunks, slice_chunk
from sensor.sim import ExerciseSet, Mounting, Rest, Running, Scenario, Segment, SensorModel, Standing, Walking, simulate
from sensor.sim.exercises import EXERCISES

FS = 208.0


def make_data(minutes: float) -> ImuBlock:
    segs: list[Segment] = [Standing(duration_s=10.0), Walking(duration_s=600.0), Running(duration_s=1200.0)]
    total = 1810.0
    names = list(EXERCISES)
    k = 0
    while total < minutes * 60.0:
        ex = names[k % len(names)]
        spec = EXERCISES[ex]  # type: ignore[index]
        side = {"one": "left", "alternate": "alternate", "both": None}[spec.sidedness]
        segs.append(Rest(duration_s=40.0, mode="fidget", posture=spec.start_posture))
        segs.append(ExerciseSet(exercise=ex, reps=12, side=side))  # type: ignore[arg-type]
        total += 40.0 + 12 * 4.0
        k += 1
    sc = Scenario(segments=segs, sensor=SensorModel(sampling_rate_hz=FS), mounting=Mounting(euler_deg=(180, 8, -12)))
    block = simulate(sc).block
    n = int(minutes * 60.0 * FS)
    return block.slice(0, min(n, len(block)))


def offline(block: ImuBlock, with_reps: bool) -> tuple[float, int]:
    best, n = float("inf"), 0
    for _ in range(2):
        gc.collect()
        t0 = time.perf_counter()
        p = HipPipeline(FS, stages=[RepStage()] if with_reps else [])
        ev = p.feed(block) + p.finish()
        best = min(best, time.perf_counter() - t0)
        n = sum(e.kind == "rep" for e in ev)
    return best, n


def streaming(block: ImuBlock, with_reps: bool, chunk: int = 20) -> tuple[float, float, float]:
    p = HipPipeline(FS, stages=[RepStage()] if with_reps else [])
    costs = []
    gc.collect()
    t_all = time.perf_counter()
    for b in block.chunks(chunk):
        t0 = time.perf_counter()
        p.feed(b)
        costs.append(time.perf_counter() - t0)
    p.finish()
    return time.perf_counter() - t_all, float(np.percentile(costs, 50)) * 1e6, float(np.percentile(costs, 99)) * 1e6


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=60.0)
    args = ap.parse_args(argv)
    print("command: python bench/bench_reps_speed.py " + " ".join(sys.argv[1:] if argv is None else argv))
    block = make_data(args.minutes)
    hours = (block.t_s[-1] - block.t_s[0]) / 3600.0
    print(f"data: {len(block)} samples, {hours * 60:.0f} min at {FS:.0f} Hz\n")
    rec = ChunkRecorder()
    p = HipPipeline(FS, stages=[rec])
    p.feed(block)
    p.finish()
    whole = concat_chunks(rec.chunks)
    rows: list[tuple[str, float, str]] = []
    t_run, _ = offline(block, with_reps=False)
    t_both, n_reps = offline(block, with_reps=True)
    best = float("inf")
    for _ in range(3):
        st = RepStage()
        t0 = time.perf_counter()
        st.feed(whole)
        st.finish()
        best = min(best, time.perf_counter() - t0)
    print("| offline, whole recording in one call | s per hour of data | x realtime |")
    print("|---|---|---|")
    for name, t in (
        ("running pipeline (HipPipeline)", t_run),
        (f"running pipeline + RepStage ({n_reps} reps found)", t_both),
        ("RepStage alone (on the pipeline's pelvis chunks)", best),
    ):
        print(f"| {name} | {t / hours:.3f} | {hours * 3600 / t:,.0f} |")
    print()
    s_run = streaming(block, with_reps=False)
    s_both = streaming(block, with_reps=True)
    costs = []
    st = RepStage()
    for a in range(0, len(whole), 20):
        piece = slice_chunk(whole, a, a + 20)
        t0 = time.perf_counter()
        st.feed(piece)
        costs.append(time.perf_counter() - t0)
    rows = [
        ("running pipeline (micro-batches 0.5 s internally)", s_run[0], f"{s_run[1]:.0f} / {s_run[2]:.0f}"),
        ("running pipeline + RepStage", s_both[0], f"{s_both[1]:.0f} / {s_both[2]:.0f}"),
        (
            "RepStage alone, 20-sample pelvis chunks",
            float(np.sum(costs)),
            f"{np.percentile(costs, 50) * 1e6:.0f} / {np.percentile(costs, 99) * 1e6:.0f}",
        ),
    ]
    print("| streaming, 20-sample chunks | s per hour of data | us per chunk p50 / p99 | x realtime |")
    print("|---|---|---|---|")
    for name, t, us in rows:
        print(f"| {name} | {t / hours:.2f} | {us} | {hours * 3600 / t:,.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
