"""Deterministic synthetic IMU data for the session tests (no simulator needed): gravity on z plus a 2.8 Hz
running-like bounce and sway, and a fixed-seed noise."""

from __future__ import annotations

import numpy as np

from sensor.model import ImuBlock


def synth_block(
    sensor_id: str = "hip",
    *,
    duration_s: float = 10.0,
    rate_hz: float = 208.0,
    seed: int = 7,
    gyr: bool = True,
    t0_s: float = 0.0,
) -> ImuBlock:
    n = round(duration_s * rate_hz)
    rng = np.random.default_rng(seed)
    t = t0_s + np.arange(n) / rate_hz
    w = 2 * np.pi * 2.8
    acc = np.column_stack(
        [0.8 * np.sin(w * t), 0.5 * np.sin(w / 2 * t + 0.3), 9.80665 + 4.0 * np.sin(w * t + 1.0)]
    ) + rng.normal(0, 0.05, (n, 3))
    g = np.column_stack([0.3 * np.sin(w / 2 * t), 0.2 * np.cos(w * t), 0.5 * np.sin(w / 2 * t + 0.7)]) + rng.normal(
        0, 0.01, (n, 3)
    )
    return ImuBlock.from_arrays(sensor_id, t, acc, g if gyr else None)
