"""Speed and memory of the running pipeline, with peers in the same process on the same data.

Run: ``python bench/bench_running_speed.py`` (``--minutes N`` for a shorter recording, ``--no-memory`` to skip
the 6-hour streaming test, ``--no-peers``). Needs the ``bench`` extra for the peers: ``pip install -e '.[bench]'``.

Data: one simulated hour (``--minutes``) of 208 Hz running after 10 s of quiet standing, realistic sensor errors,
a tilted sacral mounting (``sensor.sim``).

* Offline: ``HipPipeline.feed(whole block)`` + ``finish()``; best of 3 runs.
* Streaming: 20-sample chunks (a BLE notification batch) with the default micro-batch (2 s) and with the former
  default (0.5 s). Per chunk the wall time of ``feed``; per step the compute time of the ``feed`` call that
  returns it, and the algorithmic delay from the step's toe-off to that chunk's last sample. On a 5-minute slice
  the notification-to-metrics latency: how long after the chunk that completes a step's look-ahead (where a
  pipeline without micro-batching returns it) the step comes out (micro-batch wait, in stream time, plus compute).
* Times: wall clock and process CPU time (``time.process_time``, all threads), best of N. The machine is shared
  (2 cores, up to 8 sessions): wall times then include waiting for a core, CPU times much less so; compare
  ratios with the peers measured in the same process.
* Peers: imufusion's AHRS (C core, one Python call per sample, acceleration rejection off); ahrs' Madgwick and
  Mahony (pure Python loops: timed on a 2-minute slice and extrapolated to the hour, say so); scikit-digital-health's
  ``GaitLumbar`` (its whole lumbar gait pipeline, accelerometer only, on the same hour).
* Memory: RSS (``/proc/self/status`` VmRSS) after streaming 1 h and 6 h of input in 1 s chunks through one
  pipeline (the hour is replayed with shifted time stamps).
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sensor.events import StepEvent
from sensor.model import ImuBlock
from sensor.pipeline.pipeline import HipPipeline, PipelineConfig
from sensor.sim import Mounting, Running, Scenario, SensorModel, Standing, simulate

CMD = "python bench/bench_running_speed.py"
FS = 208.0


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def make_data(minutes: float) -> ImuBlock:
    sc = Scenario(
        segments=[Standing(duration_s=10.0), Running(duration_s=minutes * 60.0 - 10.0)],
        sensor=SensorModel(sampling_rate_hz=FS),
        mounting=Mounting(euler_deg=(180.0, 8.0, -12.0), lever_arm_m=(-0.10, 0.01, 0.02)),
        seed=11,
    )
    return simulate(sc).block


def offline(block: ImuBlock) -> tuple[float, float, int]:
    """Best wall and CPU seconds of 3 runs, and the step count."""
    best = best_cpu = float("inf")
    n_steps = 0
    for _ in range(3):
        gc.collect()
        t0, c0 = time.perf_counter(), time.process_time()
        p = HipPipeline(FS)
        ev = p.feed(block) + p.finish()
        best = min(best, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.process_time() - c0)
        n_steps = sum(isinstance(e, StepEvent) for e in ev)
    return best, best_cpu, n_steps


def orientation_only(block: ImuBlock) -> tuple[float, float]:
    """The orientation stage alone (what an AHRS does): up vector + pelvis roll/pitch, best wall and CPU of 3."""
    from sensor.pipeline.orientation import GravityFilter, pelvis_angles_deg

    r = np.eye(3)
    best = best_cpu = float("inf")
    for _ in range(3):
        t0, c0 = time.perf_counter(), time.process_time()
        u = GravityFilter(FS).feed(block.acc_mps2, block.gyr_radps)
        pelvis_angles_deg((r @ u.T).T)
        best = min(best, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    return best, best_cpu


def streaming(block: ImuBlock, chunk: int = 20, micro_batch_s: float | None = None) -> dict[str, float]:
    cfg = PipelineConfig() if micro_batch_s is None else PipelineConfig(micro_batch_s=micro_batch_s)
    p = HipPipeline(FS, cfg)
    chunk_s: list[float] = []
    lat_compute: list[float] = []
    lat_algo: list[float] = []
    chunks = block.chunks(chunk)  # the input is sliced before timing: it is the source's cost, not the pipeline's
    gc.collect()
    t_all, c_all = time.perf_counter(), time.process_time()
    for b in chunks:
        t0 = time.perf_counter()
        ev = p.feed(b)
        dt = time.perf_counter() - t0
        chunk_s.append(dt)
        for e in ev:
            if isinstance(e, StepEvent):
                lat_compute.append(dt)
                ref = e.t_toe_off_s if e.t_toe_off_s is not None else e.t_s
                lat_algo.append(float(b.t_s[-1]) - ref)
    p.finish()
    total = time.perf_counter() - t_all
    total_cpu = time.process_time() - c_all
    steady = np.array(lat_algo[20:])  # after the warm-up hold-back at the very start
    return {
        "total_s": total,
        "cpu_s": total_cpu,
        "chunk_p50_us": float(np.percentile(chunk_s, 50) * 1e6),
        "chunk_p99_us": float(np.percentile(chunk_s, 99) * 1e6),
        "step_compute_p99_ms": float(np.percentile(lat_compute, 99) * 1e3),
        "step_delay_p50_s": float(np.median(steady)),
        "step_delay_p99_s": float(np.percentile(steady, 99)),
    }


def emission_latency(block: ImuBlock, chunk: int = 20) -> dict[str, float]:
    """Notification-to-metrics latency of each step (steady state): micro-batch wait plus the compute of its call.

    The reference is the same stream through a pipeline without micro-batching (``micro_batch_s=0``): the chunk
    after which it returns a step is the one that completes the step's look-ahead (the notification it waited for).
    """
    chunks = block.chunks(chunk)

    def run(cfg: PipelineConfig) -> dict[float, tuple[float, float]]:
        p = HipPipeline(FS, cfg)
        out: dict[float, tuple[float, float]] = {}
        for b in chunks:
            t0 = time.perf_counter()
            ev = p.feed(b)
            dt = time.perf_counter() - t0
            for e in ev:
                if isinstance(e, StepEvent):
                    out[e.t_s] = (float(b.t_s[-1]), dt)
        return out

    ref = run(PipelineConfig(micro_batch_s=0.0))
    got = run(PipelineConfig())
    lat = np.array([got[k][0] - ref[k][0] + got[k][1] for k in sorted(ref) if k in got][20:])
    return {"p50_s": float(np.median(lat)), "p99_s": float(np.percentile(lat, 99)), "max_s": float(lat.max())}


def imufusion_job(block: ImuBlock) -> Callable[[], None]:
    """imufusion's AHRS over ``block`` (per-sample calls, its C core), as the peer every speed bench times: the unit
    conversion done here, once; the returned job builds the filter and runs it over every sample."""
    import imufusion

    acc_g = block.acc_mps2 / 9.80665
    assert block.gyr_radps is not None
    gyr_dps = np.degrees(block.gyr_radps)

    def job() -> None:
        ahrs = imufusion.Ahrs()
        settings = imufusion.AhrsSettings()
        settings.convention = imufusion.CONVENTION_NWU
        settings.gain = 0.5
        settings.gyroscope_range = 2000.0
        settings.acceleration_rejection = 0.0  # its default rejection fails in running (peers.md)
        settings.magnetic_rejection = 0.0
        settings.sample_rate = int(FS)
        ahrs.set_settings(settings)
        for g, a in zip(gyr_dps, acc_g, strict=True):  # imufusion 0.4: the sample period comes from the settings
            ahrs.update_no_magnetometer(g, a)

    return job


def peers(block: ImuBlock) -> list[tuple[str, float, float, str]]:
    """(name, wall s per hour, CPU s per hour, note) of each peer on the same data."""
    out: list[tuple[str, float, float, str]] = []
    hours = len(block) / FS / 3600.0
    acc_g = block.acc_mps2 / 9.80665
    assert block.gyr_radps is not None
    nan = float("nan")
    try:
        run_imufusion = imufusion_job(block)
        t0, c0 = time.perf_counter(), time.process_time()
        run_imufusion()
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        out.append(("imufusion.Ahrs (per-sample call)", wall / hours, cpu / hours, "whole hour"))
    except Exception as exc:  # the peer is optional
        out.append((f"imufusion: {type(exc).__name__}: {exc}", nan, nan, ""))
    try:
        from ahrs.filters import Madgwick, Mahony

        n = int(120 * FS)
        for name, cls in (("ahrs Madgwick", Madgwick), ("ahrs Mahony", Mahony)):
            t0, c0 = time.perf_counter(), time.process_time()
            cls(gyr=block.gyr_radps[:n], acc=block.acc_mps2[:n], frequency=FS)
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            k = len(block) / n / hours
            out.append((name, wall * k, cpu * k, "2-min slice, extrapolated"))
    except Exception as exc:
        out.append((f"ahrs: {type(exc).__name__}: {exc}", nan, nan, ""))
    try:
        from skdh.gait import GaitLumbar

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t0, c0 = time.perf_counter(), time.process_time()
            GaitLumbar().predict(time=block.t_s + 1.7e9, accel=acc_g, fs=FS, height=1.75)
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            out.append(("skdh GaitLumbar (acc only)", wall / hours, cpu / hours, "whole hour"))
    except Exception as exc:
        out.append((f"skdh: {type(exc).__name__}: {exc}", nan, nan, ""))
    return out


def memory(block: ImuBlock, hours: int = 6) -> list[tuple[float, float]]:
    p = HipPipeline(FS)
    span = float(block.t_s[-1] - block.t_s[0]) + 1.0 / FS
    n = len(block)
    rows: list[tuple[float, float]] = []
    gc.collect()
    rows.append((0.0, rss_mb()))
    for h in range(hours):
        for b in block.chunks(int(FS)):
            shifted = ImuBlock(
                b.sensor_id, b.t_s + h * span, b.acc_mps2, b.gyr_radps, b.sample_index + h * n, b.missing_before
            )
            p.feed(shifted)
        gc.collect()
        rows.append(((h + 1) * span / 3600.0, rss_mb()))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--no-memory", action="store_true")
    ap.add_argument("--no-peers", action="store_true")
    args = ap.parse_args()
    block = make_data(args.minutes)
    hours = len(block) / FS / 3600.0
    print(f"## Speed on {hours * 60:.0f} min of simulated 208 Hz running (reproduce: {CMD})")
    off, off_cpu, n_steps = offline(block)
    ori, ori_cpu = orientation_only(block)
    stream = streaming(block)
    stream2 = streaming(block, micro_batch_s=0.5)
    lat = emission_latency(block.slice(0, min(len(block), int(300 * FS))))
    print("| what | s per hour of data (wall) | x realtime (wall) | CPU s per hour | x realtime (CPU) | notes |")
    print("|---|---|---|---|---|---|")

    def row(name: str, wall: float, cpu: float, note: str) -> None:
        print(
            f"| {name} | {wall / hours:.3f} | {hours * 3600 / wall:,.0f} | {cpu / hours:.3f} | "
            f"{hours * 3600 / cpu:,.0f} | {note} |"
        )

    row("HipPipeline offline (one block)", off, off_cpu, f"{n_steps} steps, best of 3")
    row("HipSense orientation stage alone (AHRS part)", ori, ori_cpu, "GravityFilter + roll/pitch, best of 3")
    row(
        "HipPipeline streaming, 20-sample chunks",
        stream["total_s"],
        stream["cpu_s"],
        f"default micro_batch_s=2; feed p50 {stream['chunk_p50_us']:.0f} us, p99 {stream['chunk_p99_us']:.0f} us",
    )
    row(
        "HipPipeline streaming, 20-sample chunks, micro_batch_s=0.5",
        stream2["total_s"],
        stream2["cpu_s"],
        f"the former default; algorithmic delay p99 {stream2['step_delay_p99_s']:.2f} s",
    )
    if not args.no_peers:
        for name, s_per_h, cpu_per_h, note in peers(block):
            ok = np.isfinite(s_per_h) and s_per_h > 0 and cpu_per_h > 0
            xr = 3600.0 / s_per_h if ok else float("nan")
            xc = 3600.0 / cpu_per_h if ok else float("nan")
            ratio = cpu_per_h / (off_cpu / hours) if ok else float("nan")
            print(
                f"| {name} | {s_per_h:.3f} | {xr:,.0f} | {cpu_per_h:.3f} | {xc:,.0f} | {note}; "
                f"{ratio:.1f}x HipPipeline offline CPU time |"
            )
    print(
        f"\nstep latency (streaming): compute p99 {stream['step_compute_p99_ms']:.2f} ms after the chunk arrives; "
        f"delay from toe-off to the chunk whose feed returns the step (look-ahead + micro-batch): median "
        f"{stream['step_delay_p50_s']:.2f} s, p99 {stream['step_delay_p99_s']:.2f} s"
    )
    print(
        "notification-to-metrics latency (5-min slice, default micro-batch): from the chunk that completes a step's "
        f"look-ahead to its step event: median {lat['p50_s']:.2f} s, p99 {lat['p99_s']:.2f} s, max {lat['max_s']:.2f} s"
    )
    if not args.no_memory:
        rows = memory(block)
        print("\n| streamed input (h) | RSS (MB) |")
        print("|---|---|")
        for h, mb in rows:
            print(f"| {h:.1f} | {mb:.1f} |")


if __name__ == "__main__":
    main()
