from __future__ import annotations

import numpy as np
import pytest

from sensor.definitions import (
    obliquity_deg_from_rotation,
    pelvic_drop_deg,
    quiet_standing_neutral_deg,
    stride_neutral_deg,
)


def _rx(angle_deg: float) -> np.ndarray:
    a = np.radians(angle_deg)
    c, s = np.cos(a), np.sin(a)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def test_obliquity_positive_when_left_side_higher() -> None:
    # rotating about AP (x, forward) by +5 deg lifts the ML (left, y) axis: left side higher.
    r = _rx(5.0)[None]
    assert obliquity_deg_from_rotation(r)[0] == pytest.approx(5.0)


def test_obliquity_does_not_depend_on_yaw() -> None:
    yaw = np.radians(70.0)
    rz = np.array([[np.cos(yaw), -np.sin(yaw), 0], [np.sin(yaw), np.cos(yaw), 0], [0, 0, 1]])
    assert obliquity_deg_from_rotation((rz @ _rx(-3.0))[None])[0] == pytest.approx(-3.0)


def test_drop_sign_left_and_right_stance() -> None:
    t = np.arange(0, 2, 0.01)
    obl = np.zeros_like(t)
    obl[(t >= 0.1) & (t <= 0.3)] = 4.0  # left side higher during left stance: right (swing) side drops
    obl[(t >= 0.6) & (t <= 0.8)] = -7.0  # right stance, left (swing) side lower
    drop = pelvic_drop_deg(t, obl, np.array([0.1, 0.6]), np.array([0.3, 0.8]), ["left", "right"], 0.0)
    np.testing.assert_allclose(drop, [4.0, 7.0])


def test_drop_measured_from_neutral() -> None:
    t = np.arange(0, 1, 0.01)
    obl = np.full_like(t, 2.0)
    drop = pelvic_drop_deg(t, obl, np.array([0.2]), np.array([0.4]), ["right"], 2.0)
    assert drop[0] == pytest.approx(0.0)


def test_quiet_standing_neutral_takes_latest_long_enough_period() -> None:
    t = np.arange(0, 10, 0.1)
    obl = np.where(t < 5, 1.0, 3.0)
    standing = (t < 3) | ((t > 6) & (t < 7))  # the second period is only 1 s long
    assert quiet_standing_neutral_deg(t, obl, standing) == pytest.approx(1.0)
    assert quiet_standing_neutral_deg(t, obl, np.zeros_like(t, bool)) is None


def test_stride_neutral_is_mean_over_surrounding_stride() -> None:
    t = np.arange(0, 3, 0.001)
    obl = 2.0 + np.sin(2 * np.pi * t / 0.7)  # a stride of 0.7 s, two steps of 0.35 s
    ic = np.arange(0.35, 2.5, 0.35)
    neutral = stride_neutral_deg(t, obl, ic)
    np.testing.assert_allclose(neutral, 2.0, atol=0.01)
