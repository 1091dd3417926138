"""Weak walking steps that continue a chain: their IC (loading peak) and the turn rule (sensor.pipeline.gait)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sensor.pipeline import gait
from tests.pipeline.test_gait_lead_in import FS, STEADY_S, _ic_s, _steps, _walk

N_STEADY = 12


def _slow_end(late_ap_s: float) -> tuple[dict[str, np.ndarray], list[float]]:
    """Steady walking (0.5 g loading humps), then three slow closing steps loading the pelvis by 0.12 g only (weak
    peaks), whose forward-acceleration peak comes ``late_ap_s`` after the heel strike (faded, as on the lower-back
    recordings' slow steps) instead of at it."""
    hs = [4.0 + STEADY_S * k for k in range(N_STEADY)]
    hs += [hs[-1] + 0.65 * (k + 1) for k in range(3)]
    loads = [0.5] * N_STEADY + [0.12] * 3
    cols = _walk(hs, loads)
    t = np.arange(cols["f_v"].size) / FS
    for h in hs[N_STEADY:]:
        # remove the weak step's heel-strike pattern and put a weaker one late
        cols["acc_ap"] -= 1.5 * np.exp(-0.5 * ((t - h) / 0.04) ** 2) - 2.0 * np.exp(-0.5 * ((t - h - 0.12) / 0.03) ** 2)
        cols["acc_ap"] += 0.5 * np.exp(-0.5 * ((t - h - late_ap_s) / 0.04) ** 2)
        cols["acc_ap"] -= 0.6 * np.exp(-0.5 * ((t - h - late_ap_s - 0.08) / 0.03) ** 2)
    return cols, hs


def _turn(turn_load_g: float, turn_deg: float) -> tuple[dict[str, np.ndarray], list[float]]:
    """Steady walking with three steps loading the pelvis by ``turn_load_g`` while the heading turns by ``turn_deg``
    (a pivot turn: 1.8 s), then steady walking again."""
    hs = [4.0 + STEADY_S * k for k in range(2 * N_STEADY)]
    loads = [0.5] * (2 * N_STEADY)
    turn = range(N_STEADY, N_STEADY + 3)
    for k in turn:
        loads[k] = turn_load_g
    cols = _walk(hs, loads)
    t = np.arange(cols["f_v"].size) / FS
    t0, t1 = hs[N_STEADY] - 0.5, hs[N_STEADY + 2] + 0.4
    cols["yaw"] = turn_deg * np.clip((t - t0) / (t1 - t0), 0.0, 1.0)
    return cols, hs


def _pelvic_rotation(cols: dict[str, np.ndarray], hs: list[float], amp_deg: float) -> dict[str, np.ndarray]:
    """``cols`` with the pelvis rotating about the vertical by +-``amp_deg`` with every stride (the extreme at each
    heel strike, alternating with the leading foot) on top of its heading."""
    t = np.arange(cols["f_v"].size) / FS
    phase = np.interp(t, hs, np.arange(len(hs), dtype=np.float64))  # steps since the first heel strike
    return {**cols, "yaw": cols["yaw"] + amp_deg * np.cos(np.pi * phase)}


def _since_last_step_deg(det: gait.GaitDetector, i: int) -> float:
    """The former turn measure: the heading change since the last accepted step (one step, or two after a miss)."""
    assert det._last_peak is not None
    return abs(det.buf.value("yaw", i) - det.buf.value("yaw", det._last_peak))


def test_weak_closing_steps_take_their_ic_from_the_loading_peak() -> None:
    cols, hs = _slow_end(late_ap_s=0.08)
    steps = _steps(cols)
    ic = _ic_s(steps)
    assert ic.size == len(hs)
    assert len({s.chain for s in steps}) == 1
    # loading hump 60 ms after the heel strike: the loading peak minus 60 ms is the heel strike
    np.testing.assert_allclose(ic[N_STEADY:], hs[N_STEADY:], atol=0.02)
    np.testing.assert_allclose(ic[:N_STEADY], hs[:N_STEADY], atol=0.02)  # strong steps: forward acceleration


def test_without_the_rule_weak_steps_follow_the_forward_acceleration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gait, "WEAK_IC_FROM_PEAK", False)
    cols, hs = _slow_end(late_ap_s=0.08)
    ic = _ic_s(_steps(cols))
    assert ic.size == len(hs)
    err = ic[N_STEADY:] - np.array(hs[N_STEADY:])
    assert np.all(err > 0.06)  # the late forward-acceleration peak: not within 60 ms


def test_nearly_strong_peaks_continue_the_chain_through_a_turn() -> None:
    cols, hs = _turn(turn_load_g=0.22, turn_deg=180.0)
    steps = _steps(cols)
    ic = _ic_s(steps)
    assert ic.size == len(hs)
    np.testing.assert_allclose(ic, hs, atol=0.02)
    assert len({s.chain for s in steps}) == 1
    assert [s.side for s in steps] == ["left", "right"] * (len(steps) // 2)


def test_weak_peaks_in_a_turn_are_not_steps_but_are_when_straight() -> None:
    # 0.1 g humps: enough for a straight slow step, not for a step in a pivot turn (weight shifts look the same)
    ic_turn = _ic_s(_steps(_turn(turn_load_g=0.1, turn_deg=180.0)[0]))
    cols, hs = _turn(turn_load_g=0.1, turn_deg=0.0)
    ic_straight = _ic_s(_steps(cols))
    assert ic_straight.size == len(hs)
    np.testing.assert_allclose(ic_straight, hs, atol=0.02)
    turn_hs = hs[N_STEADY : N_STEADY + 3]
    assert not any(np.min(np.abs(ic_turn - h)) < 0.1 for h in turn_hs)
    assert ic_turn.size == len(hs) - 3


def test_turn_prominence_is_what_decides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gait, "TURN_PROMINENCE_G", 9.0)  # the rule off: the chain breaks in the turn
    cols, hs = _turn(turn_load_g=0.22, turn_deg=180.0)
    steps = _steps(cols)
    ic = _ic_s(steps)
    # the first turn step is lost; the next two become lead-in steps of a new chain (at most LEAD_MAX_STEPS)
    assert np.min(np.abs(ic - hs[N_STEADY])) > 0.1
    assert ic.size == len(hs) - 1
    assert len({s.chain for s in steps}) == 2


@pytest.mark.parametrize("since_last_step", [False, True])
def test_pelvic_rotation_of_straight_steps_is_no_turn(monkeypatch: pytest.MonkeyPatch, since_last_step: bool) -> None:
    # straight walking whose pelvis rotates +-11 deg with every stride: the yaw changes by ~22 deg from one step to
    # the next (more than WEAK_MAX_TURN_DEG) but not over a stride, so the heading per step is ~0 and the three weak
    # closing steps (0.12 g: below TURN_PROMINENCE_G, the turn check decides) continue the chain
    if since_last_step:
        monkeypatch.setattr(gait.GaitDetector, "_turn_per_step_deg", _since_last_step_deg)
    cols, hs = _slow_end(late_ap_s=0.08)
    steps = _steps(_pelvic_rotation(cols, hs, 11.0))
    ic = _ic_s(steps)
    if since_last_step:  # the former measure takes the rotation for a turn: the closing steps are lost
        assert ic.size == N_STEADY
        np.testing.assert_allclose(ic, hs[:N_STEADY], atol=0.02)
        return
    assert ic.size == len(hs)
    np.testing.assert_allclose(ic, hs, atol=0.02)
    assert len({s.chain for s in steps}) == 1
    assert [s.side for s in steps] == ["left", "right"] * (len(steps) // 2) + ["left"] * (len(steps) % 2)


def test_weak_peaks_in_a_turn_are_still_turn_steps_with_pelvic_rotation() -> None:
    # the same rotation on top of a pivot turn: the turn per step (180 deg over three steps) still rejects 0.1 g peaks
    cols, hs = _turn(turn_load_g=0.1, turn_deg=180.0)
    ic = _ic_s(_steps(_pelvic_rotation(cols, hs, 11.0)))
    turn_hs = hs[N_STEADY : N_STEADY + 3]
    assert not any(np.min(np.abs(ic - h)) < 0.1 for h in turn_hs)
    assert ic.size == len(hs) - 3


@pytest.mark.parametrize("max_steps", [gait.WEAK_MAX_STEPS, 9.0])
def test_a_weak_step_after_a_skipped_one_is_not_taken(monkeypatch: pytest.MonkeyPatch, max_steps: float) -> None:
    # the last weak step comes 1.6 steady step times after the one before (within the 1.7 of a chain break): a step
    # was skipped, and the chain's alternation would give it the wrong side
    monkeypatch.setattr(gait, "WEAK_MAX_STEPS", max_steps)
    hs = [4.0 + STEADY_S * k for k in range(N_STEADY)]
    hs.append(hs[-1] + 1.6 * STEADY_S)
    steps = _steps(_walk(hs, [0.5] * N_STEADY + [0.12]))
    assert len(steps) == (N_STEADY if max_steps < 1.6 else N_STEADY + 1)
    np.testing.assert_allclose(_ic_s(steps), hs[: len(steps)], atol=0.02)


@settings(max_examples=5, deadline=None)
@given(st.lists(st.integers(1, 400), min_size=1, max_size=4), st.booleans(), st.booleans())
def test_weak_steps_are_chunk_invariant(sizes: list[int], turn: bool, rotation: bool) -> None:
    cols, hs = _turn(turn_load_g=0.22, turn_deg=180.0) if turn else _slow_end(late_ap_s=0.08)
    if rotation:  # the turn measure reads the yaw a stride back
        cols = _pelvic_rotation(cols, hs, 11.0)
    whole = _steps(cols)
    chunked = _steps(cols, sizes)
    assert [(s.peak, s.chain, s.pos, s.side) for s in chunked] == [(s.peak, s.chain, s.pos, s.side) for s in whole]
    assert [s.ic for s in chunked] == [s.ic for s in whole]  # bit for bit
