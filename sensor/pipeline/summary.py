"""Rolling (last 30 s) and per-bout summaries of the steps, with the fatigue trend.

Steps in turns and steps without a drop value are left out of the drop figures (clinical studies measure
straight running; definitions.md); they still count in ``steps`` and cadence.

* Medians of drop on left- and right-stance steps. Per bout they come from fixed 0.02 deg histograms (O(1)
  memory over a 6-hour bout; the median is exact to 0.01 deg).
* Asymmetry index ``100 (R - L) / ((R + L) / 2)`` of the median drops (the symmetry index of Robinson et al.
  1987), + when the right-stance drop is larger. ``None`` when both medians are below 0.5 deg (the ratio is
  meaningless near zero).
* Share of straight steps whose drop exceeds the threshold (default 7 deg, see ``PipelineConfig``).
* Fatigue trend: ordinary least-squares slope of drop against time, per side about that side's mean (so leg
  asymmetry does not bias it), in deg per 10 min, over the whole bout; the 95 % confidence interval uses the
  slope's standard error inflated for the lag-1 autocorrelation of the drops (effective n = n (1 - r)/(1 + r)),
  with the normal quantile 1.96. All from running sums, so memory stays flat.
* Change against the run's first minutes: each rolling summary carries ``drop_change_from_start_deg``, the mean
  drop of its straight steps minus the mean of the bout's first ``fatigue_baseline_s`` (3 min by default).
"""

from __future__ import annotations

import math
import operator
from collections import deque
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from sensor.events import Activity, RollingSummary, StepEvent

_BIN = 0.02
_LO, _HI = -20.0, 40.0
_NB = int((_HI - _LO) / _BIN)


@dataclass(slots=True)
class _Side:
    hist: list[int] = field(default_factory=lambda: [0] * _NB)
    n: int = 0
    st: float = 0.0
    stt: float = 0.0
    sd: float = 0.0
    std: float = 0.0
    sdd: float = 0.0
    lag_prod: float = 0.0
    prev: float | None = None

    def add(self, t: float, d: float) -> None:
        self.hist[min(_NB - 1, max(0, int((d - _LO) / _BIN)))] += 1
        self.n += 1
        self.st += t
        self.stt += t * t
        self.sd += d
        self.std += t * d
        self.sdd += d * d

    def median(self) -> float | None:
        if self.n == 0:
            return None
        c = np.cumsum(np.asarray(self.hist))
        k = int(np.searchsorted(c, (self.n + 1) / 2.0))
        return _LO + (k + 0.5) * _BIN


class BoutSummary:
    """Running sums for one bout (see the module docstring)."""

    def __init__(self, threshold_deg: float, baseline_s: float = 180.0) -> None:
        self.threshold = threshold_deg
        self.baseline_s = baseline_s
        self._base_sum = 0.0
        self._base_n = 0
        self.sides = {"left": _Side(), "right": _Side()}
        self.steps = 0
        self.above = 0
        self.straight = 0
        self.cad_sum = 0.0
        self.cad_n = 0
        self.t0: float | None = None
        self.t_last = 0.0
        self.activity: Activity = "other"
        self._lag = 0.0
        self._lag_n = 0
        self._prev_dev: float | None = None

    def add(self, ev: StepEvent) -> None:
        self._add(ev.t_s, None if ev.in_turn else ev.pelvic_drop_deg, ev.side == "left", ev.cadence_spm, ev.activity)

    def _add(self, t: float, d: float | None, left: bool, cad: float | None, activity: Activity) -> None:
        """One step: its time, drop (None: not a straight step with a drop), stance side, cadence and activity."""
        t0 = self.t0
        if t0 is None:
            t0 = self.t0 = t
        self.t_last = t
        self.activity = activity
        self.steps += 1
        if cad is not None:
            self.cad_sum += cad
            self.cad_n += 1
        if d is None:
            return
        if t - t0 <= self.baseline_s:
            self._base_sum += d
            self._base_n += 1
        side = self.sides["left" if left else "right"]
        n = side.n
        sd = side.sd
        dev = d - (sd / n if n else d)
        # _Side.add, inlined (two calls per step); the bin clamped as min(_NB - 1, max(0, bin))
        b = int((d - _LO) / _BIN)
        side.hist[b if 0 <= b < _NB else (0 if b < 0 else _NB - 1)] += 1
        side.n = n + 1
        tr = t - t0
        side.st += tr
        side.stt += tr * tr
        side.sd = sd + d
        side.std += tr * d
        side.sdd += d * d
        self.straight += 1
        if d > self.threshold:
            self.above += 1
        prev = self._prev_dev
        if prev is not None:
            self._lag += dev * prev
            self._lag_n += 1
        self._prev_dev = dev

    def add_many(self, evs: list[StepEvent]) -> None:
        """:meth:`add` of each step in order, vectorised: every running sum is a sequential sum
        (``np.add.accumulate`` adds one value after the other, as the loop does), so the state is the same."""
        if len(evs) < _MIN_BATCH:
            for ev in evs:
                self.add(ev)
            return
        self.add_columns(StepColumns.of(evs), evs[-1].activity)

    def add_columns(self, cols: StepColumns, activity: Activity, a: int = 0, b: int | None = None) -> None:
        """:meth:`add_many` of the steps ``a:b`` of ``cols`` (the last of them of ``activity``): the same state."""
        b = len(cols.t) if b is None else b
        if b - a < _MIN_BATCH:
            for k in range(a, b):
                self._add(cols.t[k], cols.drop[k], cols.left[k], cols.cad[k], activity)
            return
        t_l = cols.t
        t0 = self.t0
        if t0 is None:
            t0 = self.t0 = t_l[a]
        self.t_last = t_l[b - 1]
        self.activity = activity
        self.steps += b - a
        cad = [c for c in cols.cad[a:b] if c is not None]
        if cad:
            self.cad_sum = _seq_sum(self.cad_sum, np.array(cad))
            self.cad_n += len(cad)
        straight = [
            (t, drop, left)
            for t, drop, left in zip(t_l[a:b], cols.drop[a:b], cols.left[a:b], strict=True)
            if drop is not None
        ]
        if not straight:
            return
        arr = np.array(straight)  # (steps, 3): t, drop, left stance (1.0 / 0.0)
        d = arr[:, 1]
        tr = arr[:, 0] - t0
        base = tr <= self.baseline_s
        if np.logical_or.reduce(base):  # (base.any(), base.sum(): the methods' cores, without their wrappers)
            self._base_sum = _seq_sum(self._base_sum, d[base])
            self._base_n += int(np.add.reduce(base))
        dev = np.empty(d.size)
        is_left = arr[:, 2] > 0.5
        for name, mask in (("left", is_left), ("right", ~is_left)):
            dd = d[mask]
            k = dd.size
            if k == 0:
                continue
            side = self.sides[name]
            trs = tr[mask]
            # the side's running mean before each step: sd (sequential sum) / n
            sd_run = np.add.accumulate(np.concatenate(([side.sd], dd)))
            n_before = side.n + np.arange(k)
            dev[mask] = dd - np.where(n_before > 0, sd_run[:-1] / np.maximum(n_before, 1), dd)
            bins = ((dd - _LO) / _BIN).astype(np.int64)  # int(): truncation toward zero, as astype
            hist = side.hist
            for b in np.minimum(_NB - 1, np.maximum(0, bins)).tolist():
                hist[b] += 1
            side.n += k
            side.st = _seq_sum(side.st, trs)
            side.stt = _seq_sum(side.stt, trs * trs)
            side.sd = float(sd_run[-1])
            side.std = _seq_sum(side.std, trs * dd)
            side.sdd = _seq_sum(side.sdd, dd * dd)
        self.straight += d.size
        self.above += int(np.add.reduce(d > self.threshold))
        prods = dev[1:] * dev[:-1]
        if self._prev_dev is not None:
            prods = np.concatenate(([dev[0] * self._prev_dev], prods))
        if prods.size:
            self._lag = _seq_sum(self._lag, prods)
            self._lag_n += prods.size
        self._prev_dev = float(dev[-1])

    @property
    def baseline_mean_deg(self) -> float | None:
        """Mean drop of the straight steps in the bout's first ``baseline_s`` (None before any)."""
        return self._base_sum / self._base_n if self._base_n else None

    def slope(self) -> tuple[float | None, tuple[float, float] | None]:
        """Pooled within-side OLS slope, deg per 10 min, and its 95 % CI."""
        sxx = sxy = syy = 0.0
        n = 0
        for s in self.sides.values():
            if s.n < 3:
                continue
            sxx += s.stt - s.st * s.st / s.n
            sxy += s.std - s.st * s.sd / s.n
            syy += s.sdd - s.sd * s.sd / s.n
            n += s.n
        if n < 10 or sxx <= 0:
            return None, None
        b = sxy / sxx
        sse = max(syy - b * sxy, 0.0)
        var_res = sse / max(n - 3, 1)
        r = 0.0
        if self._lag_n > 0 and syy > 0:
            r = max(0.0, min(0.95, (self._lag / self._lag_n) / (syy / n)))
        infl = (1 + r) / (1 - r)
        se = math.sqrt(var_res / sxx * infl)
        k = 600.0
        return b * k, (float((b - 1.96 * se) * k), float((b + 1.96 * se) * k))

    def summary(self, t_s: float, window_s: float | None) -> RollingSummary:
        ml = self.sides["left"].median()
        mr = self.sides["right"].median()
        ai = asymmetry_index_pct(ml, mr)
        slope, ci = self.slope() if window_s is None else (None, None)
        return RollingSummary(
            t_s=t_s,
            window_s=window_s,
            activity=self.activity,
            steps=self.steps,
            median_drop_left_deg=ml,
            median_drop_right_deg=mr,
            asymmetry_index_pct=ai,
            cadence_spm=self.cad_sum / self.cad_n if self.cad_n else None,
            share_above_threshold=self.above / self.straight if self.straight else None,
            fatigue_slope_deg_per_10min=slope,
            fatigue_slope_ci95_deg_per_10min=ci,
        )


class RollingWindow:
    """Steps of the last ``window_s`` seconds (bounded: a 30 s window holds at most ~110 steps)."""

    def __init__(self, window_s: float, threshold_deg: float) -> None:
        self.window_s = window_s
        self.threshold = threshold_deg
        self.steps: deque[StepEvent] = deque()
        # per step of ``steps``: (cadence or None, drop of a straight step or None, left stance)
        self._rows: deque[tuple[float | None, float | None, bool]] = deque()
        # the window's straight drops per side and its cadences, in step order, and how many drops exceed the
        # threshold: kept with the rows (a summary every 5 s then copies them instead of sorting the rows out)
        self._left: deque[float] = deque()
        self._right: deque[float] = deque()
        self._cad: deque[float] = deque()
        self._above = 0

    def add(self, ev: StepEvent) -> None:
        self.add_many([ev])

    def add_many(self, evs: list[StepEvent], cols: StepColumns | None = None, a: int = 0) -> None:
        """Add steps in order (with non-decreasing times, dropping the old steps once after the last one drops
        what dropping after each would). ``cols``: their columns, from step ``a`` on (made here otherwise)."""
        if not evs:
            return
        if len(evs) > 1:
            ts = [e.t_s for e in evs] if cols is None else cols.t[a : a + len(evs)]
            # a step earlier than the one before it (``q.t_s < p.t_s`` of each pair, as one C-level map: a
            # generator over the pairs cost ~2 % of the offline pipeline)
            if any(map(operator.lt, ts[1:], ts[:-1])):
                for ev in evs:
                    self.add(ev)
                return
        if cols is None:
            cols, a = StepColumns.of(evs), 0
        b = a + len(evs)
        self.steps.extend(evs)
        cad, drop, is_left = cols.cad[a:b], cols.drop[a:b], cols.left[a:b]
        self._rows.extend(zip(cad, drop, is_left, strict=True))
        self._cad.extend([c for c in cad if c is not None])
        self._left.extend([d for d, lf in zip(drop, is_left, strict=True) if d is not None and lf])
        self._right.extend([d for d, lf in zip(drop, is_left, strict=True) if d is not None and not lf])
        th = self.threshold
        self._above += sum([1 for d in drop if d is not None and d > th])
        self._drop_old(evs[-1].t_s)

    def _drop_old(self, t_s: float) -> None:
        old = t_s - self.window_s
        steps, rows = self.steps, self._rows
        while steps and steps[0].t_s <= old:
            steps.popleft()
            cad, d, is_left = rows.popleft()
            if cad is not None:
                self._cad.popleft()
            if d is not None:
                (self._left if is_left else self._right).popleft()
                if d > self.threshold:
                    self._above -= 1

    def straight_per_side(self) -> int:
        """The smaller count of straight steps with a drop value of the two sides."""
        return min(len(self._left), len(self._right))

    def summary(self, baseline_mean_deg: float | None = None) -> RollingSummary | None:
        """Exact medians over the window (plain numpy over at most ~110 steps).

        ``baseline_mean_deg``: the mean drop of the bout's first minutes, for ``drop_change_from_start_deg``.
        """
        if not self.steps:
            return None
        last = self.steps[-1]
        left, right, cad = list(self._left), list(self._right), list(self._cad)
        ml = _median(left) if left else None
        mr = _median(right) if right else None
        straight = len(left) + len(right)
        above = self._above
        change = None
        if baseline_mean_deg is not None and straight:
            change = _mean(left + right) - baseline_mean_deg
        # every 5 s of steps: built without pydantic's validation (the values are in range by construction), the
        # same object state as RollingSummary(...) with these fields
        ev = _new_summary(RollingSummary)
        _set_attr(
            ev,
            "__dict__",
            {
                "kind": "summary",
                "t_s": last.t_s,
                "window_s": float(self.window_s),
                "activity": last.activity,
                "steps": len(self.steps),
                "median_drop_left_deg": ml,
                "median_drop_right_deg": mr,
                "asymmetry_index_pct": asymmetry_index_pct(ml, mr),
                "cadence_spm": _mean(cad) if cad else None,
                "share_above_threshold": above / straight if straight else None,
                "fatigue_slope_deg_per_10min": None,
                "fatigue_slope_ci95_deg_per_10min": None,
                "drop_change_from_start_deg": change,
            },
        )
        _set_attr(ev, "__pydantic_fields_set__", set(_ROLLING_SET))
        _set_attr(ev, "__pydantic_extra__", None)
        _set_attr(ev, "__pydantic_private__", None)
        return ev


class StepColumns:
    """Per step of a list of step events, as plain lists: time, drop of a straight step (None for a step in a turn
    or without a drop), left stance, cadence (:meth:`of`, or appended to the lists one step at a time)."""

    __slots__ = ("cad", "drop", "left", "t")

    def __init__(self) -> None:
        self.t: list[float] = []
        self.drop: list[float | None] = []
        self.left: list[bool] = []
        self.cad: list[float | None] = []

    @classmethod
    def of(cls, evs: list[StepEvent]) -> StepColumns:
        out = cls()
        out.t = [ev.t_s for ev in evs]
        out.drop = [None if ev.in_turn else ev.pelvic_drop_deg for ev in evs]
        out.left = [ev.side == "left" for ev in evs]
        out.cad = [ev.cadence_spm for ev in evs]
        return out


_new_summary = RollingSummary.__new__
_set_attr = object.__setattr__
# the fields RollingWindow.summary passes (set), as RollingSummary(...) records them
_ROLLING_SET = frozenset(
    (
        "t_s",
        "window_s",
        "activity",
        "steps",
        "median_drop_left_deg",
        "median_drop_right_deg",
        "asymmetry_index_pct",
        "cadence_spm",
        "share_above_threshold",
        "drop_change_from_start_deg",
    )
)
_MIN_BATCH = 16  # fewer steps: BoutSummary.add_many adds them one by one (the numpy set-up costs more)


def _seq_sum(start: float, x: NDArray[np.float64]) -> float:
    """``start + x[0] + x[1] + ...`` added one after the other (as a Python loop does)."""
    return float(np.add.accumulate(np.concatenate(([start], x)))[-1])


def _median(x: list[float]) -> float:
    """``float(np.median(x))`` of a non-empty list without NaN: the middle value, or the mean of the two."""
    s = sorted(x)
    m = len(s) // 2
    return s[m] if len(s) % 2 else (s[m - 1] + s[m]) / 2.0


def _mean(x: list[float]) -> float:
    """``float(np.mean(x))`` of a non-empty list (numpy's pairwise sum, without np.mean's wrapper)."""
    return float(np.add.reduce(np.array(x))) / len(x)


def asymmetry_index_pct(left: float | None, right: float | None) -> float | None:
    """``100 (R - L) / ((R + L) / 2)``; ``None`` if a side is missing or both are below 0.5 deg."""
    if left is None or right is None or (abs(left) + abs(right)) / 2 < 0.5 or (left + right) == 0:
        return None
    return 100.0 * (right - left) / ((right + left) / 2.0)
