"""A clip that slips: a simulated recording with the sensor turned on the pelvis from some time on.

The scenario model has one fixed mounting, so a slip is made from a simulated run: the error-free sensor-frame
readings (``SimResult.acc_true_mps2`` / ``gyr_true_radps``) are turned, from ``at_s`` on, by the clip's rotation
``C(t)`` about a pelvis axis (a smooth cosine ramp over ``ramp_s`` to the final angle; the gyroscope also sees the
slip's own rate ``theta'(t) k``), then the run's sensor errors are applied with the very realisation
:func:`~sensor.sim.simulate.simulate` uses (same noise, bias, scale errors, quantisation and loss). The lever-arm
terms of the slip's own short rotation are left out. The true mounting after the slip is
``r_pelvis_from_sensor @ C``; the truth's angles, steps and drops are unchanged (the pelvis moves the same).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
from numpy.typing import NDArray

from sensor.model import ImuBlock
from sensor.sim.imu import SensorRealisation
from sensor.sim.simulate import SimResult

FloatArray = NDArray[np.float64]
PelvisAxis = Literal["AP", "ML", "V"]
_AXIS_ROW: Final = {"AP": 0, "ML": 1, "V": 2}


@dataclass(frozen=True, slots=True, eq=False)
class Slipped:
    """The recording with the slip, and the true mounting before and after it (sensor -> pelvis, 3x3)."""

    block: ImuBlock
    at_s: float
    r_before: FloatArray
    r_after: FloatArray


def axis_rotation(k: FloatArray, angle_rad: float) -> FloatArray:
    """The rotation by ``angle_rad`` about the unit axis ``k`` (right hand)."""
    kx = np.array([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]])
    out: FloatArray = np.eye(3) + math.sin(angle_rad) * kx + (1.0 - math.cos(angle_rad)) * (kx @ kx)
    return out


def slip_recording(
    res: SimResult, at_s: float, axis: PelvisAxis, angle_deg: float, *, ramp_s: float = 0.3, seed: int | None = None
) -> Slipped:
    """``res``'s recording with the clip turned by ``angle_deg`` about the pelvis ``axis`` from ``at_s`` on.

    ``seed``: the one ``res`` was simulated with (default: the scenario's). With ``angle_deg == 0`` the block equals
    ``res.block`` sample for sample.
    """
    sc = res.scenario
    r_ps = res.truth.r_pelvis_from_sensor
    t = res.truth.t_s
    k = r_ps[_AXIS_ROW[axis]]  # the pelvis axis in (pre-slip) sensor coordinates
    acc, gyr = res.acc_true_mps2, res.gyr_true_radps
    if angle_deg:
        x = np.clip((t - at_s) / ramp_s, 0.0, 1.0)
        a = math.radians(angle_deg)
        theta = a * 0.5 * (1.0 - np.cos(math.pi * x))
        dtheta = np.where((x > 0.0) & (x < 1.0), a * 0.5 * math.pi / ramp_s * np.sin(math.pi * x), 0.0)
        c, s = np.cos(theta)[:, None], np.sin(theta)[:, None]

        def turn(v: FloatArray) -> FloatArray:
            """``C(t)^T v`` per row: the rotation by ``-theta`` about ``k`` (Rodrigues)."""
            out: FloatArray = c * v - s * np.cross(k, v) + (1.0 - c) * (v @ k)[:, None] * k[None, :]
            return out

        acc = turn(acc)
        gyr = turn(gyr) + dtheta[:, None] * k[None, :]
    _, sensor_seq = np.random.SeedSequence(sc.seed if seed is None else seed).spawn(
        2
    )  # as simulate(): motion, then sensor
    sensor = SensorRealisation(sc.sensor, sensor_seq, float(t[-1]) if t.size else 0.0)
    block = sensor.apply(0, t, np.ascontiguousarray(acc), np.ascontiguousarray(gyr), sc.sensor_id)
    return Slipped(block, at_s, r_ps, r_ps @ axis_rotation(k, math.radians(angle_deg)))
