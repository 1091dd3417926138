"""Simulator and HipSense CSV speed on one hour of 208 Hz data (748,800 samples).

Prints a table with the median wall time and the median CPU time of the process (``time.process_time``; the box
is shared, so CPU time is the steadier figure), microseconds per sample and the real-time factor. Peers run in the
same process: ``numpy.savetxt`` for writing and the standard library's ``csv`` module for reading the same file.

    python bench/bench_sim.py [--hours 1.0] [--repeat 3]
"""

from __future__ import annotations

import argparse
import csv
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from sensor.model import ImuBlock
from sensor.sessions.hipsense_csv import read_csv, write_csv
from sensor.sim import ExerciseSet, Rest, Running, Scenario, Segment, Standing, Walking, simulate, simulate_stream
from sensor.sim.imu import SensorRealisation, pelvis_imu
from sensor.sim.kinematics import build

Row = tuple[str, float, float, int]


def _scenarios(hours: float) -> dict[str, Scenario]:
    total = 3600.0 * hours
    run = Scenario(name="run", segments=[Standing(duration_s=10.0), Running(duration_s=total - 10.0)])
    segments: list[Segment] = [Standing(duration_s=10.0)]
    cycle: list[Segment] = [
        Walking(duration_s=300.0),
        Running(duration_s=900.0, fatigue_left_deg_per_10min=2.0),
        ExerciseSet(exercise="squat", reps=12),
        Rest(duration_s=60.0),
        ExerciseSet(exercise="glute_bridge", reps=12),
        Rest(duration_s=60.0, posture="supine"),
        Standing(duration_s=60.0),
    ]
    t = 10.0
    while t < total - 1500.0:
        segments += cycle
        t += 1500.0
    segments.append(Standing(duration_s=max(total - t, 10.0)))
    return {"run": run, "mixed": Scenario(name="mixed", segments=segments)}


def _time(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    wall, cpu = [], []
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    return statistics.median(wall), statistics.median(cpu)


def _bench_scenario(name: str, sc: Scenario, repeat: int) -> tuple[list[Row], ImuBlock]:
    res = simulate(sc)
    n = res.truth.t_s.size
    seq = np.random.SeedSequence(0)
    kin = build(sc, seq)
    lever = np.asarray(sc.mounting.lever_arm_m)
    acc, gyr = pelvis_imu(kin.channels, lever)
    rows: list[Row] = [
        (f"simulate({name}) total", *_time(lambda: simulate(sc), repeat), n),
        (f"  kinematics + truth ({name})", *_time(lambda: build(sc, seq), repeat), n),
        (f"  rigid-body IMU ({name})", *_time(lambda: pelvis_imu(kin.channels, lever), repeat), n),
        (
            f"  sensor error model ({name})",
            *_time(
                lambda: SensorRealisation(sc.sensor, seq, float(kin.t_s[-1])).apply(0, kin.t_s, acc, gyr, "s"), repeat
            ),
            n,
        ),
        (f"  Truth.to_json ({name}, per-sample truth incl.)", *_time(res.truth.to_json, 1), n),
        (
            f"simulate_stream({name}), 10 s windows",
            *_time(lambda: sum(len(b) for b in simulate_stream(sc, chunk_samples=2080)), 1),
            n,
        ),
    ]
    return rows, res.block


def _bench_csv(block: ImuBlock, repeat: int) -> tuple[list[Row], float]:
    n = len(block)
    assert block.gyr_radps is not None
    data = np.column_stack([block.t_s, block.acc_mps2, block.gyr_radps])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "hour.csv"
        peer = Path(tmp) / "peer.csv"

        def csv_module() -> object:
            with path.open() as fh:
                rd = csv.reader(fh)
                next(rd)
                return np.array([[float(x) for x in row] for row in rd])

        rows: list[Row] = [
            ("write_csv (HipSense CSV)", *_time(lambda: write_csv(path, block), 1), n),
            ("  peer: numpy.savetxt", *_time(lambda: np.savetxt(peer, data, fmt="%.6f", delimiter=","), 1), n),
            ("read_csv (HipSense CSV, validated)", *_time(lambda: read_csv(path), repeat), n),
            ("  peer: csv module, float() per value", *_time(csv_module, 1), n),
        ]
        size_mb = path.stat().st_size / 1e6
    return rows, size_mb


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hours", type=float, default=1.0)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    rows: list[Row] = []
    block = None
    for name, sc in _scenarios(args.hours).items():
        r, block = _bench_scenario(name, sc, args.repeat)
        rows += r
    assert block is not None
    csv_rows, size_mb = _bench_csv(block, args.repeat)
    rows += csv_rows
    fs = 208.0
    print(f"{'operation':48s} {'wall s':>8s} {'cpu s':>8s} {'us/sample':>10s} {'x realtime':>11s}")
    for label, wall, cpu, n in rows:
        print(f"{label:48s} {wall:8.3f} {cpu:8.3f} {1e6 * cpu / n:10.3f} {n / fs / cpu:11.0f}")
    print(f"(us/sample and x realtime from CPU time; CSV of the last scenario: {size_mb:.1f} MB)")


if __name__ == "__main__":
    main()
