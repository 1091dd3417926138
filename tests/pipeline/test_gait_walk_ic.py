"""Walking initial contact from the peak forward acceleration (sensor.pipeline.gait.GaitDetector._walk_ic_ap)."""

from __future__ import annotations

import dataclasses
from functools import cache

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sensor.model import ImuBlock
from sensor.pipeline.buffer import SignalBuffer
from sensor.pipeline.gait import GaitDetector
from tests.pipeline._sims import match, run_pipeline, steps_of, walk_sim

FS = 100.0


def _detector(acc_ap_mps2: np.ndarray) -> GaitDetector:
    buf = SignalBuffer(("acc_ap",), keep=round(8 * FS))
    buf.write("acc_ap", 0, acc_ap_mps2)
    return GaitDetector(FS, buf, has_gyr=True)


def test_ic_is_the_peak_forward_acceleration_before_a_late_loading_peak() -> None:
    # a walking step: forward acceleration peaks at heel strike (1.00 s), then the new stance brakes; the vertical
    # loading peak comes 130 ms later (the late foot of the real recordings), the other foot's 30 ms later
    t = np.arange(400) / FS
    hs_s = np.array([1.0, 2.5])
    ap = np.zeros(t.size)
    for h in hs_s:
        ap += 1.5 * np.exp(-0.5 * ((t - h) / 0.04) ** 2) - 2.0 * np.exp(-0.5 * ((t - h - 0.12) / 0.03) ** 2)
    peaks = np.array([round((1.0 + 0.13) * FS), round((2.5 + 0.03) * FS)])
    ic = _detector(ap)._walk_ic_ap(peaks)
    np.testing.assert_allclose(ic / FS, hs_s, atol=0.006)  # within a sample at 100 Hz (0.05 s smoothing)


def test_no_interior_forward_peak_falls_back() -> None:
    # a plain step-frequency sine whose maximum lies half a step from the loading peak (the simulator's walking
    # model): the search window only sees a slope, so there is no IC from it (nan: the caller falls back)
    t = np.arange(400) / FS
    ap = np.cos(2 * np.pi * (t - 1.3) / 0.55)
    ic = _detector(ap)._walk_ic_ap(np.array([round(1.3 * FS + 0.55 / 2 * FS)]))
    assert np.isnan(ic).all()


HS_LEAD_S = 0.06  # the added forward-acceleration peak comes this long before the simulator's IC


@cache
def _walk_with_forward_peaks() -> tuple[ImuBlock, np.ndarray]:
    """The simulated walk plus a real-data-like forward-acceleration peak (then braking) at every heel strike.

    The simulator's walking AP acceleration is a plain step-frequency sine (no peak at contact), so the AP rule
    would never apply; here each step gets a +3 m/s^2 peak ``HS_LEAD_S`` before the simulated IC followed by a
    -4 m/s^2 braking dip (zero net impulse), along the pelvis AP axis (sensor -y for the yaw-90 mounting).
    """
    res = walk_sim()
    blk = res.block
    hs = res.truth.steps.t_ic_s - HS_LEAD_S
    ap = np.zeros(len(blk))
    for h in hs:
        ap += 3.0 * np.exp(-0.5 * ((blk.t_s - h) / 0.04) ** 2) - 4.0 * np.exp(-0.5 * ((blk.t_s - h - 0.12) / 0.03) ** 2)
    acc = blk.acc_mps2.copy()
    acc[:, 1] -= ap
    return dataclasses.replace(blk, acc_mps2=acc), hs


def test_walking_ic_follows_the_forward_acceleration_peak() -> None:
    blk, hs = _walk_with_forward_peaks()
    steps = steps_of(run_pipeline(blk, 104.0)[1])
    te = np.array([s.t_s for s in steps])
    pe, pt = match(te, hs, 0.06)
    assert 2 * pe.size / (te.size + hs.size) > 0.97
    err_ms = np.abs(te[pe] - hs[pt]) * 1000
    assert np.median(err_ms) < 8.0  # the fixed-offset fallback would be ~60 ms late here


@settings(max_examples=3, deadline=None)
@given(st.lists(st.integers(1, 300), min_size=1, max_size=4))
def test_walking_ic_is_chunk_invariant(sizes: list[int]) -> None:
    blk, _ = _walk_with_forward_peaks()
    whole = [s.t_s for s in steps_of(run_pipeline(blk, 104.0)[1])]
    chunked = [s.t_s for s in steps_of(run_pipeline(blk, 104.0, sizes)[1])]
    assert len(whole) > 40
    np.testing.assert_allclose(chunked, whole, rtol=0, atol=1e-9)
