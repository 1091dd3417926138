"""Sensor-to-host clock mapping from notification timestamps: pure, deterministic, replayable.

A sensor stamps samples with its own crystal (offset and a drift of tens of ppm against the host); the host only
knows when each notification *arrived*, i.e. the sensor time of its last sample plus an unknown, non-negative
transport delay (radio, connection events, OS scheduling, backlog replay). The delay has a sharp lower edge, so
the clock relation is estimated from the *lower envelope* of ``host_t - sensor_t``:

* :class:`ClockEstimator` keeps the minimum of ``host_t - sensor_t`` per window of sensor time (default 5 s,
  the last 60 windows) and fits a straight line under those minima:
  ``host_t = offset_s + (1 + drift) * sensor_t``. This is the minimum-delay filter of NTP-style clock
  synchronisation (Mills, "Network Time Synchronization", 2nd ed., ch. 3) with a linear skew fit over the
  minima (Moon, Skelly & Towsley, "Estimation and removal of clock skew from network delay measurements",
  INFOCOM 1999: the line under every point that is highest at their mean, i.e. an edge of the lower convex hull).
* :class:`SensorToHostClock` turns sensor times into host times with that estimate, continuously and strictly
  increasing: it never steps; it slews towards a new estimate at a bounded rate (default: remove the error over
  10 s of sensor time, at most 2000 ppm faster or slower than the estimated rate).

Both consume one observation per notification, in arrival order, and keep a few numbers (never the data): the
same recorded frames replayed give the same host times, whatever the chunking of the replay.
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from sensor.errors import ConfigError
from sensor.model import FloatArray


@dataclass(frozen=True, slots=True)
class ClockEstimate:
    """``host_t_s = offset_s + (1 + drift) * sensor_t_s``; ``drift * 1e6`` is the host-vs-sensor rate in ppm.

    A sensor crystal running fast by ``p`` ppm gives ``drift ~ -p * 1e-6``.
    """

    offset_s: float
    drift: float
    n_windows: int

    @property
    def drift_ppm(self) -> float:
        return self.drift * 1e6

    def to_host(self, sensor_t_s: float) -> float:
        return self.offset_s + (1.0 + self.drift) * sensor_t_s


class ClockEstimator:
    """Lower-envelope line fit of ``host_t - sensor_t`` (see the module docstring).

    Args:
        window_s: width of the minimum windows in sensor seconds.
        max_windows: how many windows the fit uses (the oldest are forgotten: a slowly changing drift, e.g.
            with temperature, is followed).
        max_drift_ppm: estimates beyond this are clamped (a real crystal is within ~100 ppm).
    """

    def __init__(self, *, window_s: float = 5.0, max_windows: int = 60, max_drift_ppm: float = 500.0) -> None:
        if not window_s > 0 or max_windows < 2:
            raise ConfigError(
                f"clock estimator needs window_s > 0 and max_windows >= 2, got {window_s!r} and {max_windows!r}",
                key="clock",
            )
        self.window_s = float(window_s)
        self.max_drift = max_drift_ppm * 1e-6
        self._mins: deque[tuple[float, float]] = deque(maxlen=max_windows)  # closed windows: (sensor t, min d)
        self._win: int | None = None  # index of the open window
        self._win_min: tuple[float, float] = (0.0, math.inf)
        self._estimate: ClockEstimate | None = None

    def reset(self) -> None:
        """Forget everything (the sensor restarted: its clock began again)."""
        self._mins.clear()
        self._win = None
        self._win_min = (0.0, math.inf)
        self._estimate = None

    def observe(self, sensor_t_s: float, host_t_s: float) -> None:
        """One notification: sensor time of its newest sample and the host time it arrived."""
        d = host_t_s - sensor_t_s
        w = math.floor(sensor_t_s / self.window_s)
        if self._win is None:
            self._win = w
        elif w > self._win:
            if math.isfinite(self._win_min[1]):
                self._mins.append(self._win_min)
            self._win, self._win_min = w, (0.0, math.inf)
            self._estimate = None
        if d < self._win_min[1]:
            self._win_min = (sensor_t_s, d)
            self._estimate = None

    @property
    def estimate(self) -> ClockEstimate | None:
        """The current estimate, or ``None`` before the first observation."""
        if self._estimate is None:
            self._estimate = self._fit()
        return self._estimate

    def _fit(self) -> ClockEstimate | None:
        points = list(self._mins)
        if math.isfinite(self._win_min[1]):
            points.append(self._win_min)
        if not points:
            return None
        s = np.array([p[0] for p in points])
        d = np.array([p[1] for p in points])
        if len(points) < 3 or float(s[-1] - s[0]) < 2 * self.window_s:
            # too short a baseline for a rate: offset only (the lowest delay seen so far)
            k = int(np.argmin(d))
            return ClockEstimate(float(d[k]), 0.0, len(points))
        slope, offset = _lower_envelope_line(s, d)
        slope = min(max(slope, -self.max_drift), self.max_drift)
        offset = float(np.min(d - slope * s))  # keep the line under every minimum (after clamping too)
        return ClockEstimate(offset, slope, len(points))


def _lower_envelope_line(s: FloatArray, d: FloatArray) -> tuple[float, float]:
    """The line under all points ``(s, d)`` that is highest at their mean ``s`` (Moon et al.'s linear program).

    Its solution is the lower convex hull's edge above the mean, so points lifted by long delays (a backlog
    replay, a busy host) cannot pull it. Returns ``(slope, offset)``.
    """
    hull: list[int] = []
    for i in range(s.shape[0]):
        while len(hull) >= 2:
            a, b = hull[-2], hull[-1]
            # drop b when it lies on or above the segment a -> i
            if (d[b] - d[a]) * (s[i] - s[a]) >= (d[i] - d[a]) * (s[b] - s[a]):
                hull.pop()
            else:
                break
        hull.append(i)
    s_mean = float(s.mean())
    for a, b in itertools.pairwise(hull):
        if s[a] <= s_mean <= s[b] and s[b] > s[a]:
            slope = float((d[b] - d[a]) / (s[b] - s[a]))
            return slope, float(d[a] - slope * s[a])
    k = int(np.argmin(d))
    return 0.0, float(d[k])


class SensorToHostClock:
    """Maps sensor times to host times, strictly increasing, slewing towards the :class:`ClockEstimator`.

    Call :meth:`map` once per decoded notification, in arrival order, with the sample times of that
    notification (sensor seconds, increasing) and its host receive time.

    Args:
        slew_s: an error between the current mapping and the estimate is removed over this much sensor time.
        max_slew_ppm: the mapping's rate stays within this of the estimated rate.
    """

    def __init__(
        self,
        estimator: ClockEstimator | None = None,
        *,
        slew_s: float = 10.0,
        max_slew_ppm: float = 2000.0,
    ) -> None:
        if not slew_s > 0 or not 0 < max_slew_ppm < 1e6:
            raise ConfigError(
                f"clock slew needs slew_s > 0 and 0 < max_slew_ppm < 1e6, got {slew_s!r}, {max_slew_ppm!r}",
                key="clock",
            )
        self.estimator = estimator or ClockEstimator()
        self.slew_s = float(slew_s)
        self.max_slew = max_slew_ppm * 1e-6
        self.reset()

    def reset(self) -> None:
        self.estimator.reset()
        self._anchor: tuple[float, float] | None = None  # (sensor t, host t) of the last mapped sample
        self._rate = 1.0

    @property
    def estimate(self) -> ClockEstimate | None:
        return self.estimator.estimate

    def map(self, sensor_t_s: FloatArray, host_t_s: float) -> FloatArray:
        """Host times of one notification's samples (the estimator learns from its newest sample first)."""
        if sensor_t_s.size == 0:
            return sensor_t_s.astype(np.float64)
        self.estimator.observe(float(sensor_t_s[-1]), host_t_s)
        est = self.estimator.estimate
        assert est is not None
        if self._anchor is None:
            s0 = float(sensor_t_s[0])
            self._anchor = (s0, est.to_host(s0))
            self._rate = 1.0 + est.drift
        s_a, h_a = self._anchor
        out = h_a + (sensor_t_s - s_a) * self._rate
        s_last, h_last = float(sensor_t_s[-1]), float(out[-1])
        self._anchor = (s_last, h_last)
        # the rate for the next samples: the estimated rate plus a correction that removes the current error
        error = est.to_host(s_last) - h_last
        base = 1.0 + est.drift
        correction = min(max(error / self.slew_s, -self.max_slew), self.max_slew)
        self._rate = base + correction
        return out
