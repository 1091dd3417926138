"""Training log: glute sessions per week against the 2-3 per week guidance, and long sitting streaks.

* :func:`weekly_glute_sessions` is a pure function over a list of ``(date, sets)`` records (one record per
  recorded session); the session store feeds it (``hipsense train-log``).
* :class:`LongSittingStage` is a pelvis stage: it follows sitting from posture (a pelvis tilted back by more
  than 10 deg but less than 50 deg, not walking or running: seated, not lying) and emits an
  :class:`~sensor.events.AlertEvent` ``"long_sitting"`` with a nudge to stand up and do a few bridges once a
  streak reaches ``threshold_min``.

Guidance: strength work for the hip abductors and extensors two to three times a week, with at least a day
of recovery in between (e.g. ACSM resistance-training position stand, 2009: 2-3 days per week per muscle group,
48 h between sessions for the same group).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np

from sensor.errors import DataValidationError
from sensor.events import AlertEvent, Event, SetEvent
from sensor.pipeline.reps.signals import (
    CH_GAIT,
    CH_GYR,
    CH_PITCH,
    RAW_W,
    BinAverager,
    FloatArray,
    bin_channels,
    raw_columns,
)
from sensor.pipeline.stage import PelvisChunk

WeekStatus = Literal["too_few", "ok", "too_many"]

SESSIONS_PER_WEEK_MIN: Final = 2
SESSIONS_PER_WEEK_MAX: Final = 3


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """One recorded session: its (local) date and the sets found in it."""

    date: dt.date
    sets: Sequence[SetEvent]


@dataclass(frozen=True, slots=True)
class WeekSummary:
    """Glute work in one ISO week (Monday to Sunday)."""

    week_start: dt.date
    sessions: int
    sets: int
    reps: int
    back_to_back_days: int
    status: WeekStatus
    message: str


def weekly_glute_sessions(
    records: Sequence[SessionRecord],
    *,
    min_sets: int = 1,
    per_week_min: int = SESSIONS_PER_WEEK_MIN,
    per_week_max: int = SESSIONS_PER_WEEK_MAX,
    until: dt.date | None = None,
) -> list[WeekSummary]:
    """Glute sessions per ISO week, from the first recorded week to ``until`` (default: the last record).

    A session counts as glute work when it holds at least ``min_sets`` sets. Several sessions on one day count
    as one training day. Weeks without any session are listed too (status ``"too_few"``).
    ``back_to_back_days`` counts training days that follow another training day (less than 48 h of recovery).
    """
    if per_week_min < 0 or per_week_max < per_week_min:
        raise DataValidationError(
            f"need 0 <= per_week_min <= per_week_max, got {per_week_min} and {per_week_max}", field="per_week_max"
        )
    if not records:
        return []
    days: dict[dt.date, tuple[int, int]] = {}
    for rec in records:
        if len(rec.sets) < min_sets:
            continue
        n_sets, n_reps = days.get(rec.date, (0, 0))
        days[rec.date] = (n_sets + len(rec.sets), n_reps + sum(s.reps for s in rec.sets))
    first = min(r.date for r in records)
    last = until or max(r.date for r in records)
    monday = first - dt.timedelta(days=first.weekday())
    out: list[WeekSummary] = []
    while monday <= last:
        week = [monday + dt.timedelta(days=k) for k in range(7)]
        train = [d for d in week if d in days]
        b2b = sum(1 for d in train if d - dt.timedelta(days=1) in days)
        n = len(train)
        status: WeekStatus
        if n < per_week_min:
            status = "too_few"
            message = f"{n} glute session(s) this week; aim for {per_week_min}-{per_week_max}"
        elif n > per_week_max:
            status = "too_many"
            message = f"{n} glute sessions this week; {per_week_min}-{per_week_max} with rest days recover better"
        else:
            status = "ok"
            message = f"{n} glute sessions this week: on target"
        if b2b and status != "too_few":
            message += f"; {b2b} on back-to-back days (give the glutes 48 h)"
        out.append(
            WeekSummary(
                week_start=monday,
                sessions=n,
                sets=sum(days[d][0] for d in train),
                reps=sum(days[d][1] for d in train),
                back_to_back_days=b2b,
                status=status,
                message=message,
            )
        )
        monday += dt.timedelta(days=7)
    return out


LONG_SITTING_MIN: Final = 45.0
SIT_BIN_S: Final = 1.0
STAND_BREAK_S: Final = 60.0
"""Standing or moving at least this long ends a sitting streak (a shift in the chair does not)."""


class LongSittingStage:
    """Emits ``long_sitting`` alerts when the pelvis has been seated for ``threshold_min`` without a break.

    Args:
        threshold_min: streak length that triggers the nudge, minutes (repeats every ``threshold_min``).
        sit_pitch_deg: a pelvis tilted posteriorly beyond this (anterior tilt below it, above -50 deg = lying)
            counts as seated. Seated pelvises tilt back by 15-25 deg; standing ones by less than 10.
        break_s: how long a break from sitting must last to end the streak, s.

    State: the streak start, the last sitting time and the alert count, plus one unfinished 1 s bin.
    """

    def __init__(
        self, *, threshold_min: float = LONG_SITTING_MIN, sit_pitch_deg: float = -10.0, break_s: float = STAND_BREAK_S
    ) -> None:
        if not (threshold_min > 0 and math.isfinite(threshold_min)):
            raise DataValidationError(
                f"threshold_min must be a positive number of minutes, got {threshold_min!r}", field="threshold_min"
            )
        self.threshold_s = threshold_min * 60.0
        self.sit_pitch_deg = sit_pitch_deg
        self.break_s = break_s
        self._bins = BinAverager(SIT_BIN_S)
        self._streak_start = math.nan
        self._last_sit = math.nan
        self._alerts = 0

    def feed(self, chunk: PelvisChunk) -> list[Event]:
        if chunk.pitch_deg is None:
            return []  # accelerometer-only: no posture
        t, x = self._bins.feed(chunk.t_s, raw_columns(chunk))
        return self._run(t, x)

    def finish(self) -> list[Event]:
        t, x = self._bins.feed(np.zeros(0), np.zeros((0, RAW_W)), final=True)
        return self._run(t, x) if t.size else []

    def _run(self, t: FloatArray, raw: FloatArray) -> list[Event]:
        x = bin_channels(raw)
        pitch = x[:, CH_PITCH]
        sitting = (pitch < self.sit_pitch_deg) & (pitch > -50.0) & (x[:, CH_GAIT] < 0.5) & (x[:, CH_GYR] < 0.5)
        out: list[Event] = []
        for tk, sk in zip(t.tolist(), sitting.tolist(), strict=True):
            if sk:
                if math.isnan(self._streak_start) or tk - self._last_sit > self.break_s:
                    self._streak_start = tk - SIT_BIN_S / 2.0
                    self._alerts = 0
                self._last_sit = tk
                streak = tk + SIT_BIN_S / 2.0 - self._streak_start
                if streak >= self.threshold_s * (self._alerts + 1):
                    self._alerts += 1
                    minutes = streak / 60.0
                    out.append(
                        AlertEvent(
                            t_s=tk + SIT_BIN_S / 2.0,
                            alert="long_sitting",
                            message=(
                                f"You have been sitting for {minutes:.0f} min: stand up and do a few glute bridges "
                                "(10 slow reps, squeeze at the top)."
                            ),
                            value=minutes,
                            threshold=self.threshold_s / 60.0,
                        )
                    )
        return out
