from __future__ import annotations

import datetime as dt
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sensor.errors import DataValidationError, HipSenseError
from sensor.events import SetEvent
from sensor.pipeline.reps.log import LongSittingStage, SessionRecord, weekly_glute_sessions
from sensor.pipeline.stage import WALKING, PelvisChunk
from tests.pipeline.reps.synth import make_chunk, slice_chunk


def _set(reps: int) -> SetEvent:
    return SetEvent(t_start_s=0.0, t_end_s=30.0, exercise="glute_bridge", exercise_confidence=0.9, reps=reps)


def test_weeks_are_judged_against_two_to_three_sessions() -> None:
    mon = dt.date(2026, 11, 2)  # a Monday
    records = [
        SessionRecord(mon, [_set(10), _set(12)]),  # week 1: one session -> too few
        SessionRecord(mon + dt.timedelta(days=7), [_set(10)]),  # week 2: Mon, Wed, Fri -> ok
        SessionRecord(mon + dt.timedelta(days=9), [_set(10)]),
        SessionRecord(mon + dt.timedelta(days=11), [_set(8)]),
        SessionRecord(mon + dt.timedelta(days=11), []),  # a session without sets does not count
        *(SessionRecord(mon + dt.timedelta(days=14 + k), [_set(5)]) for k in range(5)),  # week 3: 5 days
    ]
    weeks = weekly_glute_sessions(records, until=mon + dt.timedelta(days=27))
    assert [w.week_start for w in weeks] == [mon + dt.timedelta(days=7 * k) for k in range(4)]
    assert [w.sessions for w in weeks] == [1, 3, 5, 0]
    assert [w.status for w in weeks] == ["too_few", "ok", "too_many", "too_few"]
    assert weeks[0].sets == 2
    assert weeks[0].reps == 22
    assert weeks[1].back_to_back_days == 0
    assert weeks[2].back_to_back_days == 4
    assert "48 h" in weeks[2].message


def test_two_sessions_on_one_day_are_one_training_day() -> None:
    d = dt.date(2026, 11, 4)
    weeks = weekly_glute_sessions([SessionRecord(d, [_set(10)]), SessionRecord(d, [_set(10)])])
    assert weeks[0].sessions == 1
    assert weeks[0].sets == 2


def test_bad_guidance_is_a_typed_error() -> None:
    with pytest.raises(DataValidationError, match="per_week_min") as ei:
        weekly_glute_sessions([], per_week_min=4, per_week_max=2)
    assert isinstance(ei.value, HipSenseError)


def _seated(minutes: float, *, stand_at_min: tuple[float, float] | None = None, fs_hz: float = 10.0) -> PelvisChunk:
    """A seated pelvis (tilted back 20 deg), optionally standing (upright) for a while."""
    t = np.arange(int(minutes * 60 * fs_hz)) / fs_hz
    pitch = np.full(t.size, -20.0)
    if stand_at_min is not None:
        a, b = stand_at_min
        pitch[(t >= a * 60) & (t < b * 60)] = 0.0
    z = np.zeros((t.size, 3))
    acc = np.tile([0.0, 0.0, 9.80665], (t.size, 1))
    return make_chunk(t, acc, z, np.zeros(t.size), pitch, np.zeros(t.size))


def test_long_sitting_alerts_at_threshold_and_repeats() -> None:
    stage = LongSittingStage(threshold_min=45.0)
    alerts = stage.feed(_seated(100.0)) + stage.finish()
    assert [round(a.t_s) for a in alerts] == [45 * 60, 90 * 60]
    assert all(a.alert == "long_sitting" for a in alerts)
    assert "bridges" in alerts[0].message


def test_a_real_break_resets_the_streak_a_shift_does_not() -> None:
    stage = LongSittingStage(threshold_min=30.0)
    # 20 min seated, 2 min standing (a break), 35 min seated: one alert, 30 min after the break
    alerts = stage.feed(_seated(57.0, stand_at_min=(20.0, 22.0)))
    assert [round(a.t_s) for a in alerts] == [52 * 60]
    stage2 = LongSittingStage(threshold_min=30.0)
    # a 20 s shift does not end the streak
    alerts2 = stage2.feed(_seated(40.0, stand_at_min=(20.0, 20.0 + 1 / 3)))
    assert [round(a.t_s) for a in alerts2] == [30 * 60]


def test_walking_with_a_tilted_pelvis_is_not_sitting() -> None:
    c = _seated(50.0)
    walking = replace(c, activity=np.full(len(c), WALKING, dtype=np.int8))
    assert LongSittingStage().feed(walking) == []


def test_lying_is_not_sitting() -> None:
    c = _seated(50.0)
    assert c.pitch_deg is not None
    assert LongSittingStage().feed(replace(c, pitch_deg=c.pitch_deg - 70.0)) == []


@settings(max_examples=10, deadline=None)
@given(st.integers(min_value=1, max_value=5000))
def test_long_sitting_is_chunk_invariant(step: int) -> None:
    c = _seated(50.0, stand_at_min=(10.0, 12.0))
    ref = LongSittingStage(threshold_min=20.0)
    ref_alerts = ref.feed(c) + ref.finish()
    stage = LongSittingStage(threshold_min=20.0)
    alerts = []
    for i in range(0, len(c), step):
        alerts += stage.feed(slice_chunk(c, i, i + step))
    alerts += stage.finish()
    assert alerts == ref_alerts
    assert len(alerts) == 1


def test_bad_threshold_names_the_value() -> None:
    with pytest.raises(DataValidationError, match="-5"):
        LongSittingStage(threshold_min=-5)
