"""Speed and memory of the running pipeline, with peers in the same process on the same data.

Run: ``python bench/bench_running_speed.py`` (``--minutes N`` for a shorter recording, ``--no-memory`` to skip
the 6-hour streaming test, ``--no-peers``). Needs the ``bench`` extra for the peers: ``pip install -e '.[bench]'``.

Data: one simulated hour (``--minutes``) of 208 Hz running after 10 s of quiet standing, realistic sensor errors,
a tilted sacral mounting (``sensor.sim``).

* Offline: ``HipPipeline.feed(whole block)`` + ``finish()``; best of 3 runs.
* Streaming: 20-sample chunks (a BLE notification batch). Per chunk the wall time of ``feed``; per step the
  latency from the arrival of the chunk that completes the step's metrics to the step event (compute), and the
  algorithmic delay from the step's toe-off to that chunk's last sample (the look-ahead the step needs).
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


def offline(block: ImuBlock) -> tuple[float, int]:
    best = float("inf")
    n_steps = 0
    for _ in range(3):
        gc.collect()
        t0 = time.perf_counter()
        p = HipPipeline(FS)
        ev = p.feed(block) + p.finish()
        best = min(best, time.perf_counter() - t0)
        n_steps = sum(isinstance(e, StepEvent) for e in ev)
    return best, n_steps


def orientation_only(block: ImuBlock) -> float:
    """The orientation stage alone (what an AHRS does): up vector + pelvis roll/pitch, best of 3."""
    from sensor.pipeline.orientation import GravityFilter, pelvis_angles_deg

    r = np.eye(3)
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        u = GravityFilter(FS).feed(block.acc_mps2, block.gyr_radps)
        pelvis_angles_deg(u @ r.T)
        best = min(best, time.perf_counter() - t0)
    return best


def streaming(block: ImuBlock, chunk: int = 20, micro_batch_s: float = 0.5) -> dict[str, float]:
    p = HipPipeline(FS, PipelineConfig(micro_batch_s=micro_batch_s))
    chunk_s: list[float] = []
    lat_compute: list[float] = []
    lat_algo: list[float] = []
    chunks = block.chunks(chunk)  # the input is sliced before timing: it is the source's cost, not the pipeline's
    gc.collect()
    t_all = time.perf_counter()
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
    steady = np.array(lat_algo[20:])  # after the warm-up hold-back at the very start
    return {
        "total_s": total,
        "chunk_p50_us": float(np.percentile(chunk_s, 50) * 1e6),
        "chunk_p99_us": float(np.percentile(chunk_s, 99) * 1e6),
        "step_compute_p99_ms": float(np.percentile(lat_compute, 99) * 1e3),
        "step_delay_p50_s": float(np.median(steady)),
        "step_delay_p99_s": float(np.percentile(steady, 99)),
    }


def peers(block: ImuBlock) -> list[tuple[str, float, str]]:
    out: list[tuple[str, float, str]] = []
    hours = len(block) / FS / 3600.0
    acc_g = block.acc_mps2 / 9.80665
    assert block.gyr_radps is not None
    gyr_dps = np.degrees(block.gyr_radps)
    try:
        import imufusion

        ahrs = imufusion.Ahrs()
        settings = imufusion.AhrsSettings()
        settings.convention = imufusion.CONVENTION_NWU
        settings.gain = 0.5
        settings.gyroscope_range = 2000.0
        settings.acceleration_rejection = 0.0  # its default rejection fails in running (peers.md)
        settings.magnetic_rejection = 0.0
        settings.sample_rate = int(FS)
        ahrs.set_settings(settings)
        t0 = time.perf_counter()
        for g, a in zip(gyr_dps, acc_g, strict=True):  # imufusion 0.4: the sample period comes from the settings
            ahrs.update_no_magnetometer(g, a)
        out.append(("imufusion.Ahrs (per-sample call)", (time.perf_counter() - t0) / hours, "whole hour"))
    except Exception as exc:  # the peer is optional
        out.append((f"imufusion: {type(exc).__name__}: {exc}", float("nan"), ""))
    try:
        from ahrs.filters import Madgwick, Mahony

        n = int(120 * FS)
        for name, cls in (("ahrs Madgwick", Madgwick), ("ahrs Mahony", Mahony)):
            t0 = time.perf_counter()
            cls(gyr=block.gyr_radps[:n], acc=block.acc_mps2[:n], frequency=FS)
            el = time.perf_counter() - t0
            out.append((name, el * (len(block) / n) / hours, "2-min slice, extrapolated"))
    except Exception as exc:
        out.append((f"ahrs: {type(exc).__name__}: {exc}", float("nan"), ""))
    try:
        from skdh.gait import GaitLumbar

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t0 = time.perf_counter()
            GaitLumbar().predict(time=block.t_s + 1.7e9, accel=acc_g, fs=FS, height=1.75)
            out.append(("skdh GaitLumbar (acc only)", (time.perf_counter() - t0) / hours, "whole hour"))
    except Exception as exc:
        out.append((f"skdh: {type(exc).__name__}: {exc}", float("nan"), ""))
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
    off, n_steps = offline(block)
    ori = orientation_only(block)
    stream = streaming(block)
    stream2 = streaming(block, micro_batch_s=2.0)
    print("| what | s per hour of data | x realtime | notes |")
    print("|---|---|---|---|")
    print(
        f"| HipPipeline offline (one block) | {off / hours:.3f} | {hours * 3600 / off:,.0f} | "
        f"{n_steps} steps, best of 3 |"
    )
    print(
        f"| HipSense orientation stage alone (AHRS part) | {ori / hours:.3f} | {hours * 3600 / ori:,.0f} | "
        "GravityFilter + roll/pitch, best of 3 |"
    )
    print(
        f"| HipPipeline streaming, 20-sample chunks | {stream['total_s'] / hours:.3f} | "
        f"{hours * 3600 / stream['total_s']:,.0f} | default micro_batch_s=0.5; feed p50 "
        f"{stream['chunk_p50_us']:.0f} us, p99 {stream['chunk_p99_us']:.0f} us |"
    )
    print(
        f"| HipPipeline streaming, 20-sample chunks, micro_batch_s=2 | {stream2['total_s'] / hours:.3f} | "
        f"{hours * 3600 / stream2['total_s']:,.0f} | algorithmic delay p99 {stream2['step_delay_p99_s']:.2f} s |"
    )
    if not args.no_peers:
        for name, s_per_h, note in peers(block):
            ok = np.isfinite(s_per_h) and s_per_h > 0
            xr = 3600.0 / s_per_h if ok else float("nan")
            ratio = s_per_h / (off / hours) if ok else float("nan")
            print(f"| {name} | {s_per_h:.3f} | {xr:,.0f} | {note}; {ratio:.1f}x HipPipeline offline time |")
    print(
        f"\nstep latency (streaming): compute p99 {stream['step_compute_p99_ms']:.2f} ms after the chunk arrives; "
        f"algorithmic delay from toe-off to the chunk that completes the step: median "
        f"{stream['step_delay_p50_s']:.2f} s, p99 {stream['step_delay_p99_s']:.2f} s"
    )
    if not args.no_memory:
        rows = memory(block)
        print("\n| streamed input (h) | RSS (MB) |")
        print("|---|---|")
        for h, mb in rows:
            print(f"| {h:.1f} | {mb:.1f} |")


if __name__ == "__main__":
    main()
