"""Accuracy of the running pipeline: simulator truth over conditions, and real lower-back walking recordings.

Run: ``python bench/bench_running_accuracy.py`` (add ``--quick`` for fewer conditions, ``--no-real`` to skip the
recordings, ``--no-peer`` to skip scikit-digital-health). Prints one table per part; every row names the condition.

Simulator part: each condition is a fixed-seed scenario (quiet standing, then running or walking) simulated with
``sensor.sim``; the pipeline sees only ``SimResult.block`` (sensor frame, unknown mounting). Steps are matched to
the truth's initial contacts one-to-one within 60 ms. Drop RMSE is over matched, steady (not in a start/stop
ramp), straight (truth ``in_turn`` False) steps. The fatigue slope is the pipeline's bout trend against the same
estimator applied to the truth's per-step drops.

Real part: ``../shared/data/lowback-walking`` (Voisard et al. 2023; skipped when absent): initial contacts within
the trial boundaries, matched to the foot-sensor heel strikes within 60 ms; the stance side of every matched
step. The peer, scikit-digital-health's ``GaitLumbar`` (its default AP-CWT lumbar gait events), runs on the
same recordings in the same process with the same matching rule (it does not report sides).
The missed heel strikes and false detections are also counted by place (first, U-turn, closing steps, mid-walk)
and kind (undetected or a timing miss), see :func:`miss_groups`.

``--loso``: the walking rules whose constants were chosen on these recordings (gait initiation, lead-in steps,
see :mod:`sensor.pipeline.gait`) are re-chosen by leave-one-subject-out: per held-out subject, the configuration of
a grid with the best F1 on the other four is scored on it; the pooled held-out F1 is printed per rule.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import math
import sys
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._eval import match
from bench._lowback import DATA_DIR, SWAPPED_SIDE_LABELS, side_label_check, trials
from sensor.events import RollingSummary, StepEvent
from sensor.model import ImuBlock
from sensor.pipeline import gait
from sensor.pipeline.pipeline import HipPipeline
from sensor.pipeline.summary import BoutSummary
from sensor.sim import (
    Hill,
    Mounting,
    Running,
    Scenario,
    SensorModel,
    Standing,
    Turn,
    Walking,
    simulate,
)

CMD = "python bench/bench_running_accuracy.py"


@dataclass
class Cond:
    name: str
    fs: float = 208.0
    sensor: str = "realistic"  # ideal | realistic | biased
    mount_deg: float = 15.0
    activity: str = "running"
    seconds: float = 300.0
    turns: bool = False
    hills: bool = False
    fatigue: bool = False
    seed: int = 1


def _sensor(kind: str, fs: float) -> SensorModel:
    if kind == "ideal":
        return SensorModel.ideal(fs)
    if kind == "biased":  # 10x the default gyro turn-on bias (~3 deg/s) and 3x the accelerometer bias
        return SensorModel(sampling_rate_hz=fs, gyr_bias_sd_radps=0.05, acc_bias_sd_mps2=0.15)
    return SensorModel(sampling_rate_hz=fs)


def scenario(c: Cond) -> Scenario:
    rng = np.random.default_rng(c.seed)
    axis = rng.normal(size=3)
    # the sensor's nominal orientation on a sacral clip (x backward) turned by mount_deg about a random axis
    base = Mounting(euler_deg=(180.0, 0.0, 0.0)).r_pelvis_from_sensor()
    a = math.radians(c.mount_deg)
    k = axis / np.linalg.norm(axis)
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    rot = np.eye(3) + math.sin(a) * kx + (1 - math.cos(a)) * (kx @ kx)
    r = rot @ base
    angle = math.degrees(math.acos(max(-1.0, min(1.0, (np.trace(r) - 1) / 2))))
    w = np.array([r[2, 1] - r[1, 2], r[0, 2] - r[2, 0], r[1, 0] - r[0, 1]])
    mount = Mounting(axis_angle_deg=(*(w / np.linalg.norm(w)), angle), lever_arm_m=(-0.10, 0.01, 0.02))
    turns = (
        [Turn(at_s=60.0 * i + 40.0, angle_deg=90.0 * (-1) ** i, duration_s=3.0) for i in range(4)] if c.turns else []
    )
    hills = [Hill(at_s=120.0, duration_s=60.0, grade_pct=6.0)] if c.hills else []
    if c.activity == "walking":
        gait = Walking(duration_s=c.seconds, drop_left_deg=3.0, drop_right_deg=4.5, turns=turns, hills=hills)
    else:
        gait = Running(
            duration_s=c.seconds,
            drop_left_deg=5.0,
            drop_right_deg=8.0,
            fatigue_left_deg_per_10min=2.0 if c.fatigue else 0.0,
            fatigue_right_deg_per_10min=1.0 if c.fatigue else 0.0,
            turns=turns,
            hills=hills,
        )
    return Scenario(
        segments=[Standing(duration_s=10.0), gait, Standing(duration_s=5.0)],
        sensor=_sensor(c.sensor, c.fs),
        mounting=mount,
        seed=c.seed,
    )


def run_pipeline(block: ImuBlock, fs: float) -> tuple[HipPipeline, list[StepEvent], list[RollingSummary]]:
    p = HipPipeline(fs)
    ev = p.feed(block) + p.finish()
    steps = [e for e in ev if isinstance(e, StepEvent)]
    summaries = [e for e in ev if isinstance(e, RollingSummary) and e.window_s is None]
    return p, steps, summaries


def sim_row(c: Cond) -> dict[str, object]:
    sc = scenario(c)
    res = simulate(sc)
    t0 = time.perf_counter()
    p, steps, _ = run_pipeline(res.block, c.fs)
    dt = time.perf_counter() - t0
    st = res.truth.steps
    te = np.array([s.t_s for s in steps])
    pe, pt = match(te, st.t_ic_s, 0.06)
    f1 = 2 * pe.size / max(1, te.size + len(st))
    side = float(np.mean([steps[i].side == st.side[k] for i, k in zip(pe, pt, strict=True)])) if pe.size else math.nan
    ic_err = np.abs(te[pe] - st.t_ic_s[pt]) * 1000
    sel = [
        (i, k)
        for i, k in zip(pe, pt, strict=True)
        if steps[i].pelvic_drop_deg is not None and st.steady[k] and not st.in_turn[k]
    ]
    d = np.array([steps[i].pelvic_drop_deg - st.pelvic_drop_deg[k] for i, k in sel])  # type: ignore[operator]
    both = [(i, k) for i, k in sel if not steps[i].in_turn]
    d2 = np.array([steps[i].pelvic_drop_deg - st.pelvic_drop_deg[k] for i, k in both])  # type: ignore[operator]
    row: dict[str, object] = {
        "condition": c.name,
        "fs": c.fs,
        "steps": len(st),
        "F1": f1,
        "side": side,
        "ic_med_ms": float(np.median(ic_err)) if ic_err.size else math.nan,
        "ic_p95_ms": float(np.percentile(ic_err, 95)) if ic_err.size else math.nan,
        "drop_rmse": float(np.sqrt(np.mean(d**2))) if d.size else math.nan,
        "drop_rmse_flag": float(np.sqrt(np.mean(d2**2))) if d2.size else math.nan,
        "mount_conf": p.mounting.confidence,
        "s": dt,
    }
    if c.fatigue:
        truth_b = BoutSummary(7.0)
        est_b = BoutSummary(7.0)
        for k in range(len(st)):
            if st.activity[k] == "running" and st.steady[k] and not st.in_turn[k]:
                truth_b.add(
                    StepEvent(
                        t_s=float(st.t_ic_s[k]),
                        side=st.side[k],
                        pelvic_drop_deg=float(st.pelvic_drop_deg[k]),
                        confidence=1.0,
                    )
                )  # type: ignore[arg-type]
        for s in steps:
            if s.activity == "running":
                est_b.add(s)
        ts, _ = truth_b.slope()
        es, ci = est_b.slope()
        row["slope_truth"] = ts
        row["slope_est"] = es
        row["slope_ci"] = ci
    return row


def sim_conditions(quick: bool) -> list[Cond]:
    conds = [
        Cond("clean 0deg", sensor="ideal", mount_deg=0.0),
        Cond("clean 30deg", sensor="ideal", mount_deg=30.0),
        Cond("realistic 0deg", mount_deg=0.0),
        Cond("realistic 15deg", mount_deg=15.0),
        Cond("realistic 30deg", mount_deg=30.0, seed=2),
        Cond("realistic 52Hz", fs=52.0, mount_deg=20.0),
        Cond("realistic 104Hz", fs=104.0, mount_deg=20.0),
        Cond("realistic 416Hz", fs=416.0, mount_deg=20.0, seconds=180.0),
        Cond("10x gyro bias", sensor="biased", mount_deg=20.0),
        Cond("4 turns of 90deg", mount_deg=20.0, turns=True),
        Cond("hill 6%", mount_deg=20.0, hills=True),
        Cond("walking", activity="walking", mount_deg=20.0),
        Cond("fatigue 30 min", mount_deg=20.0, seconds=1800.0, fatigue=True),
    ]
    if quick:
        keep = {"clean 0deg", "realistic 30deg", "realistic 52Hz", "4 turns of 90deg", "walking"}
        conds = [c for c in conds if c.name in keep]
    return conds


def _f(x: object, fmt: str) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return format(x, fmt)


def print_sim(rows: list[dict[str, object]]) -> None:
    print("\n## Simulator truth (targets: drop RMSE <= 0.5 deg clean, <= 1.0 deg realistic; side >= 99.5 %;")
    print("## IC median |error| <= 10 ms; fatigue slope within 0.3 deg/10 min)")
    print(f"## reproduce: {CMD}")
    hdr = (
        "| condition | Hz | steps | IC F1 | side % | IC med/p95 ms | drop RMSE deg | (own turn flag) | mount conf | s |"
    )
    print(hdr)
    print("|" + "---|" * hdr.count("|")[:-1] if False else "|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['condition']} | {_f(r['fs'], '.0f')} | {r['steps']} | {_f(r['F1'], '.4f')} | "
            f"{_f(100 * float(r['side']), '.2f')} | {_f(r['ic_med_ms'], '.1f')}/{_f(r['ic_p95_ms'], '.1f')} | "
            f"{_f(r['drop_rmse'], '.2f')} | {_f(r['drop_rmse_flag'], '.2f')} | {_f(r['mount_conf'], '.2f')} | "
            f"{_f(r['s'], '.2f')} |"
        )
    for r in rows:
        if "slope_truth" in r:
            ci = r["slope_ci"]
            ci_s = "-" if ci is None else f"[{ci[0]:+.2f}, {ci[1]:+.2f}]"  # type: ignore[index]
            err = (
                float(r["slope_est"]) - float(r["slope_truth"])  # type: ignore[arg-type]
                if r["slope_est"] is not None and r["slope_truth"] is not None
                else math.nan
            )
            print(
                f"\nfatigue ({r['condition']}): truth {_f(r['slope_truth'], '+.2f')} deg/10 min, estimated "
                f"{_f(r['slope_est'], '+.2f')} (95 % CI {ci_s}), error {_f(err, '+.2f')}"
            )


def miss_groups(
    tt: np.ndarray, te: np.ndarray, pe: np.ndarray, pt: np.ndarray, uturn_s: tuple[float, float]
) -> dict[str, int]:
    """Where the unmatched heel strikes and detections of one trial lie.

    Missed heel strikes: ``first`` (the trial's first), ``end`` (the last two, after the U-turn: the closing foot
    placement and the one before), ``uturn`` (inside the annotated U-turn, +-50 ms), ``mid`` (the rest); each is
    also ``late``/``early`` when an unmatched detection lies 60-250 ms after/before it (a timing miss: one false and
    one missed step), else undetected. False detections: ``fp_timing`` (an unmatched heel strike within 250 ms) or
    ``fp_extra``.
    """
    out: dict[str, int] = {}
    miss = sorted(set(range(tt.size)) - set(pt.tolist()))
    extra = np.array(sorted(set(range(te.size)) - set(pe.tolist())), dtype=np.int64)
    u0, u1 = uturn_s
    for k in miss:
        t = tt[k]
        if k == 0:
            g = "first"
        elif k >= tt.size - 2 and t > u1:
            g = "end"
        elif u0 - 0.05 <= t <= u1 + 0.05:
            g = "uturn"
        else:
            g = "mid"
        d = te[extra] - t if extra.size else np.zeros(0)
        d = d[np.abs(d) <= 0.25]
        how = "undetected" if d.size == 0 else ("late" if d[np.argmin(np.abs(d))] > 0 else "early")
        out[f"{g} {how}"] = out.get(f"{g} {how}", 0) + 1
    lost = tt[miss] if miss else np.zeros(0)
    for j in extra.tolist():
        g = "fp_timing" if lost.size and np.min(np.abs(lost - te[j])) <= 0.25 else "fp_extra"
        out[g] = out.get(g, 0) + 1
    return out


def real_part(peer: bool) -> None:
    trs = trials()
    if not trs:
        print(f"\n## Real data: {DATA_DIR} not found, skipped")
        return
    print(f"\n## Real lower-back walking recordings ({DATA_DIR}; Voisard et al. 2023), IC within 60 ms of the")
    print(f"## foot-sensor heel strike (target F1 >= 0.98, side >= 97 %); reproduce: {CMD}")
    ours: dict[int, dict[str, list[float]]] = {}
    theirs: dict[int, dict[str, list[float]]] = {}
    t_ours = t_peer = 0.0
    dur = 0.0
    checks: dict[str, tuple[float, float]] = {}
    groups: dict[str, int] = {}
    for tr in trs:
        a, b = tr.trial_bounds
        hs = [(i / tr.fs, s) for i, s in tr.heel_strikes if a <= i <= b]
        tt = np.array([h[0] for h in hs])
        sides = [h[1] for h in hs]
        lo, hi = a / tr.fs - 0.06, b / tr.fs + 0.06
        dur += len(tr.block) / tr.fs
        t0 = time.perf_counter()
        _, steps, _ = run_pipeline(tr.block, tr.fs)
        t_ours += time.perf_counter() - t0
        steps = [s for s in steps if lo <= s.t_s <= hi]
        te = np.array([s.t_s for s in steps])
        pe, pt = match(te, tt, 0.06)
        o = ours.setdefault(tr.subject, {"tp": [], "fp": [], "fn": [], "side": [], "side_fix": [], "err": []})
        for g, v in miss_groups(tt, te, pe, pt, (tr.uturn[0] / tr.fs, tr.uturn[1] / tr.fs)).items():
            groups[g] = groups.get(g, 0) + v
        o["tp"].append(pe.size)
        o["fp"].append(te.size - pe.size)
        o["fn"].append(tt.size - pt.size)
        ok = [float(steps[i].side == sides[k]) for i, k in zip(pe, pt, strict=True)]
        o["side"] += ok
        o["side_fix"] += [1.0 - v for v in ok] if tr.name in SWAPPED_SIDE_LABELS else ok
        checks[tr.name] = side_label_check(tr)
        o["err"] += list((te[pe] - tt[pt]) * 1000)
        if peer:
            from skdh.gait import GaitLumbar

            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    r = GaitLumbar().predict(
                        time=tr.block.t_s + 1.7e9, accel=tr.block.acc_mps2 / 9.80665, fs=tr.fs, height=1.7
                    )
                    ic = np.asarray(r["IC Timestamp"], dtype=float) - 1.7e9
                except Exception:  # skdh finds no gait bout in some short trials
                    ic = np.zeros(0)
            t_peer += time.perf_counter() - t0
            ic = ic[(ic >= lo) & (ic <= hi)]
            pe2, pt2 = match(np.sort(ic), tt, 0.06)
            q = theirs.setdefault(tr.subject, {"tp": [], "fp": [], "fn": [], "err": []})
            q["tp"].append(pe2.size)
            q["fp"].append(ic.size - pe2.size)
            q["fn"].append(tt.size - pt2.size)
            q["err"] += list((np.sort(ic)[pe2] - tt[pt2]) * 1000)
    print(
        "| subject | trials | HipSense IC F1 | precision | recall | side % (as annotated) | side % (4-1/4-2 labels "
        "exchanged) | timing med / p95 abs err ms | bias ms | skdh IC F1 | skdh precision | skdh recall | "
        "skdh med / p95 ms |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")

    def prf(c: dict[str, int]) -> str:
        tp, fp, fn = c["tp"], c["fp"], c["fn"]
        return f"{2 * tp / max(1, 2 * tp + fp + fn):.3f} | {tp / max(1, tp + fp):.3f} | {tp / max(1, tp + fn):.3f}"

    def peer_cols(c: dict[str, int], err: list[float]) -> str:
        e2 = np.abs(err)
        return (
            f"{prf(c)} | {_f(float(np.median(e2)) if e2.size else math.nan, '.0f')} / "
            f"{_f(float(np.percentile(e2, 95)) if e2.size else math.nan, '.0f')}"
        )

    tot = {"tp": 0, "fp": 0, "fn": 0}
    tot2 = {"tp": 0, "fp": 0, "fn": 0}
    all_side: list[float] = []
    all_fix: list[float] = []
    all_err: list[float] = []
    all_err2: list[float] = []
    for subj in sorted(ours):
        o = ours[subj]
        c = {k: int(sum(o[k])) for k in ("tp", "fp", "fn")}
        for k in tot:
            tot[k] += c[k]
        e = np.abs(o["err"])
        all_side += o["side"]
        all_fix += o["side_fix"]
        all_err += list(o["err"])
        peer_s = "- | - | - | -"
        if subj in theirs:
            q = theirs[subj]
            c2 = {k: int(sum(q[k])) for k in ("tp", "fp", "fn")}
            for k in tot2:
                tot2[k] += c2[k]
            all_err2 += list(q["err"])
            peer_s = peer_cols(c2, q["err"])
        print(
            f"| {subj} | {len(o['tp'])} | {prf(c)} | {100 * np.mean(o['side']):.1f} | "
            f"{100 * np.mean(o['side_fix']):.1f} | "
            f"{np.median(e):.0f} / {np.percentile(e, 95):.0f} | {np.median(o['err']):+.0f} | {peer_s} |"
        )
    e = np.abs(all_err)
    peer_all = peer_cols(tot2, all_err2) if all_err2 else "- | - | - | -"
    print(
        f"| all | {sum(len(o['tp']) for o in ours.values())} | {prf(tot)} | {100 * np.mean(all_side):.1f} | "
        f"{100 * np.mean(all_fix):.1f} | {np.median(e):.0f} / {np.percentile(e, 95):.0f} | {np.median(all_err):+.0f} | "
        f"{peer_all} |"
    )
    # the reference labels, checked on the raw sensor signals (no pipeline): the sign of each cue is the same in
    # every trial whose labels are right
    sign = np.sign(np.median(list(checks.values()), axis=0))
    odd = {n: v for n, v in checks.items() if np.sign(v[0]) != sign[0] or np.sign(v[1]) != sign[1]}
    print(
        f"\nside labels checked on the raw signals (d' left - right: early-stance roll rate, ML acceleration): "
        f"{len(checks) - len(odd)} trials agree (median {np.median([v[0] for v in checks.values()]):+.1f}, "
        f"{np.median([v[1] for v in checks.values()]):+.1f}); reversed in "
        + (", ".join(f"{n} ({v[0]:+.1f}, {v[1]:+.1f})" for n, v in odd.items()) or "none")
        + f"; treated as exchanged: {', '.join(sorted(SWAPPED_SIDE_LABELS))}"
    )
    print(
        "\nwhere HipSense loses F1 (missed heel strikes by place, and whether an unmatched detection lies within"
        " 250 ms; false detections): " + ", ".join(f"{g} {groups[g]}" for g in sorted(groups))
    )
    print(f"\ncompute: HipSense {t_ours:.2f} s, skdh {t_peer:.2f} s for {dur:.0f} s of recordings (same process)")


# the walking rules whose constants were set on the recordings, and the grids they are re-chosen from by LOSO
# (the committed value is in every grid; LEAD_MAX_S 0 turns the lead-in rule off, WEAK_IC_FROM_PEAK 0 the weak-step IC
# rule, TURN_PROMINENCE_G 9 g the turn rule, WEAK_MAX_STEPS 9 the weak-step gap limit: the chain-break gap decides)
LOSO_GRIDS: dict[str, dict[str, list[float]]] = {
    "gait initiation (FIRST_STEP_MIN_RATIO)": {"FIRST_STEP_MIN_RATIO": [0.0, 0.75, 0.8, 0.85, 0.9, 0.95, 1.0]},
    "lead-in steps (LEAD_*)": {
        "LEAD_MAX_S": [0.0, 0.8, 1.0, 1.2],
        "LEAD_MIN_S": [0.4, 0.5],
        "LEAD_PROMINENCE_G": [0.05, 0.1, 0.15],
        "LEAD_MAX_STEPS": [1, 2],
    },
    "weak-step IC from the loading peak (WEAK_IC_*)": {
        "WEAK_IC_FROM_PEAK": [0, 1],
        "WEAK_IC_BEFORE_PEAK_S": [0.03, 0.04, 0.05, 0.06, 0.07],
    },
    "turn steps (TURN_PROMINENCE_G)": {"TURN_PROMINENCE_G": [9.0, 0.15, 0.175, 0.2, 0.225]},
    "weak-step gap (WEAK_MAX_STEPS)": {"WEAK_MAX_STEPS": [9.0, 1.3, 1.4, 1.5, 1.6]},
    # the turn per step over the last stride (gait17); set with the former since-last-step measure
    "weak-step turn limit (WEAK_MAX_TURN_DEG)": {"WEAK_MAX_TURN_DEG": [10.0, 15.0, 20.0, 25.0, 30.0]},
    "weak-step IC and turn steps jointly": {
        "WEAK_IC_FROM_PEAK": [0, 1],
        "WEAK_IC_BEFORE_PEAK_S": [0.03, 0.05, 0.06, 0.07],
        "TURN_PROMINENCE_G": [9.0, 0.15, 0.2],
    },
}


@contextlib.contextmanager
def _gait_constants(values: dict[str, float]) -> Iterator[None]:
    old = {k: getattr(gait, k) for k in values}
    for k, v in values.items():
        setattr(gait, k, type(old[k])(v))
    try:
        yield
    finally:
        for k, v in old.items():
            setattr(gait, k, v)


def loso_part() -> None:
    """Nested leave-one-subject-out F1 of the rules whose constants were chosen on the recordings."""
    trs = trials()
    if not trs:
        return
    print("\n## Leave-one-subject-out (per held-out subject: the grid configuration best on the other four)")
    subjects = sorted({tr.subject for tr in trs})
    for rule, grid in LOSO_GRIDS.items():
        configs = [dict(zip(grid, vals, strict=True)) for vals in itertools.product(*grid.values())]
        counts = []  # per configuration: subject -> [tp, fp, fn]
        for cfg in configs:
            per: dict[int, list[int]] = {s: [0, 0, 0] for s in subjects}
            with _gait_constants(cfg):
                for tr in trs:
                    a, b = tr.trial_bounds
                    tt = np.array([i / tr.fs for i, _ in tr.heel_strikes if a <= i <= b])
                    lo, hi = a / tr.fs - 0.06, b / tr.fs + 0.06
                    te = np.array([s.t_s for s in run_pipeline(tr.block, tr.fs)[1] if lo <= s.t_s <= hi])
                    pe, pt = match(te, tt, 0.06)
                    c = per[tr.subject]
                    c[0] += pe.size
                    c[1] += te.size - pe.size
                    c[2] += tt.size - pt.size
            counts.append(per)

        def f1(c: list[int]) -> float:
            return 2 * c[0] / max(1, 2 * c[0] + c[1] + c[2])

        pooled = [0, 0, 0]
        held: list[str] = []
        for s in subjects:
            train = [f1([sum(per[x][k] for x in subjects if x != s) for k in range(3)]) for per in counts]
            best = max(range(len(configs)), key=lambda j: (train[j], -j))
            c = counts[best][s]
            pooled = [pooled[k] + c[k] for k in range(3)]
            held.append(f"{s}: {f1(c):.3f} ({', '.join(f'{v:g}' for v in configs[best].values())})")
        committed = {k: getattr(gait, k) for k in grid}
        j0 = (
            configs.index({k: type(grid[k][0])(v) for k, v in committed.items()})
            if all(v in grid[k] for k, v in committed.items())
            else None
        )
        in_sample = f1([sum(counts[j0][x][k] for x in subjects) for k in range(3)]) if j0 is not None else math.nan
        print(
            f"{rule}: {len(configs)} configurations; held-out pooled F1 {f1(pooled):.3f} "
            f"({pooled[0]} matched / {pooled[1]} false / {pooled[2]} missed); committed values in-sample "
            f"{in_sample:.3f}; per held-out subject (choice): " + "; ".join(held)
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--no-real", action="store_true")
    ap.add_argument("--no-peer", action="store_true")
    ap.add_argument("--loso", action="store_true", help="leave-one-subject-out of the rules tuned on the recordings")
    args = ap.parse_args()
    rows = [sim_row(c) for c in sim_conditions(args.quick)]
    print_sim(rows)
    if not args.no_real:
        peer = not args.no_peer
        if peer:
            try:
                import skdh  # noqa: F401
            except ImportError:
                print("\n(skdh not installed: pip install -e '.[bench]'; peer skipped)")
                peer = False
        real_part(peer)
        if args.loso:
            loso_part()


if __name__ == "__main__":
    main()
