"""The sensor error model: noise, bias, scale, quantisation, saturation, jitter, packet loss."""

from __future__ import annotations

import numpy as np
import pytest

from sensor.frames import STANDARD_GRAVITY_MPS2 as G
from sensor.sim import Mounting, Running, Scenario, SensorModel, Standing, Subject, simulate

STILL = Subject(sway=0.0)


def _still(sensor: SensorModel, seconds: float = 60.0) -> Scenario:
    return Scenario(segments=[Standing(duration_s=seconds)], subject=STILL, sensor=sensor, seed=3)


def test_white_noise_has_the_documented_level() -> None:
    ideal = SensorModel.ideal()
    model = ideal.model_copy(
        update={"acc_noise_density_mps2_per_sqrt_hz": 1e-3, "gyr_noise_density_radps_per_sqrt_hz": 1e-4}
    )
    res = simulate(_still(model))
    sd_expected = np.sqrt(208.0 / 2.0)
    assert res.block.gyr_radps is not None
    np.testing.assert_allclose(np.std(res.block.acc_mps2 - res.acc_true_mps2, axis=0), 1e-3 * sd_expected, rtol=0.03)
    np.testing.assert_allclose(np.std(res.block.gyr_radps, axis=0), 1e-4 * sd_expected, rtol=0.03)


def test_bias_drift_and_scale_are_in_the_truth() -> None:
    model = SensorModel.ideal().model_copy(
        update={
            "gyr_bias_sd_radps": 0.01,
            "gyr_bias_drift_radps_per_sqrt_s": 1e-3,
            "acc_bias_sd_mps2": 0.1,
            "acc_scale_error_sd": 0.01,
        }
    )
    res = simulate(_still(model))
    tr = res.truth
    assert res.block.gyr_radps is not None
    np.testing.assert_allclose(res.block.gyr_radps, tr.gyr_bias_at(res.block.t_s), atol=1e-12)
    drift = np.ptp(tr.gyr_bias_radps, axis=0)
    assert np.all(drift > 1e-3)  # a random walk of 1e-3/sqrt(s) over a minute moves
    expected_acc = res.acc_true_mps2 * tr.acc_scale + tr.acc_bias_at(res.block.t_s)
    np.testing.assert_allclose(res.block.acc_mps2, expected_acc, atol=1e-12)
    assert not np.allclose(tr.acc_scale, 1.0)


def test_int16_quantisation_and_saturation() -> None:
    model = SensorModel.ideal().model_copy(update={"quantize": True, "acc_range_g": 2.0, "gyr_range_dps": 250.0})
    sc = Scenario(
        segments=[Standing(duration_s=3.0), Running(duration_s=15.0)],
        sensor=model,
        mounting=Mounting(euler_deg=(0.0, 0.0, 0.0), lever_arm_m=(0.0, 0.0, 0.0)),
        seed=4,
    )
    res = simulate(sc)
    lsb = 2.0 * 2.0 * G / 65536.0
    codes = res.block.acc_mps2 / lsb
    np.testing.assert_allclose(codes, np.round(codes), atol=1e-6)
    assert codes.max() == pytest.approx(32767)  # running peaks exceed 2 g: saturated
    assert np.abs(res.acc_true_mps2).max() > 2.2 * G
    unsat = np.abs(res.acc_true_mps2) < 1.9 * G
    assert np.abs(res.block.acc_mps2 - res.acc_true_mps2)[unsat].max() <= lsb / 2 + 1e-12


def test_packet_loss_removes_whole_packets_and_marks_the_gaps() -> None:
    model = SensorModel.ideal().model_copy(update={"packet_loss_probability": 0.05, "samples_per_packet": 6})
    res = simulate(_still(model, 120.0))
    blk = res.block
    n_total = res.truth.t_s.size
    assert blk.n_missing + len(blk) == n_total - (n_total - 1 - int(blk.sample_index[-1]))
    lost_share = 1.0 - len(blk) / n_total
    assert 0.035 < lost_share < 0.065
    gaps = blk.missing_before[blk.missing_before > 0]
    assert np.all(gaps % 6 == 0)
    assert np.all(blk.sample_index[blk.missing_before > 0] % 6 == 0)  # packets are aligned
    np.testing.assert_array_equal(np.diff(blk.sample_index) - 1, blk.missing_before[1:])
    np.testing.assert_array_equal(blk.t_s, res.truth.t_s[blk.sample_index])


def test_timestamp_jitter_keeps_order() -> None:
    model = SensorModel.ideal().model_copy(update={"timestamp_jitter_s": 0.001})
    res = simulate(_still(model, 30.0))
    dev = res.block.t_s - res.truth.t_s
    assert np.all(np.diff(res.block.t_s) > 0)
    assert np.abs(dev).max() <= 0.45 / 208.0 + 1e-12
    assert 0.0008 < np.std(dev) < 0.0012


def test_accelerometer_only_sensor() -> None:
    res = simulate(_still(SensorModel(has_gyr=False), 5.0))
    assert res.block.gyr_radps is None
    assert np.median(np.linalg.norm(res.block.acc_mps2, axis=1)) == pytest.approx(G, rel=0.02)


def test_clock_drift_stretches_the_time_stamps() -> None:
    model = SensorModel.ideal().model_copy(update={"clock_drift_ppm": 200.0})
    res = simulate(_still(model, 30.0))
    np.testing.assert_allclose(res.block.t_s, res.truth.t_s * (1.0 + 200e-6), rtol=0, atol=1e-12)
    assert res.block.sampling_rate_hz == pytest.approx(208.0 / (1.0 + 200e-6), rel=1e-9)
