"""Shared evaluation helpers for the running benches: run the pipeline on a simulation and score it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sensor.events import StepEvent
from sensor.model import ImuBlock
from sensor.pipeline.pipeline import HipPipeline, PipelineConfig


def run_pipeline(block: ImuBlock, fs: float, chunk: int | None = None, config: PipelineConfig | None = None):
    p = HipPipeline(fs, config)
    ev = []
    if chunk is None:
        ev += p.feed(block)
    else:
        for b in block.chunks(chunk):
            ev += p.feed(b)
    ev += p.finish()
    return p, ev


def match(t_est: np.ndarray, t_true: np.ndarray, tol_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Greedy one-to-one matching of event times within ``tol_s`` (nearest first). Returns index pairs."""
    if t_est.size == 0 or t_true.size == 0:
        return np.zeros(0, int), np.zeros(0, int)
    j = np.searchsorted(t_true, t_est)
    cands = []
    for i, jj in enumerate(j):
        for k in (jj - 1, jj):
            if 0 <= k < t_true.size and abs(t_est[i] - t_true[k]) <= tol_s:
                cands.append((abs(t_est[i] - t_true[k]), i, k))
    cands.sort()
    used_e, used_t, pe, pt = set(), set(), [], []
    for _, i, k in cands:
        if i in used_e or k in used_t:
            continue
        used_e.add(i)
        used_t.add(k)
        pe.append(i)
        pt.append(k)
    order = np.argsort(pe)
    return np.array(pe, int)[order], np.array(pt, int)[order]


@dataclass
class SimScore:
    n_true: int
    n_est: int
    n_match: int
    f1: float
    side_acc: float
    ic_med_ms: float
    ic_p95_ms: float
    drop_rmse: float
    drop_bias: float
    n_drop: int


def score_sim(steps: list[StepEvent], truth, tol_s: float = 0.06, straight_only: bool = True) -> SimScore:
    st = truth.steps
    t_true = np.asarray(st.t_ic_s)
    t_est = np.array([s.t_s for s in steps])
    pe, pt = match(t_est, t_true, tol_s)
    n_m = pe.size
    prec = n_m / max(1, t_est.size)
    rec = n_m / max(1, t_true.size)
    f1 = 2 * prec * rec / max(1e-9, prec + rec)
    sides_ok = np.array([steps[i].side == st.side[k] for i, k in zip(pe, pt, strict=False)])
    err = np.array([steps[i].t_s - t_true[k] for i, k in zip(pe, pt, strict=False)]) * 1000
    sel = [
        (i, k)
        for i, k in zip(pe, pt, strict=False)
        if steps[i].pelvic_drop_deg is not None
        and np.isfinite(st.pelvic_drop_deg[k])
        and (not straight_only or (not st.in_turn[k] and st.steady[k]))
    ]
    d = np.array([steps[i].pelvic_drop_deg - st.pelvic_drop_deg[k] for i, k in sel]) if sel else np.zeros(0)
    return SimScore(
        t_true.size,
        t_est.size,
        n_m,
        f1,
        float(sides_ok.mean()) if n_m else float("nan"),
        float(np.median(np.abs(err))) if n_m else float("nan"),
        float(np.percentile(np.abs(err), 95)) if n_m else float("nan"),
        float(np.sqrt(np.mean(d**2))) if d.size else float("nan"),
        float(np.mean(d)) if d.size else float("nan"),
        int(d.size),
    )
