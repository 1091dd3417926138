"""Self-validation of the simulator's physics: orientation, gravity, mounting, events vs kinematics."""

from __future__ import annotations

import numpy as np
import pytest

from sensor.frames import STANDARD_GRAVITY_MPS2 as G
from sensor.sim import (
    ExerciseSet,
    Mounting,
    Running,
    Scenario,
    SensorModel,
    Standing,
    Subject,
    Turn,
    Walking,
    simulate,
)
from tests.sim._helpers import integrate_gyro, rotation_angle_deg, sensor_orientation

TILTED = Mounting(euler_deg=(150.0, 10.0, -20.0), lever_arm_m=(-0.10, 0.02, 0.03))


def _mixed(sensor: SensorModel | None = None) -> Scenario:
    return Scenario(
        segments=[
            Standing(duration_s=4.0),
            Walking(duration_s=12.0, turns=[Turn(at_s=5.0, angle_deg=90.0, duration_s=2.0)]),
            Running(duration_s=14.0, drop_left_deg=5.0, drop_right_deg=9.0, turns=[Turn(at_s=6.0, angle_deg=-120.0)]),
            ExerciseSet(exercise="squat", reps=2),
            ExerciseSet(exercise="single_leg_bridge", reps=2, side="right"),
        ],
        sensor=sensor or SensorModel.ideal(),
        mounting=TILTED,
        seed=11,
    )


def test_integrating_the_gyroscope_reproduces_the_orientation() -> None:
    errors = []
    for fs in (208.0, 416.0):
        res = simulate(_mixed(SensorModel.ideal(fs)))
        r_true = sensor_orientation(res.truth)
        assert res.block.gyr_radps is not None
        r_int = integrate_gyro(r_true[0], res.block.gyr_radps, 1.0 / fs)
        errors.append(float(rotation_angle_deg(r_true, r_int).max()))
    # ~50 s of walking, running with turns and floor exercises: the only error is the integrator's, which
    # shrinks with the step size like dt^2 (a modelling inconsistency would not shrink)
    assert errors[0] < 0.02, errors
    assert errors[1] < errors[0] / 3.0, errors


def test_a_still_sensor_reads_gravity_only() -> None:
    sc = Scenario(
        segments=[Standing(duration_s=10.0)],
        subject=Subject(sway=0.0, standing_obliquity_deg=2.0, standing_tilt_deg=-5.0),
        sensor=SensorModel.ideal(),
        mounting=TILTED,
    )
    res = simulate(sc)
    acc, gyr = res.block.acc_mps2, res.block.gyr_radps
    assert gyr is not None
    np.testing.assert_allclose(np.linalg.norm(acc, axis=1), G, rtol=1e-12)
    np.testing.assert_allclose(gyr, 0.0, atol=1e-12)
    # gravity direction: up in the world is R_sensor_from_world e_z
    up_sensor = sensor_orientation(res.truth)[0].T @ np.array([0.0, 0.0, 1.0])
    np.testing.assert_allclose(acc[0] / G, up_sensor, atol=1e-12)
    assert res.truth.roll_deg[0] == pytest.approx(2.0)
    assert res.truth.pitch_deg[0] == pytest.approx(-5.0)


def test_the_mounting_is_recoverable_from_standing_and_walking() -> None:
    sc = Scenario(
        segments=[Standing(duration_s=5.0), Walking(duration_s=30.0)],
        subject=Subject(standing_obliquity_deg=0.0, standing_tilt_deg=0.0),
        mounting=Mounting(euler_deg=(-70.0, 25.0, 35.0), lever_arm_m=(-0.1, 0.0, 0.0)),
        seed=5,
    )  # default (noisy, biased, quantised) sensor
    res = simulate(sc)
    blk, truth = res.block, res.truth
    standing = (blk.t_s > 1.0) & (blk.t_s < 4.5)
    v_axis = blk.acc_mps2[standing].mean(axis=0)
    v_axis /= np.linalg.norm(v_axis)
    walk = blk.t_s > 12.0
    acc_h = blk.acc_mps2[walk] - np.outer(blk.acc_mps2[walk] @ v_axis, v_axis)
    acc_h -= acc_h.mean(axis=0)
    ap = np.linalg.eigh(acc_h.T @ acc_h)[1][:, -1]  # dominant horizontal direction: fore-aft in walking
    # sign: walking starts by speeding up forward
    start = (blk.t_s > 5.0) & (blk.t_s < 6.5)
    if (blk.acc_mps2[start] @ ap).mean() < 0:
        ap = -ap
    ap -= (ap @ v_axis) * v_axis
    ap /= np.linalg.norm(ap)
    ml = np.cross(v_axis, ap)
    r_sensor_from_pelvis_est = np.stack([ap, ml, v_axis], axis=1)
    err = rotation_angle_deg(r_sensor_from_pelvis_est[None], truth.r_sensor_from_pelvis[None])[0]
    assert err < 2.0, f"mounting recovered within {err:.2f} deg"


def test_running_events_agree_with_the_kinematics() -> None:
    sc = Scenario(
        segments=[Standing(duration_s=3.0), Running(duration_s=30.0, drop_left_deg=5.0, drop_right_deg=9.0)],
        sensor=SensorModel.ideal(),
        mounting=Mounting(euler_deg=(30.0, 0.0, 0.0), lever_arm_m=(0.0, 0.0, 0.0)),
        seed=3,
    )
    res = simulate(sc)
    truth, steps = res.truth, res.truth.steps
    r_ws = sensor_orientation(truth)
    f_world = np.einsum("nij,nj->ni", r_ws, res.block.acc_mps2)
    t = truth.t_s
    sel = np.flatnonzero(steps.steady)
    assert sel.size > 60
    for k in sel:
        ic, to, nxt = steps.t_ic_s[k], steps.t_to_s[k], steps.t_ic_s[k] + steps.step_time_s[k]
        flight = (t > to + 0.01) & (t < nxt - 0.01)
        stance = (t >= ic) & (t <= to)
        # flight: free fall, the accelerometer reads (nearly) nothing
        assert np.abs(f_world[flight, 2]).max() < 0.05
        assert np.linalg.norm(f_world[flight], axis=1).max() < 1.0
        # stance: vertical specific force rises from ~0 at contact to 1.8-3.5 g in mid-stance
        fz = f_world[stance, 2]
        assert fz[0] < 2.5
        assert 1.8 * G < fz.max() < 3.5 * G
        peak_t = t[stance][np.argmax(fz)]
        assert ic + 0.3 * (to - ic) < peak_t < ic + 0.7 * (to - ic)
        step = (t >= ic) & (t < nxt)
        assert steps.obliquity_range_deg[k] == pytest.approx(np.ptp(truth.roll_deg[step]))
        assert steps.tilt_range_deg[k] == pytest.approx(np.ptp(truth.pitch_deg[step]))
        assert steps.rotation_range_deg[k] == pytest.approx(np.ptp(truth.yaw_deg[step]))
        assert steps.flight_time_s[k] == pytest.approx(nxt - to)
        # braking after contact, propulsion before toe-off (heading = world x here)
        n_st = fz.size
        assert f_world[stance, 0][: int(0.4 * n_st)].mean() < -1.0
        assert f_world[stance, 0][int(0.6 * n_st) :].mean() > 1.0
    # sides alternate; 5 deg on left stance and 9 deg on right stance (+- step-to-step variability)
    side = np.asarray(steps.side)[sel]
    assert np.all(side[1:] != side[:-1])
    drop = steps.pelvic_drop_deg[sel]
    assert np.median(drop[side == "left"]) == pytest.approx(5.0, abs=0.5)
    assert np.median(drop[side == "right"]) == pytest.approx(9.0, abs=0.5)
    np.testing.assert_allclose(drop, steps.target_drop_deg[sel], atol=0.6)  # neutral offset 0.5 deg + sway
    cadence = 60.0 / steps.step_time_s[sel]
    assert 160 < np.median(cadence) < 180
    assert np.all((steps.vertical_oscillation_m[sel] > 0.05) & (steps.vertical_oscillation_m[sel] < 0.11))
    assert {steps.neutral_source[k] for k in sel} == {"standing"}


def _height_error_m(fs: float) -> tuple[float, float]:
    sc = Scenario(
        segments=[
            Standing(duration_s=3.0),
            Walking(duration_s=10.0),
            Running(duration_s=15.0),
            ExerciseSet(exercise="squat", reps=2),
        ],
        sensor=SensorModel.ideal(fs),
        mounting=Mounting(euler_deg=(30.0, -10.0, 5.0), lever_arm_m=(0.0, 0.0, 0.0)),
        subject=Subject(sway=0.0),
        seed=12,
    )
    res = simulate(sc)
    truth = res.truth
    f_world = np.einsum("nij,nj->ni", sensor_orientation(truth), res.block.acc_mps2)
    az = f_world[:, 2] - G
    dt = 1.0 / fs
    vz = np.concatenate([[0.0], np.cumsum(0.5 * (az[1:] + az[:-1]) * dt)])
    z = truth.z_m[0] + np.concatenate([[0.0], np.cumsum(0.5 * (vz[1:] + vz[:-1]) * dt)])
    return float(np.abs(z - truth.z_m).max()), float(np.ptp(truth.z_m))


def test_integrating_the_accelerometer_reproduces_the_height() -> None:
    """Specific force rotated to the world, minus gravity, integrated twice gives back the true pelvis height.

    The stance force has kinks at contact and toe-off, so trapezoidal double integration converges quickly with
    the sampling rate; the residual is integration error, not model error.
    """
    coarse, _ = _height_error_m(1664.0)
    fine, travel = _height_error_m(3328.0)
    assert travel > 0.4  # 8 cm per running step, 45 cm per squat
    assert fine < 0.001, fine  # 30 s of double integration
    assert fine < coarse / 4.0, (coarse, fine)


@pytest.mark.parametrize("place", ["sacrum", "belt_back", "belt_left", "belt_right"])
def test_typical_mountings_point_x_up_and_z_out_of_the_body(place: str) -> None:
    m = Mounting.typical(place)
    r = m.r_pelvis_from_sensor()
    np.testing.assert_allclose(r.T @ r, np.eye(3), atol=1e-12)
    assert np.linalg.det(r) == pytest.approx(1.0)
    x_axis, z_axis = r[:, 0], r[:, 2]
    assert x_axis[2] > 0.9  # x points up
    lever = np.asarray(m.lever_arm_m)
    outward = lever / np.linalg.norm(lever)
    assert z_axis @ outward > 0.7  # z points away from the pelvis centre, out of the body


def test_clip_wobble_moves_the_accelerometer_only() -> None:
    def run(wobble_g: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        sc = Scenario(
            segments=[Standing(duration_s=3.0), Running(duration_s=12.0, soft_tissue_g=wobble_g)],
            sensor=SensorModel.ideal(416.0),
            mounting=TILTED,
            seed=8,
        )
        res = simulate(sc)
        assert res.block.gyr_radps is not None
        return res.block.acc_mps2, res.block.gyr_radps, res.truth.roll_deg

    acc0, gyr0, roll0 = run(0.0)
    acc1, gyr1, roll1 = run(1.5)
    np.testing.assert_array_equal(gyr0, gyr1)  # a translating clip does not rotate
    np.testing.assert_array_equal(roll0, roll1)  # the pelvis truth is untouched
    diff = np.linalg.norm(acc1 - acc0, axis=1)
    # peak ~ 1.5 g along V plus half of it along AP: sqrt(1.25) * 1.5 g, under the bump envelope
    assert 1.0 * G < diff.max() < 2.0 * G
    assert np.median(diff) < 0.2 * G  # rings for 0.2 s after each contact, then quiet
