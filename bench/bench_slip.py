"""A clip that slips during a run: how fast the automatic mounting calibration follows it.

Run: ``python bench/bench_slip.py`` (``--seeds 1 2 3`` to choose the seeds, ``--minutes`` the running time).

The slip is made by :func:`sensor.sim.slip.slip_recording` from a simulated run: the error-free sensor-frame
readings (``SimResult.acc_true_mps2`` / ``gyr_true_radps``) are turned, from the slip on, by the clip's rotation
``C(t)`` about a pelvis axis (a smooth 0.3 s cosine ramp to the final angle, the gyroscope seeing the slip's own
rate ``theta'(t) k``), and the run's sensor errors are applied afterwards with the very realisation ``simulate``
uses (same noise, bias and quantisation). The true mounting after the slip is ``R_pelvis_from_sensor @ C``.

Scenario (as the accuracy bench's running rows): 10 s quiet standing, then running (5 / 8 deg drop on left / right
stance) for ``--minutes``, the slip after 5 min of running with no rest after it, 5 s standing at the end; the
sensor mounted 15 deg from a sacral clip about a random axis (per seed). Printed per case: the angle between the
mounting the pipeline applies and the true one, 30 s / 1 min / 2 min / 5 min / 10 min after the slip (the
whole rotation, and its vertical part: the angle between the V axes), and the drop RMSE over the matched straight
steps in 0-60 s, 60-300 s and 300 s-end after the slip. A run without a slip is the reference (every seed).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._eval import match
from sensor.events import StepEvent
from sensor.pipeline.calibration import Mounting as PipeMounting
from sensor.pipeline.calibration import rotation_angle_deg
from sensor.pipeline.pipeline import HipPipeline
from sensor.sim import Mounting, Running, Scenario, SensorModel, SimResult, Standing, simulate
from sensor.sim.slip import Slipped, axis_rotation, slip_recording
from sensor.sim.truth import StepsTruth

FloatArray = NDArray[np.float64]
CMD = "python bench/bench_slip.py"
AFTER_S = (30.0, 60.0, 120.0, 300.0, 600.0)


def run_scenario(seed: int, minutes: float, fs: float = 208.0, mount_deg: float = 15.0) -> Scenario:
    rng = np.random.default_rng(seed)
    axis = rng.normal(size=3)
    base = Mounting(euler_deg=(180.0, 0.0, 0.0)).r_pelvis_from_sensor()
    r = axis_rotation(axis / np.linalg.norm(axis), math.radians(mount_deg)) @ base
    angle = math.degrees(math.acos(max(-1.0, min(1.0, (np.trace(r) - 1) / 2))))
    w = np.array([r[2, 1] - r[1, 2], r[0, 2] - r[2, 0], r[1, 0] - r[0, 1]])
    mount = Mounting(axis_angle_deg=(*(w / np.linalg.norm(w)), angle), lever_arm_m=(-0.10, 0.01, 0.02))
    return Scenario(
        segments=[
            Standing(duration_s=10.0),
            Running(duration_s=60.0 * minutes, drop_left_deg=5.0, drop_right_deg=8.0),
            Standing(duration_s=5.0),
        ],
        sensor=SensorModel(sampling_rate_hz=fs),
        mounting=mount,
        seed=seed,
    )


@dataclass
class SlipResult:
    err_deg: dict[float, float]  # after s -> whole rotation error
    err_v_deg: dict[float, float]  # after s -> vertical error
    drop_rmse: dict[str, float]
    triggers: str  # the slips found: kind and delay after the slip
    cpu_s: float


def evaluate(res: SimResult, sl: Slipped) -> SlipResult:
    """Run the pipeline offline on the slipped recording; the applied mounting over time from the calibrator's
    updates (after the lock)."""
    fs = res.truth.sampling_rate_hz
    p = HipPipeline(fs)
    updates: list[tuple[int, PipeMounting]] = []
    orig = p.calibrator.feed_motion

    def spy(*a: object, **kw: object) -> list[tuple[int, PipeMounting]]:
        out = orig(*a, **kw)  # type: ignore[arg-type]
        updates.extend(out)
        return out

    p.calibrator.feed_motion = spy  # type: ignore[method-assign]
    t0 = time.process_time()
    ev = p.feed(sl.block) + p.finish()
    cpu = time.process_time() - t0
    lock_i = p.calibrator.lock_index or 0
    lock_m = p.calibrator.lock_mounting or p.calibrator.mounting
    sched = [(lock_i, lock_m)] + [(i, m) for i, m in updates if i > lock_i]
    idx = np.array([i for i, _ in sched])

    def applied(t_s: float) -> PipeMounting:
        j = int(np.searchsorted(idx, round(t_s * fs), side="right")) - 1
        return sched[max(j, 0)][1]

    err, err_v = {}, {}
    t_end = float(res.truth.t_s[-1]) - 5.0
    for a in AFTER_S:
        if sl.at_s + a > t_end:
            continue
        m = applied(sl.at_s + a)
        err[a] = rotation_angle_deg(m.r_pelvis_from_sensor, sl.r_after)
        cos_v = float(np.dot(m.r_pelvis_from_sensor[2], sl.r_after[2]))
        err_v[a] = math.degrees(math.acos(max(-1.0, min(1.0, cos_v))))
    steps = [e for e in ev if isinstance(e, StepEvent)]
    st = res.truth.steps
    te = np.array([s.t_s for s in steps])
    pe, pt = match(te, st.t_ic_s, 0.06)
    drop: dict[str, float] = {}
    for name, lo, hi in (("before", 0.0, sl.at_s), ("0-60", sl.at_s, sl.at_s + 60.0)):
        drop[name] = _rmse(steps, st, pe, pt, lo, hi)
    drop["60-300"] = _rmse(steps, st, pe, pt, sl.at_s + 60.0, sl.at_s + 300.0)
    drop["300-end"] = _rmse(steps, st, pe, pt, sl.at_s + 300.0, math.inf)
    found = getattr(p.calibrator, "slip_events", [])  # (main has no detector)
    triggers = ", ".join(f"{kind} {i / fs - sl.at_s:+.0f} s" for i, kind, _ in found) or "-"
    return SlipResult(err, err_v, drop, triggers, cpu)


def _rmse(
    steps: list[StepEvent], st: StepsTruth, pe: NDArray[np.int_], pt: NDArray[np.int_], lo: float, hi: float
) -> float:
    d = [
        float(drop) - float(st.pelvic_drop_deg[k])
        for i, k in zip(pe, pt, strict=True)
        if (drop := steps[i].pelvic_drop_deg) is not None
        and st.steady[k]
        and not st.in_turn[k]
        and lo <= st.t_ic_s[k] < hi
    ]
    return float(np.sqrt(np.mean(np.square(d)))) if d else math.nan


CASES = (
    ("none", "V", 0.0),
    ("V 15deg", "V", 15.0),
    ("V -15deg", "V", -15.0),
    ("V 8deg", "V", 8.0),
    ("AP 8deg", "AP", 8.0),
    ("AP -8deg", "AP", -8.0),
    ("ML 8deg", "ML", 8.0),
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--minutes", type=float, default=16.0, help="running time (the slip comes after 5 min)")
    ap.add_argument("--cases", nargs="+", default=[c[0] for c in CASES])
    args = ap.parse_args()
    print(
        "\n## Clip slip after 5 min of running, no rest after it (reproduce: "
        f"{CMD} --seeds {' '.join(map(str, args.seeds))})"
    )
    hdr = (
        "| case | seed | "
        + " | ".join(f"err {a:.0f} s" for a in AFTER_S)
        + " | V err 30 s / 2 min | drop RMSE before / 0-60 / 60-300 / 300-end s | slips found | CPU s |"
    )
    print(hdr)
    print("|" + "---|" * (hdr.count("|") - 1))
    for seed in args.seeds:
        res = simulate(run_scenario(seed, args.minutes))
        slip_s = 10.0 + 304.5  # after 5 min of running, between two of the detector's checks (every 10 s)
        for name, axis, deg in CASES:
            if name not in args.cases:
                continue
            r = evaluate(res, slip_recording(res, slip_s, axis, deg))  # type: ignore[arg-type]
            errs = " | ".join(f"{r.err_deg[a]:.1f}" if a in r.err_deg else "-" for a in AFTER_S)
            ev = f"{r.err_v_deg.get(30.0, math.nan):.1f} / {r.err_v_deg.get(120.0, math.nan):.1f}"
            dr = " / ".join(f"{r.drop_rmse[k]:.2f}" for k in ("before", "0-60", "60-300", "300-end"))
            print(f"| {name} | {seed} | {errs} | {ev} | {dr} | {r.triggers} | {r.cpu_s:.2f} |", flush=True)


if __name__ == "__main__":
    main()
