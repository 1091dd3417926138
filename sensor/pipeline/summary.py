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
  with the normal quantile 1.96. All from running sums, so memory stays flat. The change against the run's
  first minutes is reported as ``baseline`` mean vs the latest rolling window by the consumer.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from sensor.events import Activity, RollingSummary, StepEvent

_BIN = 0.02
_LO, _HI = -20.0, 40.0
_NB = int((_HI - _LO) / _BIN)


@dataclass(slots=True)
class _Side:
    hist: np.ndarray = field(default_factory=lambda: np.zeros(_NB, dtype=np.int64))
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
        c = np.cumsum(self.hist)
        k = int(np.searchsorted(c, (self.n + 1) / 2.0))
        return _LO + (k + 0.5) * _BIN


class BoutSummary:
    """Running sums for one bout (see the module docstring)."""

    def __init__(self, threshold_deg: float) -> None:
        self.threshold = threshold_deg
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
        if self.t0 is None:
            self.t0 = ev.t_s
        self.t_last = ev.t_s
        self.activity = ev.activity
        self.steps += 1
        if ev.cadence_spm is not None:
            self.cad_sum += ev.cadence_spm
            self.cad_n += 1
        if ev.pelvic_drop_deg is None or ev.in_turn:
            return
        d = ev.pelvic_drop_deg
        side = self.sides[ev.side]
        dev = d - (side.sd / side.n if side.n else d)
        side.add(ev.t_s - self.t0, d)
        self.straight += 1
        self.above += int(d > self.threshold)
        if self._prev_dev is not None:
            self._lag += dev * self._prev_dev
            self._lag_n += 1
        self._prev_dev = dev

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
        ai = None
        if ml is not None and mr is not None and (abs(ml) + abs(mr)) / 2 >= 0.5 and (ml + mr) != 0:
            ai = 100.0 * (mr - ml) / ((mr + ml) / 2.0)
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

    def add(self, ev: StepEvent) -> None:
        self.steps.append(ev)
        while self.steps and self.steps[0].t_s <= ev.t_s - self.window_s:
            self.steps.popleft()

    def summary(self) -> RollingSummary | None:
        if not self.steps:
            return None
        b = BoutSummary(self.threshold)
        for ev in self.steps:
            b.add(ev)
        return b.summary(self.steps[-1].t_s, self.window_s)
