"""Shared helpers for the simulator tests."""

from __future__ import annotations

import numpy as np

from sensor.sim import rotation_world_from_pelvis
from sensor.sim.truth import Truth


def sensor_orientation(truth: Truth) -> np.ndarray:
    """True world-from-sensor rotation per sample, (n, 3, 3)."""
    r_wp = rotation_world_from_pelvis(truth.roll_deg, truth.pitch_deg, truth.yaw_deg)
    return r_wp @ truth.r_pelvis_from_sensor


def rodrigues(v: np.ndarray) -> np.ndarray:
    angle = float(np.linalg.norm(v))
    if angle < 1e-15:
        return np.eye(3)
    k = v / angle
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + np.sin(angle) * kx + (1 - np.cos(angle)) * (kx @ kx)


def integrate_gyro(r0: np.ndarray, gyr_radps: np.ndarray, dt_s: float) -> np.ndarray:
    """Strapdown integration of body rates with the two-sample coning correction (3rd-order Magnus)."""
    out = np.empty((gyr_radps.shape[0], 3, 3))
    out[0] = r0
    r = r0
    w0 = gyr_radps[:-1]
    w1 = gyr_radps[1:]
    dtheta = 0.5 * (w0 + w1) * dt_s + np.cross(w0, w1) * dt_s**2 / 12.0
    for i in range(dtheta.shape[0]):
        r = r @ rodrigues(dtheta[i])
        out[i + 1] = r
    return out


def rotation_angle_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Angle of a^T b per sample, degrees."""
    rel = np.einsum("nji,njk->nik", a, b)
    tr = np.clip((np.trace(rel, axis1=1, axis2=2) - 1.0) / 2.0, -1.0, 1.0)
    return np.degrees(np.arccos(tr))
