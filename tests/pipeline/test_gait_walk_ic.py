"""Walking initial contact from the peak forward acceleration (sensor.pipeline.gait.GaitDetector._walk_ic_ap)."""

from __future__ import annotations

import numpy as np

from sensor.pipeline.buffer import SignalBuffer
from sensor.pipeline.gait import GaitDetector

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
