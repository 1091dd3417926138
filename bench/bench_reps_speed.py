"""Speed of the rep stage beside the running pipeline (same process, same data).

Data: one simulated hour at 208 Hz (stand, walk 10 min, run 20 min, then 25 sets of squats, lunges, step-ups,
bridges, hip thrusts, deadlifts, donkey kicks and sit-to-stands with rests). Offline: the whole hour in one call
(best of 2). Streaming: 20-sample chunks (~100 ms at 208 Hz), per-call cost, default configuration (2 s
micro-batches, shortened by the rep stage while it needs prompt input). "RepStage alone" is fed the pipeline's own
pelvis-frame chunks, recorded once (best of 3), on this hour and on the running hour of
``bench/bench_running_speed.py`` (10 s standing, then running: the gait veto holds almost throughout). Times are
wall clock and process CPU time (the machine is shared: wall times include waiting for a core). Rep latency: for
every rep, the stream time from its end (``t_end_s``) to the last sample of the 20-sample chunk whose ``feed``
returned it (issue 7: within 0.5 s).

Run: ``python bench/bench_reps_speed.py [--minutes 60]``
"""

from __future__ import annotations

import argparse
import gc
import math
import sys
import time

import numpy as np

from sensor.events import RepEvent
from sensor.model import ImuBlock
from sensor.pipeline.pipeline import HipPipeline
from sensor.pipeline.reps import RepStage
from sensor.pipeline.reps.chunks import ChunkRecorder, concat_chunks, slice_chunk
from sensor.pipeline.stage import PelvisChunk
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


def offline(block: ImuBlock, with_reps: bool) -> tuple[float, float, int]:
    best = best_cpu = float("inf")
    n = 0
    for _ in range(2):
        gc.collect()
        t0, c0 = time.perf_counter(), time.process_time()
        p = HipPipeline(FS, stages=[RepStage()] if with_reps else [])
        ev = p.feed(block) + p.finish()
        best = min(best, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.process_time() - c0)
        n = sum(e.kind == "rep" for e in ev)
    return best, best_cpu, n


def streaming(block: ImuBlock, with_reps: bool, chunk: int = 20) -> tuple[float, float, float, float, list[float]]:
    """Wall s, CPU s, p50 and p99 us per feed, and each rep's latency (stream time, s)."""
    p = HipPipeline(FS, stages=[RepStage()] if with_reps else [])
    costs = []
    lat: list[float] = []
    chunks = block.chunks(chunk)
    gc.collect()
    t_all, c_all = time.perf_counter(), time.process_time()
    for b in chunks:
        t0 = time.perf_counter()
        ev = p.feed(b)
        costs.append(time.perf_counter() - t0)
        lat.extend(float(b.t_s[-1]) - e.t_end_s for e in ev if isinstance(e, RepEvent))
    lat.extend(math.inf for e in p.finish() if isinstance(e, RepEvent))
    wall, cpu = time.perf_counter() - t_all, time.process_time() - c_all
    return wall, cpu, float(np.percentile(costs, 50)) * 1e6, float(np.percentile(costs, 99)) * 1e6, lat


def pelvis_chunk(block: ImuBlock) -> PelvisChunk:
    """The running pipeline's pelvis-frame stream of ``block``, as one chunk."""
    rec = ChunkRecorder()
    p = HipPipeline(FS, stages=[rec])
    p.feed(block)
    p.finish()
    return concat_chunks(rec.chunks)


def rep_stage_alone(whole: PelvisChunk) -> tuple[float, float]:
    """Best wall and CPU seconds of 3 runs of ``RepStage`` on the whole pelvis-frame stream in one call."""
    best = best_cpu = float("inf")
    for _ in range(3):
        gc.collect()
        st = RepStage()
        t0, c0 = time.perf_counter(), time.process_time()
        st.feed(whole)
        st.finish()
        best = min(best, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    return best, best_cpu


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=60.0)
    args = ap.parse_args(argv)
    print("command: python bench/bench_reps_speed.py " + " ".join(sys.argv[1:] if argv is None else argv))
    block = make_data(args.minutes)
    hours = (block.t_s[-1] - block.t_s[0]) / 3600.0
    print(f"data: {len(block)} samples, {hours * 60:.0f} min at {FS:.0f} Hz\n")
    from bench_running_speed import make_data as make_running_data  # this script's folder is on sys.path

    whole = pelvis_chunk(block)
    run_block = make_running_data(args.minutes)
    run_hours = (run_block.t_s[-1] - run_block.t_s[0]) / 3600.0
    t_run, c_run, _ = offline(block, with_reps=False)
    t_both, c_both, n_reps = offline(block, with_reps=True)
    best, best_cpu = rep_stage_alone(whole)
    best_r, best_cpu_r = rep_stage_alone(pelvis_chunk(run_block))
    print(
        "| offline, whole recording in one call | s per hour of data (wall) | x realtime (wall) | CPU s per hour "
        "| x realtime (CPU) |"
    )
    print("|---|---|---|---|---|")
    for name, t, c in (
        ("running pipeline (HipPipeline)", t_run, c_run),
        (f"running pipeline + RepStage ({n_reps} reps found)", t_both, c_both),
        ("RepStage alone (on the pipeline's pelvis chunks)", best, best_cpu),
    ):
        print(f"| {name} | {t / hours:.3f} | {hours * 3600 / t:,.0f} | {c / hours:.3f} | {hours * 3600 / c:,.0f} |")
    t, c = best_r, best_cpu_r
    print(
        f"| RepStage alone on {run_hours * 60:.0f} min of running (bench_running_speed's data) | {t / run_hours:.3f} "
        f"| {run_hours * 3600 / t:,.0f} | {c / run_hours:.3f} | {run_hours * 3600 / c:,.0f} |"
    )
    print()
    s_run = streaming(block, with_reps=False)
    s_both = streaming(block, with_reps=True)
    costs = []
    st = RepStage()
    c0 = time.process_time()
    for a in range(0, len(whole), 20):
        piece = slice_chunk(whole, a, a + 20)
        t0 = time.perf_counter()
        st.feed(piece)
        costs.append(time.perf_counter() - t0)
    c_alone = time.process_time() - c0
    rows = [
        ("running pipeline (default micro-batches)", s_run[0], s_run[1], f"{s_run[2]:.0f} / {s_run[3]:.0f}"),
        ("running pipeline + RepStage", s_both[0], s_both[1], f"{s_both[2]:.0f} / {s_both[3]:.0f}"),
        (
            "RepStage alone, 20-sample pelvis chunks",
            float(np.sum(costs)),
            c_alone,
            f"{np.percentile(costs, 50) * 1e6:.0f} / {np.percentile(costs, 99) * 1e6:.0f}",
        ),
    ]
    print(
        "| streaming, 20-sample chunks | s per hour of data (wall) | us per chunk p50 / p99 | x realtime (wall) "
        "| x realtime (CPU) |"
    )
    print("|---|---|---|---|---|")
    for name, t, c, us in rows:
        print(f"| {name} | {t / hours:.2f} | {us} | {hours * 3600 / t:,.0f} | {hours * 3600 / c:,.0f} |")
    lat = np.asarray(s_both[4])
    if lat.size:
        print(
            f"\nrep latency, end of rep -> the chunk returning it (running pipeline + RepStage, 20-sample chunks, "
            f"{lat.size} reps): p50 {np.percentile(lat, 50):.3f} s, p90 {np.percentile(lat, 90):.3f} s, p99 "
            f"{np.percentile(lat, 99):.3f} s, max {lat.max():.3f} s; over 0.5 s: {int((lat > 0.5).sum())}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
