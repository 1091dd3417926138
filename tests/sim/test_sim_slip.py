"""sensor.sim.slip: a recording whose clip turns on the pelvis partway through."""

from __future__ import annotations

import math
from functools import cache

import numpy as np
import pytest

from sensor.sim import Mounting, Running, Scenario, SensorModel, SimResult, Standing, simulate
from sensor.sim.slip import slip_recording

FS = 104.0


@cache
def _res() -> SimResult:
    sc = Scenario(
        segments=[Standing(duration_s=6.0), Running(duration_s=10.0), Standing(duration_s=6.0)],
        sensor=SensorModel(sampling_rate_hz=FS),
        mounting=Mounting(euler_deg=(160.0, 10.0, -15.0)),
        seed=3,
    )
    return simulate(sc)


def _angle_deg(a: np.ndarray, b: np.ndarray) -> float:
    return math.degrees(math.acos(min(1.0, float(a @ b / np.linalg.norm(a) / np.linalg.norm(b)))))


def test_no_slip_is_the_recording_itself() -> None:
    res = _res()
    sl = slip_recording(res, 8.0, "V", 0.0)
    assert np.array_equal(sl.block.acc_mps2, res.block.acc_mps2)
    assert sl.block.gyr_radps is not None
    assert res.block.gyr_radps is not None
    assert np.array_equal(sl.block.gyr_radps, res.block.gyr_radps)
    assert np.array_equal(sl.block.t_s, res.block.t_s)
    assert np.array_equal(sl.r_after, sl.r_before)


def test_slip_about_ap_turns_gravity_and_the_true_mounting_follows() -> None:
    res = _res()
    sl = slip_recording(res, 10.0, "AP", 8.0)
    t = sl.block.t_s
    end = (t > 17.5) & (t < 21.5)
    g_slip = sl.block.acc_mps2[end].mean(axis=0)
    g_orig = res.block.acc_mps2[end].mean(axis=0)
    assert _angle_deg(g_slip, g_orig) == pytest.approx(8.0, abs=0.1)  # the standing gravity turned by the slip
    # seen through the true mountings, the same pelvis-frame direction
    assert _angle_deg(sl.r_after @ g_slip, sl.r_before @ g_orig) < 0.1
    early = t < 9.9
    assert np.array_equal(sl.block.acc_mps2[early], res.block.acc_mps2[early])  # nothing changed before it
    # the gyroscope sees the slip's own turn: over the 0.3 s ramp its extra rate integrates to 8 deg about AP
    gyr_slip, gyr_orig = sl.block.gyr_radps, res.block.gyr_radps
    assert gyr_slip is not None
    assert gyr_orig is not None
    ramp = (t >= 9.95) & (t <= 10.35)
    extra_rad = gyr_slip[ramp].sum(axis=0) / FS - gyr_orig[ramp].sum(axis=0) / FS
    assert math.degrees(float(extra_rad @ sl.r_before[0])) == pytest.approx(8.0, abs=0.5)
