"""Pelvis-frame input of the rep stages and its reduction to a slow, fixed-rate pose stream.

Rep counting looks at movements of 0.5-10 s, so the stage first averages the pelvis-frame stream into fixed 50 ms
bins aligned to absolute time (``floor(t_s / 0.05)``), whatever the sensor's rate (52, 100, 104, 200 Hz ...).
Only the samples of the one unfinished bin are carried between chunks (at most 50 ms of data), so every chunking
of a stream produces bit-identical bins.

The input is the running pipeline's :class:`~sensor.pipeline.stage.PelvisChunk` (mounting removed, orientation
estimated, world-vertical linear acceleration, causal activity labels).
"""

from __future__ import annotations

from typing import Final

import numpy as np
from numpy.typing import NDArray

from sensor.pipeline.stage import OTHER, RUNNING, WALKING, PelvisChunk

FloatArray = NDArray[np.float64]

BIN_S: Final = 0.05
"""Width of the averaging bins, s (the pose stream runs at 20 Hz)."""


# channels of a bin, in this order
CH_A_VERT: Final = 0  # world-vertical acceleration without gravity, m/s^2
CH_PITCH: Final = 1  # anterior tilt, deg
CH_ROLL: Final = 2  # obliquity, deg
CH_GYR: Final = 3  # angular rate magnitude, rad/s
CH_GAIT: Final = 4  # share of samples labelled walking or running
CH_YAW: Final = 5  # pelvic rotation, deg (drifts: only used within one rep)
CH_PITCH_G: Final = 6  # anterior tilt from the gravity direction (accelerometer only), deg
CH_ROLL_G: Final = 7  # obliquity from the gravity direction (accelerometer only), deg
N_CH: Final = 8


RAW_W: Final = 12
"""Raw columns averaged per bin: vertical linear acc; gyr AP, ML, V; roll; pitch; yaw; gait share; "other" share;
specific force AP, ML, V."""


def raw_columns(chunk: PelvisChunk) -> FloatArray:
    """The per-sample columns that are averaged into bins, shape ``(n, RAW_W)``.

    Needs the orientation (gyroscope input); for accelerometer-only chunks the angles are missing and the
    caller skips the chunk.
    """
    n = len(chunk)
    out = np.empty((n, RAW_W))
    out[:, 0] = chunk.lin_acc_up_mps2 if chunk.lin_acc_up_mps2 is not None else 0.0
    out[:, 1] = chunk.gyr_ap_radps if chunk.gyr_ap_radps is not None else 0.0
    out[:, 2] = chunk.gyr_ml_radps if chunk.gyr_ml_radps is not None else 0.0
    out[:, 3] = chunk.gyr_v_radps if chunk.gyr_v_radps is not None else 0.0
    out[:, 4] = chunk.roll_deg if chunk.roll_deg is not None else 0.0
    out[:, 5] = chunk.pitch_deg if chunk.pitch_deg is not None else 0.0
    out[:, 6] = chunk.yaw_deg if chunk.yaw_deg is not None else 0.0
    act = chunk.activity
    out[:, 7] = (act == WALKING) | (act == RUNNING)
    out[:, 8] = act == OTHER
    out[:, 9] = chunk.acc_ap_mps2
    out[:, 10] = chunk.acc_ml_mps2
    out[:, 11] = chunk.acc_v_mps2
    return out


def gravity_tilt_deg(f_ap: FloatArray, f_ml: FloatArray, f_v: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Anterior tilt and obliquity (deg) of the pelvis from the direction of the (bin-averaged) specific force.

    The same angles as :func:`sensor.pipeline.orientation.pelvis_angles_deg` (``pitch = atan2(-u_ap, u_v)``,
    ``roll = asin(u_ml)``), but from the accelerometer alone: right where the pelvis moves slowly (floor
    exercises), and immune to the gyroscope-bias errors of the orientation estimate (a slow donkey kick passes
    the calibration's 1 s quiet test, its rotation rate becomes the "bias" and the estimate drifts by 5 deg).
    """
    norm = np.sqrt(f_ap * f_ap + f_ml * f_ml + f_v * f_v)
    pitch = np.degrees(np.arctan2(-f_ap, f_v))
    roll = np.degrees(np.arcsin(np.clip(f_ml / np.maximum(norm, 1e-9), -1.0, 1.0)))
    return pitch, roll


def bin_channels(raw: FloatArray) -> FloatArray:
    """Channels (see ``CH_*``) of binned raw columns, shape ``(m, N_CH)``."""
    out = np.empty((raw.shape[0], N_CH))
    out[:, CH_A_VERT] = raw[:, 0]
    out[:, CH_PITCH] = raw[:, 5]
    out[:, CH_ROLL] = raw[:, 4]
    out[:, CH_GYR] = np.sqrt(raw[:, 1] ** 2 + raw[:, 2] ** 2 + raw[:, 3] ** 2)
    out[:, CH_GAIT] = raw[:, 7]
    out[:, CH_YAW] = raw[:, 6]
    out[:, CH_PITCH_G], out[:, CH_ROLL_G] = gravity_tilt_deg(raw[:, 9], raw[:, 10], raw[:, 11])
    return out


class BinAverager:
    """Averages per-sample channels into fixed time bins of :data:`BIN_S`; chunk-size invariant.

    State: the bin index and the samples of the unfinished bin (at most one bin's worth).
    """

    def __init__(self, bin_s: float = BIN_S, width: int = RAW_W) -> None:
        self.bin_s = bin_s
        self.width = width
        self._pending_k = np.zeros(0, np.int64)
        self._pending_x = np.zeros((0, width))

    def feed(self, t_s: FloatArray, x: FloatArray, *, final: bool = False) -> tuple[FloatArray, FloatArray]:
        """Add samples; return ``(t_bin_s, x_bin)`` of every bin that is complete (all bins if ``final``).

        ``t_bin_s`` is the centre of the bin.
        """
        k = np.floor(t_s / self.bin_s).astype(np.int64)
        if self._pending_k.size:
            k_all = np.concatenate([self._pending_k, k])
            x_all = np.concatenate([self._pending_x, x])
        else:
            k_all, x_all = k, x
        if k_all.size == 0:
            return np.zeros(0), np.zeros((0, self.width))
        starts = np.flatnonzero(np.concatenate([[True], k_all[1:] != k_all[:-1]]))
        n_done = starts.size if final else starts.size - 1
        cut = int(starts[n_done]) if n_done < starts.size else k_all.size
        self._pending_k = k_all[cut:]
        self._pending_x = x_all[cut:].copy()
        if n_done == 0:
            return np.zeros(0), np.zeros((0, self.width))
        st = starts[:n_done]
        counts = np.diff(np.concatenate([st, [cut]]))
        sums = np.add.reduceat(x_all[:cut], st, axis=0)
        t_bin = (k_all[st].astype(np.float64) + 0.5) * self.bin_s
        return t_bin, sums / counts[:, None]
