"""Activity per sample (standing, walking, running, other), quiet standing periods (neutral) and bouts.

* **Quiet** (standing still): exponential (0.5 s) mean squares of ``|acc| - g`` below (0.3 m/s^2)^2 and of the
  angular rate below (0.1 rad/s)^2; without gyroscope the acceleration test alone.
* **Walking / running**: the most recent step peak found by :mod:`sensor.pipeline.gait` lies within 1.5 s
  (only peaks whose look-ahead ended by that sample count, so the label is causal); its flight test says which.
* **Other**: moving without steps (exercises, sitting down, cycling ...).
* **Neutral**: the mean obliquity of each quiet period of at least 2 s (``sensor.definitions``: the latest
  such period before a step is that step's neutral).
* **Bouts**: a new activity must persist ``min_bout_s`` before the current bout ends (hysteresis).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from sensor.definitions import QUIET_STANDING_MIN_S
from sensor.events import Activity, BoutEvent
from sensor.frames import STANDARD_GRAVITY_MPS2
from sensor.pipeline.filters import StatefulFilter, row_dot
from sensor.pipeline.stage import ACTIVITY_LABELS, OTHER, RUNNING, STANDING, WALKING

FloatArray = NDArray[np.float64]


class QuietDetector:
    def __init__(self, sampling_rate_hz: float) -> None:
        a = float(np.exp(-1.0 / (0.5 * sampling_rate_hz)))
        self._ema_acc = StatefulFilter(np.array([1.0 - a]), np.array([1.0, -a]), steady_start=True)
        self._ema_gyr = StatefulFilter(np.array([1.0 - a]), np.array([1.0, -a]), steady_start=True)

    def feed(self, acc_mps2: FloatArray, gyr_radps: FloatArray | None) -> NDArray[np.bool_]:
        dev = np.sqrt(row_dot(acc_mps2, acc_mps2)) - STANDARD_GRAVITY_MPS2
        quiet = self._ema_acc(dev * dev) < 0.3**2
        if gyr_radps is not None:
            quiet &= self._ema_gyr(row_dot(gyr_radps, gyr_radps)) < 0.1**2
        return np.asarray(quiet)


@dataclass(slots=True)
class StandingPeriod:
    start: int
    end: int
    mean_roll_deg: float


class StandingTracker:
    """Quiet periods and their mean obliquity (streaming sums; keeps only the last few periods)."""

    def __init__(self, sampling_rate_hz: float) -> None:
        self.fs = sampling_rate_hz
        self._run_start: int | None = None
        self._sum = 0.0
        self._n = 0
        self.periods: list[StandingPeriod] = []

    def feed(self, start: int, quiet: NDArray[np.bool_], roll_deg: FloatArray | None) -> None:
        n = quiet.size
        if n == 0:
            return
        q = quiet.astype(np.int8)
        edges = (q[1:] != q[:-1]).nonzero()[0] + 1  # == np.diff(q) != 0, without np.diff's wrapper
        # one run (the usual live batch): no bounds array
        bounds = (0, n) if edges.size == 0 else np.concatenate([[0], edges, [n]]).tolist()
        for a, b in itertools.pairwise(bounds):
            if q[a]:
                if self._run_start is None:
                    self._run_start = start + int(a)
                    self._sum, self._n = 0.0, 0
                if roll_deg is not None:
                    self._sum += float(np.add.reduce(roll_deg[a:b]))  # (.sum(), without its wrapper)
                self._n += int(b - a)
            elif self._run_start is not None:
                self._close(start + int(a))

    def _close(self, end: int) -> None:
        if self._run_start is not None and self._n / self.fs >= QUIET_STANDING_MIN_S:
            self.periods.append(StandingPeriod(self._run_start, end, self._sum / self._n))
            del self.periods[:-4]
        self._run_start = None

    def neutrals_before(self, indices: list[float]) -> list[float | None]:
        """:meth:`neutral_before` of each index (one value for all when they all follow the latest period)."""
        periods = self.periods
        if indices and periods and min(indices) >= periods[-1].end:
            return [periods[-1].mean_roll_deg] * len(indices)
        return [self.neutral_before(i) for i in indices]

    def neutral_before(self, index: float) -> float | None:
        """Mean obliquity of the latest quiet period (>= 2 s) that ended before ``index``."""
        for p in reversed(self.periods):
            if p.end <= index:
                return p.mean_roll_deg
        return None


def label_samples(
    start: int,
    quiet: NDArray[np.bool_],
    peaks: list[tuple[int, bool]],
    lookahead: int,
    sampling_rate_hz: float,
) -> NDArray[np.int8]:
    """Causal per-sample activity codes (see the module docstring)."""
    n = quiet.size
    idx = np.arange(start, start + n)
    out = np.empty(n, dtype=np.int8)  # (np.full without its wrapper)
    out.fill(OTHER)
    if peaks:
        p_idx = np.array([p for p, _ in peaks], dtype=np.int64)
        p_run = np.array([r for _, r in peaks], dtype=bool)
        # k[i]: the last peak whose look-ahead ended by sample i (searchsorted(p_idx, idx - lookahead, "right") - 1),
        # by counting the peaks per sample where each becomes visible: the same integers, without a binary search
        # per sample
        # (peaks come in order; never relied on)
        if p_idx.size > 1 and bool(np.logical_or.reduce(p_idx[1:] < p_idx[:-1])):
            k = np.searchsorted(p_idx, idx - lookahead, side="right") - 1
        else:
            visible = np.minimum(np.maximum(p_idx + (lookahead - start), 0), n)
            k = np.cumsum(np.bincount(visible, minlength=n + 1)[:n]) - 1
        ok = k >= 0
        kk = np.where(ok, k, 0)
        # (an integer distance is <= 1.5 fs exactly when it is <= floor(1.5 fs): compared as integers, no cast)
        recent = ok & (idx - p_idx[kk] <= math.floor(1.5 * sampling_rate_hz))
        out[recent] = np.where(p_run[kk[recent]], RUNNING, WALKING).astype(np.int8)
    out[quiet] = STANDING
    return out


class BoutTracker:
    """Bouts of one activity with hysteresis; emits :class:`BoutEvent` when a bout ends."""

    def __init__(self, sampling_rate_hz: float, min_bout_s: float) -> None:
        self.fs = sampling_rate_hz
        self.min_n = max(1, round(min_bout_s * sampling_rate_hz))
        self.cur: int | None = None
        self.cur_start_t = 0.0
        self.cand: int | None = None
        self.cand_start = 0
        self.cand_start_t = 0.0
        self.cand_n = 0
        self._last_t = 0.0

    def feed(self, start: int, t_s: FloatArray, labels: NDArray[np.int8]) -> list[BoutEvent]:
        out: list[BoutEvent] = []
        n = labels.size
        if n == 0:
            return out
        edges = (labels[1:] != labels[:-1]).nonzero()[0] + 1
        bounds = (0, n) if edges.size == 0 else np.concatenate([[0], edges, [n]]).tolist()
        for a, b in itertools.pairwise(bounds):
            lab = int(labels[a])
            if self.cur is None:
                self.cur, self.cur_start_t = lab, float(t_s[a])
                continue
            if lab == self.cur:
                self.cand = None
                continue
            if lab != self.cand:
                self.cand, self.cand_start_t, self.cand_n = lab, float(t_s[a]), 0
            self.cand_n += int(b - a)
            if self.cand_n >= self.min_n:
                out.extend(self._close(self.cand_start_t))
                self.cur, self.cur_start_t, self.cand = lab, self.cand_start_t, None
        self._last_t = float(t_s[-1])
        return out

    def _close(self, t_end: float) -> list[BoutEvent]:
        if self.cur is None or (t_end - self.cur_start_t) * self.fs < self.min_n:
            return []
        return [BoutEvent(t_start_s=self.cur_start_t, t_end_s=t_end, activity=_activity(self.cur))]

    def finish(self) -> list[BoutEvent]:
        """End of stream: a different activity that lasted to the end ends the current bout where it began."""
        if self.cand is not None:
            out = self._close(self.cand_start_t)
            self.cur, self.cur_start_t = self.cand, self.cand_start_t
            out.extend(self._close(self._last_t))
        else:
            out = self._close(self._last_t)
        self.cur = None
        return out


def _activity(code: int) -> Activity:
    lab = ACTIVITY_LABELS[code]
    if lab == "standing":
        return "standing"
    if lab == "walking":
        return "walking"
    if lab == "running":
        return "running"
    return "other"
