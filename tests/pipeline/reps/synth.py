"""A minimal pelvis-frame signal builder for unit tests of the rep state machine (not the simulator).

It draws the pelvis pose as rest periods joined by raised-cosine excursions with known start, turn and end
times, and derives the pelvis-frame acceleration and angular rate a sensor would read. The accuracy figures come
from the simulator (``sensor.sim``); these signals only pin down the state machine's timing and bookkeeping.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sensor.frames import STANDARD_GRAVITY_MPS2
from sensor.pipeline.reps.chunks import concat_chunks, slice_chunk
from sensor.pipeline.stage import OTHER, PelvisChunk


@dataclass(frozen=True)
class Excursion:
    t_start_s: float
    out_s: float
    pause_s: float
    back_s: float
    dz_m: float
    dpitch_deg: float
    droll_deg: float = 0.0

    @property
    def t_end_s(self) -> float:
        return self.t_start_s + self.out_s + self.pause_s + self.back_s


def build(
    excursions: list[Excursion],
    duration_s: float,
    *,
    rest_pitch_deg: float = 0.0,
    fs_hz: float = 100.0,
    noise_acc_mps2: float = 0.03,
    noise_gyr_radps: float = 0.01,
    noise_deg: float = 0.1,
    seed: int = 0,
) -> PelvisChunk:
    t = np.arange(int(duration_s * fs_hz)) / fs_hz
    z = np.zeros_like(t)
    pitch = np.full_like(t, rest_pitch_deg)
    roll = np.zeros_like(t)
    for e in excursions:
        s = np.zeros_like(t)
        a = e.t_start_s
        m1 = (t >= a) & (t < a + e.out_s)
        s[m1] = 0.5 - 0.5 * np.cos(np.pi * (t[m1] - a) / e.out_s)
        m2 = (t >= a + e.out_s) & (t < a + e.out_s + e.pause_s)
        s[m2] = 1.0
        b = a + e.out_s + e.pause_s
        m3 = (t >= b) & (t < b + e.back_s)
        s[m3] = 0.5 + 0.5 * np.cos(np.pi * (t[m3] - b) / e.back_s)
        z += e.dz_m * s
        pitch += e.dpitch_deg * s
        roll += e.droll_deg * s
    dt = 1.0 / fs_hz
    az = np.gradient(np.gradient(z, dt), dt)
    r = np.radians(roll)
    p = np.radians(pitch)
    up = np.stack([-np.cos(r) * np.sin(p), np.sin(r), np.cos(r) * np.cos(p)], axis=1)
    rng = np.random.default_rng(seed)
    acc = up * (az + STANDARD_GRAVITY_MPS2)[:, None] + rng.normal(0.0, noise_acc_mps2, (t.size, 3))
    gyr = np.stack([np.gradient(r, dt), np.gradient(p, dt), np.zeros_like(t)], axis=1)
    gyr += rng.normal(0.0, noise_gyr_radps, gyr.shape)
    return make_chunk(
        t,
        acc,
        gyr,
        roll + rng.normal(0.0, noise_deg, t.size),
        pitch + rng.normal(0.0, noise_deg, t.size),
        az + rng.normal(0.0, noise_acc_mps2, t.size),
    )


def make_chunk(
    t: np.ndarray,
    acc: np.ndarray,
    gyr: np.ndarray,
    roll: np.ndarray,
    pitch: np.ndarray,
    lin_up: np.ndarray,
    activity: np.ndarray | None = None,
    first_index: int = 0,
) -> PelvisChunk:
    n = t.size
    return PelvisChunk(
        sensor_id="synth",
        sampling_rate_hz=100.0,
        t_s=t,
        sample_index=np.arange(first_index, first_index + n, dtype=np.int64),
        acc_ap_mps2=acc[:, 0],
        acc_ml_mps2=acc[:, 1],
        acc_v_mps2=acc[:, 2],
        lin_acc_up_mps2=lin_up,
        gyr_ap_radps=gyr[:, 0],
        gyr_ml_radps=gyr[:, 1],
        gyr_v_radps=gyr[:, 2],
        roll_deg=roll,
        pitch_deg=pitch,
        yaw_deg=np.zeros(n),
        activity=np.full(n, OTHER, dtype=np.int8) if activity is None else activity,
        mounting_confidence=1.0,
    )


__all__ = ["Excursion", "build", "concat_chunks", "make_chunk", "slice_chunk"]
