"""From pelvis kinematics to IMU readings: exact rigid-body kinematics, then the sensor's error model.

Angular rate in the pelvis frame from the Z-X-Y (yaw, roll, pitch) angles and their exact derivatives::

    w = yaw' (-sin p cos r, sin r, cos p cos r) + roll' (cos p, 0, sin p) + pitch' (0, 1, 0)

and its exact derivative ``alpha``. Specific force at the sensor (lever arm ``r`` from the pelvis centre, pelvis
frame)::

    f = R^T (a - g) + alpha x r + w x (w x r)

with ``g = (0, 0, -9.80665)`` in the world frame. Both are then rotated into the sensor frame by the mounting.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from sensor.frames import STANDARD_GRAVITY_MPS2
from sensor.model import ImuBlock
from sensor.sim.jet import jcos, jsin
from sensor.sim.kinematics import Channels
from sensor.sim.scenario import SensorModel

FloatArray = NDArray[np.float64]


def rotation_world_from_pelvis(roll_deg: FloatArray, pitch_deg: FloatArray, yaw_deg: FloatArray) -> FloatArray:
    """``R = Rz(yaw) Rx(roll) Ry(pitch)`` per sample, shape ``(n, 3, 3)`` (see :mod:`sensor.frames`)."""
    r, p, y = np.radians(roll_deg), np.radians(pitch_deg), np.radians(yaw_deg)
    cr, sr, cp, sp, cy, sy = np.cos(r), np.sin(r), np.cos(p), np.sin(p), np.cos(y), np.sin(y)
    out = np.empty((*np.shape(r), 3, 3))
    out[..., 0, 0] = cy * cp - sy * sr * sp
    out[..., 0, 1] = -sy * cr
    out[..., 0, 2] = cy * sp + sy * sr * cp
    out[..., 1, 0] = sy * cp + cy * sr * sp
    out[..., 1, 1] = cy * cr
    out[..., 1, 2] = sy * sp - cy * sr * cp
    out[..., 2, 0] = -cr * sp
    out[..., 2, 1] = sr
    out[..., 2, 2] = cr * cp
    return out


def _cross(a: FloatArray, b: FloatArray) -> FloatArray:
    return np.stack(
        [
            a[:, 1] * b[:, 2] - a[:, 2] * b[:, 1],
            a[:, 2] * b[:, 0] - a[:, 0] * b[:, 2],
            a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0],
        ],
        axis=1,
    )


def pelvis_imu(ch: Channels, lever_arm_m: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Exact specific force (m/s^2) and angular rate (rad/s) at the sensor position, in the PELVIS frame."""
    roll, pitch = ch.roll, ch.pitch
    yaw = ch.heading + ch.yaw_osc
    sr, cr = np.sin(roll.v), np.cos(roll.v)
    sp, cp = np.sin(pitch.v), np.cos(pitch.v)
    sy, cy = np.sin(yaw.v), np.cos(yaw.v)
    y1, y2, r1, r2, p1, p2 = yaw.d1, yaw.d2, roll.d1, roll.d2, pitch.d1, pitch.d2

    w = np.stack([-y1 * sp * cr + r1 * cp, y1 * sr + p1, y1 * cp * cr + r1 * sp], axis=1)
    alpha = np.stack(
        [
            -y2 * sp * cr - y1 * (cp * p1 * cr - sp * sr * r1) + r2 * cp - r1 * sp * p1,
            y2 * sr + y1 * cr * r1 + p2,
            y2 * cp * cr + y1 * (-sp * p1 * cr - cp * sr * r1) + r2 * sp + r1 * cp * p1,
        ],
        axis=1,
    )

    hx, hy = jcos(ch.heading), jsin(ch.heading)
    px = ch.s_ap * hx - ch.s_ml * hy
    py = ch.s_ap * hy + ch.s_ml * hx
    v, v1, h1 = ch.speed.v, ch.speed.d1, ch.heading.d1
    ax = v1 * hx.v - v * h1 * hy.v + px.d2
    ay = v1 * hy.v + v * h1 * hx.v + py.d2
    az = ch.z.d2 + STANDARD_GRAVITY_MPS2

    u1 = cy * ax + sy * ay
    u2 = -sy * ax + cy * ay
    w2 = cr * u2 + sr * az
    w3 = -sr * u2 + cr * az
    f = np.stack([cp * u1 - sp * w3, w2, sp * u1 + cp * w3], axis=1)
    r = np.broadcast_to(np.asarray(lever_arm_m, dtype=float), f.shape)
    if np.any(lever_arm_m):
        f = f + _cross(alpha, r) + _cross(w, _cross(w, r))
    return f, w


@dataclass(frozen=True, slots=True)
class SensorErrors:
    """The error realisation of one run (for the truth)."""

    acc_scale: FloatArray
    gyr_scale: FloatArray
    acc_bias_t_s: FloatArray
    acc_bias_mps2: FloatArray
    gyr_bias_t_s: FloatArray
    gyr_bias_radps: FloatArray


def _bias_knots(rng: np.random.Generator, duration_s: float, sd: float, drift: float) -> tuple[FloatArray, FloatArray]:
    knots = np.arange(0.0, duration_s + 2.0, 1.0)
    b0 = rng.normal(0.0, sd, 3) if sd > 0 else np.zeros(3)
    steps = rng.normal(0.0, drift, (knots.size, 3)) if drift > 0 else np.zeros((knots.size, 3))
    steps[0] = 0.0
    return knots, b0 + np.cumsum(steps, axis=0)


def _quantize(x: FloatArray, full_scale: float) -> FloatArray:
    lsb = 2.0 * full_scale / 65536.0
    out: FloatArray = np.clip(np.round(x / lsb), -32768, 32767) * lsb
    return out


def apply_sensor(
    t_s: FloatArray,
    acc: FloatArray,
    gyr: FloatArray,
    model: SensorModel,
    rng: np.random.Generator,
    sensor_id: str,
) -> tuple[ImuBlock, SensorErrors]:
    """Scale error, bias + drift, white noise, int16 quantisation with saturation, jitter and packet loss."""
    n = t_s.size
    duration = float(t_s[-1]) if n else 0.0
    acc_scale = 1.0 + (rng.normal(0.0, model.acc_scale_error_sd, 3) if model.acc_scale_error_sd > 0 else np.zeros(3))
    gyr_scale = 1.0 + (rng.normal(0.0, model.gyr_scale_error_sd, 3) if model.gyr_scale_error_sd > 0 else np.zeros(3))
    ab_t, ab = _bias_knots(rng, duration, model.acc_bias_sd_mps2, model.acc_bias_drift_mps2_per_sqrt_s)
    gb_t, gb = _bias_knots(rng, duration, model.gyr_bias_sd_radps, model.gyr_bias_drift_radps_per_sqrt_s)
    half_bw = np.sqrt(model.sampling_rate_hz / 2.0)

    def bias_at(knots: FloatArray, vals: FloatArray) -> FloatArray:
        if not np.any(vals):
            return np.zeros((n, 3))
        return np.stack([np.interp(t_s, knots, vals[:, i]) for i in range(3)], axis=1)

    acc_m = acc * acc_scale + bias_at(ab_t, ab)
    gyr_m = gyr * gyr_scale + bias_at(gb_t, gb)
    if model.acc_noise_density_mps2_per_sqrt_hz > 0:
        acc_m += rng.normal(0.0, model.acc_noise_density_mps2_per_sqrt_hz * half_bw, (n, 3))
    if model.gyr_noise_density_radps_per_sqrt_hz > 0:
        gyr_m += rng.normal(0.0, model.gyr_noise_density_radps_per_sqrt_hz * half_bw, (n, 3))
    if model.quantize:
        acc_m = _quantize(acc_m, model.acc_range_g * STANDARD_GRAVITY_MPS2)
        gyr_m = _quantize(gyr_m, np.radians(model.gyr_range_dps))
    else:
        lim_a = model.acc_range_g * STANDARD_GRAVITY_MPS2
        lim_g = np.radians(model.gyr_range_dps)
        acc_m = np.clip(acc_m, -lim_a, lim_a)
        gyr_m = np.clip(gyr_m, -lim_g, lim_g)

    t_rep = t_s
    if model.timestamp_jitter_s > 0:
        lim = 0.45 / model.sampling_rate_hz  # keeps the time stamps strictly increasing
        t_rep = t_s + np.clip(rng.normal(0.0, model.timestamp_jitter_s, n), -lim, lim)
    index = np.arange(n, dtype=np.int64)
    keep = np.ones(n, dtype=bool)
    if model.packet_loss_probability > 0:
        n_packets = -(-n // model.samples_per_packet)
        lost = rng.random(n_packets) < model.packet_loss_probability
        keep = ~np.repeat(lost, model.samples_per_packet)[:n]
    kept = index[keep]
    missing = np.diff(kept, prepend=-1) - 1
    block = ImuBlock.from_arrays(
        sensor_id,
        t_rep[keep],
        acc_m[keep],
        gyr_m[keep] if model.has_gyr else None,
        sample_index=kept,
        missing_before=missing,
    )
    errors = SensorErrors(acc_scale, gyr_scale, ab_t, ab, gb_t, gb)
    return block, errors
