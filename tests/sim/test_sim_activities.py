"""Every activity produces plausible magnitudes (ranges documented in docs/simulator.md), and the exercise truth
agrees with the motion."""

from __future__ import annotations

import numpy as np
import pytest

from sensor.definitions import quiet_standing_neutral_deg
from sensor.frames import STANDARD_GRAVITY_MPS2 as G
from sensor.sim import (
    Running,
    Scenario,
    SensorModel,
    SimResult,
    Sitting,
    Standing,
    Turn,
    Walking,
    simulate,
)
from sensor.sim.exercises import EXERCISES
from tests.sim._helpers import sensor_orientation


@pytest.fixture(scope="module")
def exercises() -> SimResult:
    return simulate(Scenario.preset("exercises").model_copy(update={"sensor": SensorModel.ideal()}))


def _daily_scenario(*, turn: bool = True) -> Scenario:
    return Scenario(
        segments=[
            Standing(duration_s=10.0),
            Walking(duration_s=40.0),
            Standing(duration_s=5.0),
            Running(duration_s=40.0, turns=[Turn(at_s=20.0, angle_deg=90.0, duration_s=3.0)] if turn else []),
            Standing(duration_s=8.0, fidget=True),
            Sitting(duration_s=30.0),
            Standing(duration_s=5.0),
        ],
        sensor=SensorModel.ideal(),
        seed=21,
    )


@pytest.fixture(scope="module")
def daily() -> SimResult:
    return simulate(_daily_scenario())


def _world_f(res: SimResult) -> np.ndarray:
    return np.einsum("nij,nj->ni", sensor_orientation(res.truth), res.acc_true_mps2)


def _in_segment(res: SimResult, index: int, *, skip_transition: bool = True) -> np.ndarray:
    seg = res.truth.segments[index]
    t0 = seg.t_start_s + (seg.transition_s if skip_transition else 0.0)
    return (res.truth.t_s >= t0) & (res.truth.t_s < seg.t_end_s)


def test_quiet_standing_and_sitting(daily: SimResult) -> None:
    f = np.linalg.norm(daily.acc_true_mps2, axis=1)
    w = np.linalg.norm(daily.gyr_true_radps, axis=1)
    quiet = _in_segment(daily, 0)
    assert np.all(np.abs(f[quiet] - G) < 0.05)
    assert w[quiet].max() < 0.02
    sit = _in_segment(daily, 5)
    assert np.all(np.abs(f[sit] - G) < 0.3)
    assert w[sit].max() < 0.5
    assert -35.0 < np.median(daily.truth.pitch_deg[sit]) < -10.0  # posterior tilt
    assert np.median(daily.truth.z_m[sit]) == pytest.approx(-0.45, abs=0.02)
    fidget = _in_segment(daily, 4)
    assert 0.05 < w[fidget].max() < 1.5
    assert set(daily.truth.activity[quiet]) == {"standing"}
    assert set(daily.truth.activity[sit]) == {"sitting"}


def test_walking_magnitudes(daily: SimResult) -> None:
    sel = _in_segment(daily, 1)
    fv = _world_f(daily)[sel, 2]
    assert G + 1.5 < fv.max() < G + 7.5
    assert G - 6.0 < fv.min() < G - 1.5
    assert np.linalg.norm(daily.gyr_true_radps[sel], axis=1).max() < 2.0
    st = daily.truth.steps
    walk = (np.asarray(st.activity) == "walking") & st.steady
    assert 90 < np.median(60.0 / st.step_time_s[walk]) < 130
    assert np.all((st.vertical_oscillation_m[walk] > 0.02) & (st.vertical_oscillation_m[walk] < 0.06))
    assert 3.0 < np.ptp(daily.truth.roll_deg[sel]) < 15.0
    assert set(daily.truth.activity[sel]) == {"walking"}


def test_running_magnitudes_and_turn_lean(daily: SimResult) -> None:
    sel = _in_segment(daily, 3)
    fv = _world_f(daily)[sel, 2]
    assert 2.0 * G < fv.max() < 3.5 * G
    assert fv.min() > -1.5  # flight: free fall (lever arm terms only)
    assert np.linalg.norm(daily.gyr_true_radps[sel], axis=1).max() < 6.0
    st = daily.truth.steps
    run = (np.asarray(st.activity) == "running") & st.steady
    assert 150 < np.median(60.0 / st.step_time_s[run]) < 200
    assert np.all((st.contact_time_s[run] > 0.18) & (st.contact_time_s[run] < 0.32))
    vo = st.vertical_oscillation_m[run]
    assert 0.06 < np.median(vo) < 0.10
    assert np.all((vo > 0.05) & (vo < 0.11))  # step-to-step variability of contact and flight
    # a left turn at 3 m/s: the lean atan(v * yaw_rate / g) into the turn shows up as negative obliquity. The same
    # scenario without the turn has identical gait (the turn draws no random numbers): the difference is the lean.
    seg = daily.truth.segments[3]
    straight = simulate(_daily_scenario(turn=False))
    t = daily.truth.t_s
    heading_rate = np.gradient(np.radians(daily.truth.yaw_deg - straight.truth.yaw_deg), t)
    lean = daily.truth.roll_deg - straight.truth.roll_deg
    during = (t > seg.t_start_s + 20.0) & (t < seg.t_start_s + 23.0)
    expected = -np.degrees(np.arctan(3.0 * heading_rate / G))
    assert expected[during].min() < -15.0
    np.testing.assert_allclose(lean[during], expected[during], atol=0.05)
    assert np.abs(lean[~during]).max() < 1e-9
    turned = run & st.in_turn
    assert 3 <= turned.sum() <= 12
    assert np.all(
        (st.t_ic_s[turned] < seg.t_start_s + 23.0) & (st.t_ic_s[turned] + st.step_time_s[turned] > seg.t_start_s + 20.0)
    )


def test_neutral_is_the_latest_quiet_standing(daily: SimResult) -> None:
    tr = daily.truth
    st = tr.steps
    for k in (0, len(st) - 1):
        before = tr.t_s <= st.t_ic_s[k]
        expected = quiet_standing_neutral_deg(tr.t_s[before], tr.roll_deg[before], tr.quiet_standing[before])
        assert st.neutral_deg[k] == pytest.approx(expected)
        assert st.neutral_source[k] == "standing"
    assert st.neutral_deg[0] != st.neutral_deg[-1]  # walking uses the first stand, running the second


def test_stride_neutral_without_standing() -> None:
    res = simulate(Scenario(segments=[Running(duration_s=20.0)], sensor=SensorModel.ideal(), seed=2))
    st = res.truth.steps
    assert set(st.neutral_source) == {"stride"}
    assert np.all(np.abs(st.neutral_deg - 0.5) < 1.0)  # the subject's standing obliquity, plus the mean of the bumps


def test_exercise_magnitudes(exercises: SimResult) -> None:
    tr = exercises.truth
    reps = tr.reps
    f = np.linalg.norm(exercises.acc_true_mps2, axis=1)
    w = np.linalg.norm(exercises.gyr_true_radps, axis=1)
    expected_travel = {
        "squat": (0.35, 0.55),
        "lunge": (0.25, 0.45),
        "static_lunge": (0.2, 0.4),
        "step_up": (0.2, 0.4),
        "glute_bridge": (0.1, 0.25),
        "single_leg_bridge": (0.08, 0.2),
        "hip_thrust": (0.2, 0.4),
        "romanian_deadlift": (0.03, 0.15),
        "donkey_kick": (0.0, 0.05),
        "sit_to_stand": (0.35, 0.55),
    }
    for ex, (lo, hi) in expected_travel.items():
        m = np.asarray(reps.exercise) == ex
        assert m.sum() == 10, ex
        assert np.all((reps.vertical_travel_m[m] > lo) & (reps.vertical_travel_m[m] < hi)), ex
        sel = (tr.t_s >= reps.t_start_s[m][0]) & (tr.t_s <= reps.t_end_s[m][-1])
        assert np.all((f[sel] > 0.6 * G) & (f[sel] < 1.5 * G)), ex
        assert w[sel].max() < 3.0, ex
        one_sided = [s for s, e in zip(reps.side, reps.exercise, strict=True) if e == ex and s is not None]
        if one_sided:  # per-rep tilt: the exercise's typical tilt with 0.8 deg SD
            assert np.median(reps.lateral_tilt_deg[m]) == pytest.approx(EXERCISES[ex].lateral_tilt_deg, abs=0.8), ex
        else:
            assert np.all(reps.lateral_tilt_deg[m] == 0.0), ex
    assert list(tr.sets.reps) == [10] * 10
    assert tr.holds.t_end_s[0] - tr.holds.t_start_s[0] == pytest.approx(5.0)


def test_rep_phases_agree_with_the_motion(exercises: SimResult) -> None:
    tr = exercises.truth
    reps = tr.reps
    t = tr.t_s
    for i in range(len(reps)):
        bounds = (reps.t_start_s[i], reps.t_far_s[i], reps.t_return_s[i], reps.t_end_s[i])
        a, far, ret, end = (int(np.searchsorted(t, x)) for x in bounds)
        z = tr.z_m
        # the pelvis is still at the boundaries and moves most between them
        travel = abs(z[far] - z[a])
        assert travel == pytest.approx(reps.vertical_travel_m[i], rel=0.05, abs=0.003)
        assert abs(z[end] - z[a]) < 0.003
        assert abs(z[ret] - z[far]) < 0.003
        assert reps.t_start_s[i] < reps.t_far_s[i] <= reps.t_return_s[i] < reps.t_end_s[i]
    squat = np.asarray(reps.exercise) == "squat"
    t_mid_descent = 0.5 * (reps.t_start_s[squat] + reps.t_far_s[squat])
    vz = np.gradient(tr.z_m, t)
    assert np.all(np.interp(t_mid_descent, t, vz) < -0.1)  # eccentric first: the pelvis goes down
    bridge = np.asarray(reps.exercise) == "glute_bridge"
    t_mid_lift = 0.5 * (reps.t_start_s[bridge] + reps.t_far_s[bridge])
    assert np.all(np.interp(t_mid_lift, t, vz) > 0.05)  # concentric first: it goes up
    assert np.allclose(reps.concentric_s[bridge], reps.t_far_s[bridge] - reps.t_start_s[bridge])


def test_hill_raises_the_pelvis_and_leans_it_forward() -> None:
    from sensor.sim import Hill

    def sc(grade: float) -> Scenario:
        hills = [Hill(at_s=10.0, duration_s=30.0, grade_pct=grade, ramp_s=3.0)] if grade else []
        return Scenario(
            segments=[Standing(duration_s=3.0), Running(duration_s=50.0, speed_mps=3.0, hills=hills)],
            sensor=SensorModel.ideal(),
            seed=5,
        )

    hill, flat = simulate(sc(8.0)).truth, simulate(sc(0.0)).truth
    rise = hill.z_m - flat.z_m
    # climb = speed * grade * (hold + one ramp): 3 m/s * 0.08 * (24 s + 3 s)
    assert rise[-1] == pytest.approx(3.0 * 0.08 * 27.0, rel=0.01)
    mid = (hill.t_s > 20.0) & (hill.t_s < 30.0)
    np.testing.assert_allclose((hill.pitch_deg - flat.pitch_deg)[mid], 0.35 * 8.0, atol=1e-9)
    np.testing.assert_allclose(hill.roll_deg, flat.roll_deg, atol=1e-12)


def test_demo_has_a_weak_left_side_that_fatigues() -> None:
    res = simulate(Scenario.preset("demo").model_copy(update={"sensor": SensorModel.ideal()}))
    st = res.truth.steps
    run = (np.asarray(st.activity) == "running") & st.steady & ~st.in_turn
    left = run & (np.asarray(st.side) == "left")
    right = run & (np.asarray(st.side) == "right")
    assert np.median(st.pelvic_drop_deg[left]) > np.median(st.pelvic_drop_deg[right]) + 2.5
    slope_left = np.polyfit(st.t_ic_s[left], st.pelvic_drop_deg[left], 1)[0] * 600.0
    slope_right = np.polyfit(st.t_ic_s[right], st.pelvic_drop_deg[right], 1)[0] * 600.0
    assert slope_left == pytest.approx(3.0, abs=0.5)  # deg per 10 min, as configured
    assert slope_right == pytest.approx(0.5, abs=0.5)
    assert list(res.truth.sets.exercise) == ["squat", "glute_bridge", "single_leg_bridge"]
    assert list(res.truth.holds.exercise) == ["squat"]
