"""Scoring detected sets and reps against reference sets and reps (simulator truth or hand labels).

Pure functions over plain arrays, used by the tests and by ``bench/bench_reps_accuracy.py``:

* a detected rep belongs to the reference set whose span (widened by ``margin_s``) holds its midpoint;
* a reference rep is matched to the detected rep whose midpoint is nearest to its own, within the reference rep;
* a reference set's recognised exercise is the exercise of the detected set that overlaps it most.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from sensor.events import RepEvent, SetEvent


@dataclass(frozen=True, slots=True)
class RefSet:
    t_start_s: float
    t_end_s: float
    exercise: str
    reps: int
    side: str | None = None


@dataclass(frozen=True, slots=True)
class RefRep:
    t_start_s: float
    t_end_s: float
    exercise: str
    side: str | None = None


@dataclass(frozen=True, slots=True)
class SetScore:
    ref: RefSet
    counted: int
    recognised: str | None
    confidence: float | None

    @property
    def count_error(self) -> int:
        return self.counted - self.ref.reps


@dataclass(slots=True)
class Score:
    sets: list[SetScore] = field(default_factory=list)
    boundary_errors_s: list[float] = field(default_factory=list)
    side_correct: int = 0
    side_total: int = 0
    extra_reps: int = 0
    """Detected reps outside every reference set (false reps)."""

    def extend(self, other: Score) -> None:
        self.sets.extend(other.sets)
        self.boundary_errors_s.extend(other.boundary_errors_s)
        self.side_correct += other.side_correct
        self.side_total += other.side_total
        self.extra_reps += other.extra_reps


def score(
    ref_sets: Sequence[RefSet],
    ref_reps: Sequence[RefRep],
    reps: Sequence[RepEvent],
    sets: Sequence[SetEvent],
    *,
    margin_s: float = 1.0,
) -> Score:
    """Compare detections with references (see the module docstring)."""
    out = Score()
    mids = np.array([(r.t_start_s + r.t_end_s) / 2.0 for r in reps])
    used = np.zeros(len(reps), dtype=bool)
    for rs in ref_sets:
        inside = (mids >= rs.t_start_s - margin_s) & (mids <= rs.t_end_s + margin_s) if mids.size else mids > 0
        used |= inside
        best: SetEvent | None = None
        best_overlap = 0.0
        for s in sets:
            ov = min(s.t_end_s, rs.t_end_s) - max(s.t_start_s, rs.t_start_s)
            if ov > best_overlap:
                best, best_overlap = s, ov
        out.sets.append(
            SetScore(
                rs,
                int(inside.sum()),
                None if best is None else best.exercise,
                None if best is None else best.exercise_confidence,
            )
        )
    out.extra_reps = int((~used).sum())
    for rr in ref_reps:
        if not mids.size:
            break
        mid = (rr.t_start_s + rr.t_end_s) / 2.0
        k = int(np.argmin(np.abs(mids - mid)))
        if not rr.t_start_s <= mids[k] <= rr.t_end_s:
            continue
        out.boundary_errors_s.append(abs(reps[k].t_start_s - rr.t_start_s))
        out.boundary_errors_s.append(abs(reps[k].t_end_s - rr.t_end_s))
        if rr.side is not None:
            out.side_total += 1
            out.side_correct += int(reps[k].side == rr.side)
    return out
