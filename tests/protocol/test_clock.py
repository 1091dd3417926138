"""The sensor-to-host clock estimator and mapping (pure; fixed seeds)."""

from __future__ import annotations

import numpy as np
import pytest

from sensor.errors import ConfigError
from sensor.protocol.clock import ClockEstimator, SensorToHostClock

OFFSET_S = 1.7e9
MIN_DELAY_S = 0.008


def _arrivals(drift_ppm: float, duration_s: float, *, seed: int, period_s: float = 0.05) -> tuple[np.ndarray, ...]:
    """Notification sensor times and host arrival times: host = offset + (1 + d) * sensor + delay >= min."""
    rng = np.random.default_rng(seed)
    sensor_t = np.arange(0.0, duration_s, period_s) + 3.0
    delay = MIN_DELAY_S + rng.exponential(0.015, sensor_t.shape[0])
    host_t = OFFSET_S + (1.0 + drift_ppm * 1e-6) * sensor_t + delay
    return sensor_t, host_t


@pytest.mark.parametrize("drift_ppm", [-80.0, -40.0, 0.0, 25.0, 120.0])
def test_estimator_finds_offset_and_drift_from_the_lower_envelope(drift_ppm: float) -> None:
    s, h = _arrivals(drift_ppm, 300.0, seed=1)
    est = ClockEstimator()
    for a, b in zip(s, h, strict=True):
        est.observe(float(a), float(b))
    e = est.estimate
    assert e is not None
    assert e.drift_ppm == pytest.approx(drift_ppm, abs=3.0)
    # the mapping sits on the fastest deliveries: within a millisecond of the minimum-delay line
    line = OFFSET_S + MIN_DELAY_S + (1.0 + drift_ppm * 1e-6) * s
    assert np.max(np.abs(np.array([e.to_host(float(x)) for x in s]) - line)) < 1.5e-3


def test_late_backlog_deliveries_do_not_pull_the_estimate() -> None:
    s, h = _arrivals(-40.0, 300.0, seed=2)
    late = (s > 100.0) & (s < 130.0)
    h = h + np.where(late, 8.0, 0.0)  # a 30 s stretch replayed 8 s late after a reconnect
    est = ClockEstimator()
    for a, b in zip(s, h, strict=True):
        est.observe(float(a), float(b))
    assert est.estimate is not None
    assert est.estimate.drift_ppm == pytest.approx(-40.0, abs=3.0)


def test_mapping_is_strictly_increasing_continuous_and_converges() -> None:
    s, h = _arrivals(60.0, 240.0, seed=3, period_s=1 / 20.8)
    clock = SensorToHostClock()
    rate_hz = 208.0
    mapped = []
    for a, b in zip(s, h, strict=True):
        samples = a - (9 - np.arange(10)) / rate_hz  # the 10 samples of a notification, newest last
        mapped.append(clock.map(samples, float(b)))
    t = np.concatenate(mapped)
    dt = np.diff(t)
    assert np.all(dt > 0)
    assert np.max(np.abs(dt * rate_hz - 1.0)) < 2600e-6  # at most the estimate's 500 ppm + the 2000 ppm slew
    true_line = OFFSET_S + MIN_DELAY_S + (1.0 + 60e-6) * np.concatenate([a - (9 - np.arange(10)) / rate_hz for a in s])
    late = np.concatenate([np.full(10, a) for a in s]) > 120.0
    assert np.max(np.abs(t[late] - true_line[late])) < 2e-3


def test_same_frames_same_mapping() -> None:
    s, h = _arrivals(-20.0, 60.0, seed=4)
    runs = []
    for _ in range(2):
        clock = SensorToHostClock()
        runs.append(np.concatenate([clock.map(np.array([a]), float(b)) for a, b in zip(s, h, strict=True)]))
    np.testing.assert_array_equal(runs[0], runs[1])


def test_bad_parameters_are_refused_with_the_values() -> None:
    with pytest.raises(ConfigError, match="window_s"):
        ClockEstimator(window_s=0.0)
    with pytest.raises(ConfigError, match="slew"):
        SensorToHostClock(slew_s=-1.0)
