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
from typing import Any, Final

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


def pelvis_imu(ch: Channels, lever_arm_m: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Exact specific force (m/s^2) and angular rate (rad/s) at the sensor position, in the PELVIS frame."""
    roll, pitch = ch.roll, ch.pitch
    yaw = ch.heading + ch.yaw_osc
    sr, cr = np.sin(roll.v), np.cos(roll.v)
    sp, cp = np.sin(pitch.v), np.cos(pitch.v)
    sy, cy = np.sin(yaw.v), np.cos(yaw.v)
    y1, y2, r1, r2, p1, p2 = yaw.d1, yaw.d2, roll.d1, roll.d2, pitch.d1, pitch.d2
    n = roll.v.size

    w = np.empty((n, 3))
    spcr = sp * cr
    cpcr = cp * cr
    w[:, 0] = r1 * cp - y1 * spcr
    w[:, 1] = y1 * sr + p1
    w[:, 2] = y1 * cpcr + r1 * sp

    # world acceleration: travel along the heading plus displacements in the heading frame
    v, v1 = ch.speed.v, ch.speed.d1
    if np.any(ch.heading.v) or np.any(ch.heading.d1):
        hx, hy = jcos(ch.heading), jsin(ch.heading)
        h1 = ch.heading.d1
        ax = v1 * hx.v - v * h1 * hy.v + (ch.s_ap * hx - ch.s_ml * hy).d2
        ay = v1 * hy.v + v * h1 * hx.v + (ch.s_ap * hy + ch.s_ml * hx).d2
    else:  # straight ahead along world x (the common case: skip the rotating-frame algebra)
        ax = v1 + ch.s_ap.d2
        ay = ch.s_ml.d2
    az = ch.z.d2 + STANDARD_GRAVITY_MPS2

    # f = Ry^T Rx^T Rz^T (a - g)
    u1 = cy * ax + sy * ay
    u2 = cy * ay - sy * ax
    w3 = cr * az - sr * u2
    f = np.empty((n, 3))
    f[:, 0] = cp * u1 - sp * w3
    f[:, 1] = cr * u2 + sr * az
    f[:, 2] = sp * u1 + cp * w3

    rx, ry, rz = (float(x) for x in lever_arm_m)
    wobble = bool(np.any(ch.clip_v.v) or np.any(ch.clip_ap.v))
    if rx or ry or rz or wobble:
        # alpha = d/dt w, differentiated analytically
        al0 = r2 * cp - r1 * sp * p1 - y2 * spcr - y1 * (cp * p1 * cr - sp * sr * r1)
        al1 = y2 * sr + y1 * cr * r1 + p2
        al2 = y2 * cpcr - y1 * (sp * p1 * cr + cp * sr * r1) + r2 * sp + r1 * cp * p1
        w0, wy, wz = w[:, 0], w[:, 1], w[:, 2]
        if wobble:  # a lever arm that moves with the clip: r(t) = r0 + (clip_ap, 0, clip_v)
            rxa: FloatArray | float = rx + ch.clip_ap.v
            rza: FloatArray | float = rz + ch.clip_v.v
            # r'' + 2 w x r' (the clip's own acceleration and Coriolis term)
            dx, dz = ch.clip_ap.d1, ch.clip_v.d1
            f[:, 0] += ch.clip_ap.d2 + 2.0 * (wy * dz)
            f[:, 1] += 2.0 * (wz * dx - w0 * dz)
            f[:, 2] += ch.clip_v.d2 - 2.0 * (wy * dx)
        else:
            rxa, rza = rx, rz
        wr = w0 * rxa + wy * ry + wz * rza
        ww = w0 * w0 + wy * wy + wz * wz
        # alpha x r + w x (w x r) = alpha x r + w (w.r) - r |w|^2
        f[:, 0] += al1 * rza - al2 * ry + w0 * wr - rxa * ww
        f[:, 1] += al2 * rxa - al0 * rza + wy * wr - ry * ww
        f[:, 2] += al0 * ry - al1 * rxa + wz * wr - rza * ww
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


def _quantize(x: FloatArray, full_scale: float) -> None:
    """Round to int16 codes over +-full_scale and saturate, in place."""
    lsb = 2.0 * full_scale / 65536.0
    x *= 1.0 / lsb
    np.rint(x, out=x)
    np.clip(x, -32768, 32767, out=x)
    x *= lsb


NOISE_BLOCK: Final = 4096
"""Samples per block of sensor noise: each block has its own random stream, so any window reproduces the batch."""


class SensorRealisation:
    """One realisation of a sensor's errors over a run, applicable to any window of samples.

    Scale factors and bias random walks are drawn once; white noise, timestamp jitter and packet loss come in
    fixed blocks of :data:`NOISE_BLOCK` samples, each from its own stream, so a window ``i0:i1`` gets exactly the
    values the whole run has there.
    """

    def __init__(self, model: SensorModel, seq: np.random.SeedSequence, duration_s: float) -> None:
        self.model = model
        self._seq = seq
        rng = np.random.default_rng(np.random.SeedSequence(seq.entropy, spawn_key=(*seq.spawn_key, 0)))
        acc_sd, gyr_sd = model.acc_scale_error_sd, model.gyr_scale_error_sd
        self.acc_scale = 1.0 + (rng.normal(0.0, acc_sd, 3) if acc_sd > 0 else np.zeros(3))
        self.gyr_scale = 1.0 + (rng.normal(0.0, gyr_sd, 3) if gyr_sd > 0 else np.zeros(3))
        self.acc_bias_t_s, self.acc_bias = _bias_knots(
            rng, duration_s, model.acc_bias_sd_mps2, model.acc_bias_drift_mps2_per_sqrt_s
        )
        self.gyr_bias_t_s, self.gyr_bias = _bias_knots(
            rng, duration_s, model.gyr_bias_sd_radps, model.gyr_bias_drift_radps_per_sqrt_s
        )
        self._block_cache: tuple[int, tuple[NDArray[np.floating[Any]], ...]] | None = None

    @property
    def errors(self) -> SensorErrors:
        return SensorErrors(
            self.acc_scale, self.gyr_scale, self.acc_bias_t_s, self.acc_bias, self.gyr_bias_t_s, self.gyr_bias
        )

    def _block(self, b: int) -> tuple[NDArray[np.floating[Any]], ...]:
        """Noise of block ``b``: acc and gyro white noise (unit), jitter (unit), packet-loss uniforms."""
        if self._block_cache is not None and self._block_cache[0] == b:
            return self._block_cache[1]
        seq = self._seq
        rng = np.random.default_rng(np.random.SeedSequence(seq.entropy, spawn_key=(*seq.spawn_key, 1, b)))
        m = self.model
        out = (
            rng.standard_normal((NOISE_BLOCK, 3), dtype=np.float32) if m.acc_noise_density_mps2_per_sqrt_hz else None,
            rng.standard_normal((NOISE_BLOCK, 3), dtype=np.float32) if m.gyr_noise_density_radps_per_sqrt_hz else None,
            rng.standard_normal(NOISE_BLOCK) if m.timestamp_jitter_s else None,
            rng.random(NOISE_BLOCK) if m.packet_loss_probability else None,
        )
        arrays = tuple(np.zeros(0) if x is None else x for x in out)
        self._block_cache = (b, arrays)
        return arrays

    def _noise(self, i0: int, i1: int, which: int, shape: tuple[int, ...]) -> NDArray[np.floating[Any]]:
        parts = []
        for b in range(i0 // NOISE_BLOCK, (i1 - 1) // NOISE_BLOCK + 1):
            lo = max(i0, b * NOISE_BLOCK) - b * NOISE_BLOCK
            hi = min(i1, (b + 1) * NOISE_BLOCK) - b * NOISE_BLOCK
            parts.append(self._block(b)[which][lo:hi])
        return np.concatenate(parts).reshape((i1 - i0, *shape[1:])) if parts else np.zeros(shape)

    def apply(
        self, i0: int, t_s: FloatArray, acc: FloatArray, gyr: FloatArray, sensor_id: str, last_kept: int = -1
    ) -> ImuBlock:
        """Measured samples ``i0 : i0 + len(t_s)``; ``last_kept`` is the last sample index kept before ``i0``."""
        m = self.model
        n = t_s.size
        i1 = i0 + n
        half_bw = np.sqrt(m.sampling_rate_hz / 2.0)

        def add_bias(x: FloatArray, knots_t: FloatArray, vals: FloatArray) -> None:
            if np.any(vals):  # piecewise linear between the 1 s knots (np.interp: no (n, 3) gathers)
                for axis in range(3):
                    x[:, axis] += np.interp(t_s, knots_t, vals[:, axis])

        acc_m = acc * self.acc_scale
        add_bias(acc_m, self.acc_bias_t_s, self.acc_bias)
        gyr_m = gyr * self.gyr_scale
        add_bias(gyr_m, self.gyr_bias_t_s, self.gyr_bias)
        if n and m.acc_noise_density_mps2_per_sqrt_hz > 0:
            acc_m += self._noise(i0, i1, 0, (n, 3)) * (m.acc_noise_density_mps2_per_sqrt_hz * half_bw)
        if n and m.gyr_noise_density_radps_per_sqrt_hz > 0:
            gyr_m += self._noise(i0, i1, 1, (n, 3)) * (m.gyr_noise_density_radps_per_sqrt_hz * half_bw)
        if m.quantize:
            _quantize(acc_m, m.acc_range_g * STANDARD_GRAVITY_MPS2)
            _quantize(gyr_m, np.radians(m.gyr_range_dps))
        else:
            lim_a = m.acc_range_g * STANDARD_GRAVITY_MPS2
            lim_g = np.radians(m.gyr_range_dps)
            np.clip(acc_m, -lim_a, lim_a, out=acc_m)
            np.clip(gyr_m, -lim_g, lim_g, out=gyr_m)
        t_rep = t_s * (1.0 + m.clock_drift_ppm * 1e-6) if m.clock_drift_ppm else t_s
        if n and m.timestamp_jitter_s > 0:
            lim = 0.45 / m.sampling_rate_hz  # keeps the time stamps strictly increasing
            t_rep = t_rep + np.clip(self._noise(i0, i1, 2, (n,)) * m.timestamp_jitter_s, -lim, lim)
        index = np.arange(i0, i1, dtype=np.int64)
        if n and m.packet_loss_probability > 0:
            spp = m.samples_per_packet
            first_packet, last_packet = i0 // spp, (i1 - 1) // spp
            # the decision for packet j is the uniform at sample j * spp (the packet's first sample)
            u = self._noise(first_packet * spp, last_packet * spp + 1, 3, ((last_packet - first_packet) * spp + 1,))
            lost = u[::spp] < m.packet_loss_probability
            keep = ~lost[index // spp - first_packet]
            index, t_rep, acc_m, gyr_m = index[keep], t_rep[keep], acc_m[keep], gyr_m[keep]
        missing = np.diff(index, prepend=last_kept) - 1
        return ImuBlock(sensor_id, np.array(t_rep), acc_m, gyr_m if m.has_gyr else None, index, missing)
