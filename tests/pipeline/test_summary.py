"""Summaries, fatigue trend and alerts on constructed step sequences with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from sensor.events import StepEvent
from sensor.pipeline.alerts import AlertTracker
from sensor.pipeline.summary import BoutSummary, RollingWindow, StepColumns, asymmetry_index_pct


def _steps(n: int, drop_left: float, drop_right: float, slope_per_10min: float = 0.0, sd: float = 0.0):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(1)
    out = []
    for k in range(n):
        t = 0.35 * k
        side = "left" if k % 2 == 0 else "right"
        base = drop_left if side == "left" else drop_right
        d = base + slope_per_10min * t / 600.0 + rng.normal(0, sd)
        out.append(
            StepEvent(t_s=t, side=side, pelvic_drop_deg=d, step_time_s=0.35, cadence_spm=60 / 0.35, confidence=1.0)
        )
    return out


def test_medians_asymmetry_and_share() -> None:
    b = BoutSummary(threshold_deg=7.0)
    for ev in _steps(200, 5.0, 9.0):
        b.add(ev)
    s = b.summary(70.0, None)
    assert s.median_drop_left_deg == pytest.approx(5.0, abs=0.02)
    assert s.median_drop_right_deg == pytest.approx(9.0, abs=0.02)
    # medians come from 0.02 deg bins (exact to 0.01 deg), so the index is exact to ~0.3 percentage points
    assert s.asymmetry_index_pct == pytest.approx(100 * 4 / 7, abs=0.3)
    assert s.share_above_threshold == pytest.approx(0.5)
    assert s.cadence_spm == pytest.approx(171.4, abs=0.1)


def test_fatigue_slope_and_ci_cover_the_truth() -> None:
    b = BoutSummary(threshold_deg=7.0)
    for ev in _steps(6000, 5.0, 7.0, slope_per_10min=1.5, sd=0.7):  # 35 min of running, noisy drops
        b.add(ev)
    slope, ci = b.slope()
    assert slope is not None
    assert ci is not None
    assert slope == pytest.approx(1.5, abs=0.1)
    assert ci[0] < 1.5 < ci[1]
    assert ci[1] - ci[0] < 0.3


def test_turn_steps_stay_out_of_drop_figures() -> None:
    b = BoutSummary(threshold_deg=7.0)
    for ev in _steps(40, 5.0, 5.0):
        b.add(ev)
    b.add(StepEvent(t_s=20.0, side="left", pelvic_drop_deg=25.0, in_turn=True, confidence=1.0))
    s = b.summary(20.0, None)
    assert s.steps == 41
    assert s.median_drop_left_deg == pytest.approx(5.0, abs=0.02)


def test_rolling_window_forgets_old_steps() -> None:
    w = RollingWindow(30.0, 7.0)
    for ev in _steps(400, 5.0, 5.0):
        w.add(ev)
    assert all(e.t_s > 0.35 * 399 - 30 for e in w.steps)
    s = w.summary()
    assert s is not None
    assert s.window_s == 30.0
    assert s.median_drop_left_deg == pytest.approx(5.0)


def test_asymmetry_index_is_none_near_zero() -> None:
    assert asymmetry_index_pct(0.1, 0.2) is None
    assert asymmetry_index_pct(None, 5.0) is None
    assert asymmetry_index_pct(5.0, 5.0) == 0.0


def test_drop_alert_is_debounced() -> None:
    a = AlertTracker(threshold_deg=7.0, n_steps=4, asym_limit_pct=20.0, cooldown_s=30.0)
    alerts = []
    for ev in _steps(400, 8.0, 5.0):  # left stance always above 7 deg
        alerts += a.on_step(ev)
    # 140 s of steps, one alert per 30 s cooldown at most, only for the left stance
    assert 4 <= len(alerts) <= 5
    assert {x.side for x in alerts} == {"left"}
    assert np.all(np.diff([x.t_s for x in alerts]) >= 30.0)


def test_rolling_change_from_the_first_minutes() -> None:
    bout = BoutSummary(threshold_deg=7.0, baseline_s=180.0)
    window = RollingWindow(30.0, 7.0)
    for ev in _steps(6000, 5.0, 7.0, slope_per_10min=1.5):  # 35 min, drop rising 1.5 deg per 10 min
        bout.add(ev)
        window.add(ev)
    s = window.summary(bout.baseline_mean_deg)
    assert s is not None
    assert s.drop_change_from_start_deg is not None
    # window centre ~34.8 min, baseline centre 1.5 min: 33.3 min x 0.15 deg/min
    assert s.drop_change_from_start_deg == pytest.approx(1.5 * (0.35 * 5999 - 15 - 90) / 600, abs=0.05)


def test_window_median_and_mean_are_numpys() -> None:
    """RollingWindow's median/mean helpers give exactly np.median / np.mean (odd, even, one, many values)."""
    from sensor.pipeline.summary import _mean, _median

    rng = np.random.default_rng(11)
    for n in (1, 2, 3, 7, 8, 9, 16, 17, 110, 129, 300):
        for scale in (0.01, 1.0, 1000.0):
            x = (rng.normal(size=n) * scale).tolist()
            assert _median(x) == float(np.median(x))
            assert _mean(x) == float(np.mean(x))


def test_add_many_gives_the_state_of_one_add_per_step() -> None:
    """The vectorised batch update is the same sequence of float additions as the per-step loop: equal state."""
    rng = np.random.default_rng(5)
    evs = []
    for k in range(400):
        d = float(rng.normal(6.0, 3.0)) if k % 13 else None
        evs.append(
            StepEvent(
                t_s=0.33 * k + float(rng.uniform(0, 0.01)),
                side="left" if rng.random() < 0.5 else "right",
                pelvic_drop_deg=d,
                in_turn=bool(k % 17 == 0),
                cadence_spm=None if k % 11 == 0 else float(rng.uniform(150, 190)),
                activity="running",
                confidence=1.0,
            )
        )
    one, many = BoutSummary(7.0, baseline_s=40.0), BoutSummary(7.0, baseline_s=40.0)
    cols, by_cols = StepColumns.of(evs), BoutSummary(7.0, baseline_s=40.0)
    for ev in evs:
        one.add(ev)
    for a, b in ((0, 3), (3, 40), (40, 41), (41, 250), (250, 400)):  # below and above the batch threshold
        many.add_many(evs[a:b])
        by_cols.add_columns(cols, evs[b - 1].activity, a, b)  # ranges of one StepColumns (as the pipeline does)
    for other in (many, by_cols):
        assert vars(one).keys() == vars(other).keys()
        for key, value in vars(one).items():
            if key != "sides":
                assert getattr(other, key) == value, key
        for side in ("left", "right"):
            assert one.sides[side] == other.sides[side]


def test_step_events_share_one_fields_set_that_copies_do_not_touch() -> None:
    """Step events are built with one shared fields-set (every field set); a model_copy gets its own."""
    from sensor.pipeline import metrics

    ev = StepEvent(t_s=1.0, side="left", confidence=1.0)
    shared = metrics._FIELDS_SET
    fast = StepEvent.__new__(StepEvent)
    object.__setattr__(fast, "__dict__", {**ev.__dict__})
    object.__setattr__(fast, "__pydantic_fields_set__", shared)
    object.__setattr__(fast, "__pydantic_extra__", None)
    object.__setattr__(fast, "__pydantic_private__", None)
    before = set(shared)
    copy = fast.model_copy(update={"in_turn": True})
    assert copy.in_turn
    assert not fast.in_turn
    assert copy.__pydantic_fields_set__ is not shared
    assert shared == before == set(StepEvent.model_fields)


def test_rolling_window_kept_lists_match_the_window_recomputed() -> None:
    """The per-side drops, cadences and the count above the threshold kept with the window are what sorting the
    window's steps out gives, after single adds, batches and steps leaving the window."""
    rng = np.random.default_rng(9)
    w = RollingWindow(window_s=5.0, threshold_deg=7.0)
    t = 0.0
    evs = []
    for k in range(600):
        t += float(rng.uniform(0.2, 0.5))
        evs.append(
            StepEvent(
                t_s=t,
                side="left" if rng.random() < 0.5 else "right",
                pelvic_drop_deg=None if k % 9 == 0 else float(rng.normal(6.0, 2.0)),
                in_turn=bool(k % 13 == 0),
                cadence_spm=None if k % 7 == 0 else float(rng.uniform(150, 190)),
                confidence=1.0,
            )
        )
    k = 0
    for n in (1, 1, 5, 40, 1, 100, 3, 200, 249):
        if n == 1:
            w.add(evs[k])
        else:
            w.add_many(evs[k : k + n])
        k += n
        inside = [e for e in evs[:k] if e.t_s > evs[k - 1].t_s - 5.0]
        assert list(w.steps) == inside
        straight = [e for e in inside if e.pelvic_drop_deg is not None and not e.in_turn]
        left = [e.pelvic_drop_deg for e in straight if e.side == "left"]
        right = [e.pelvic_drop_deg for e in straight if e.side == "right"]
        assert list(w._left) == left
        assert list(w._right) == right
        assert list(w._cad) == [e.cadence_spm for e in inside if e.cadence_spm is not None]
        assert w._above == sum(1 for d in left + right if d is not None and d > 7.0)
        assert w.straight_per_side() == min(len(left), len(right))


def test_rolling_window_batch_out_of_time_order_is_added_step_by_step() -> None:
    """A batch whose times go back somewhere (given as events or with their columns) takes the step-by-step path:
    the window of single adds (the batched path would drop the old steps only at the last, earlier time)."""
    times = [10.0, 11.0, 20.0, 30.0, 21.0]
    evs = [StepEvent(t_s=t, side="left", pelvic_drop_deg=5.0 + k, confidence=1.0) for k, t in enumerate(times)]
    single = RollingWindow(window_s=5.0, threshold_deg=7.0)
    for ev in evs:
        single.add(ev)
    assert [e.t_s for e in single.steps] == [30.0, 21.0]
    for cols in (None, StepColumns.of(evs)):
        many = RollingWindow(window_s=5.0, threshold_deg=7.0)
        many.add_many(evs, cols)
        assert list(many.steps) == list(single.steps)
        assert list(many._left) == list(single._left)
