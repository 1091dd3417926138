"""Pelvis-frame input of the rep stages and its reduction to a slow, fixed-rate pose stream.

Rep counting looks at movements of 0.5-10 s, so the stage first averages the pelvis-frame stream into fixed 50 ms
bins aligned to absolute time (``floor(t_s / 0.05)``), whatever the sensor's rate (52, 100, 104, 200 Hz ...).
Only the samples of the one unfinished bin are carried between chunks (at most 50 ms of data), so every chunking
of a stream produces bit-identical bins.

The input is the running pipeline's :class:`~sensor.pipeline.stage.PelvisChunk` (mounting removed, orientation
estimated, world-vertical linear acceleration, causal activity labels).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final

import numpy as np
from numpy.typing import NDArray

from sensor.pipeline.filters import clip
from sensor.pipeline.stage import RUNNING, WALKING, PelvisChunk

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


_SMALL_N: Final = 4096
"""Chunks up to this many samples are binned as one ``(n, RAW_W)`` array, longer ones column by column."""

_FEW_SAMPLES: Final = 64
"""Chunks (with the pending samples) up to this many samples find their bin borders on Python ints."""

RAW_W: Final = 12
"""Raw columns averaged per bin: vertical linear acc; gyr AP, ML, V; roll; pitch; yaw; gait share; "other" share;
specific force AP, ML, V. No channel reads the "other" share (column 8): :func:`chunk_columns` leaves it zero."""


def chunk_columns(chunk: PelvisChunk) -> list[FloatArray | None]:
    """The per-sample columns that are averaged into bins (see :data:`RAW_W`), each ``(n,)`` or ``None`` (zeros).

    Needs the orientation (gyroscope input); for accelerometer-only chunks the angles are missing and the
    caller skips the chunk. The "other" share is ``None`` (no channel reads it: not worth its comparison and
    its binning).
    """
    act = chunk.activity
    return [
        chunk.lin_acc_up_mps2,
        chunk.gyr_ap_radps,
        chunk.gyr_ml_radps,
        chunk.gyr_v_radps,
        chunk.roll_deg,
        chunk.pitch_deg,
        chunk.yaw_deg,
        ((act == WALKING) | (act == RUNNING)).astype(np.float64),
        None,
        chunk.acc_ap_mps2,
        chunk.acc_ml_mps2,
        chunk.acc_v_mps2,
    ]


def raw_columns(chunk: PelvisChunk) -> FloatArray:
    """The per-sample columns of :func:`chunk_columns` as one array, shape ``(n, RAW_W)``."""
    out = np.zeros((len(chunk), RAW_W))
    for c, col in enumerate(chunk_columns(chunk)):
        if col is not None:
            out[:, c] = col
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
    roll = np.degrees(np.arcsin(clip(f_ml / np.maximum(norm, 1e-9), -1.0, 1.0)))  # np.clip's values
    return pitch, roll


def bin_channels(raw: FloatArray) -> FloatArray:
    """Channels (see ``CH_*``) of binned raw columns, shape ``(m, N_CH)``."""
    if 0 < raw.shape[0] <= _FEW_BINS:
        return _bin_channels_few(raw)
    out = np.empty((raw.shape[0], N_CH))
    out[:, CH_A_VERT] = raw[:, 0]
    out[:, CH_PITCH] = raw[:, 5]
    out[:, CH_ROLL] = raw[:, 4]
    out[:, CH_GYR] = np.sqrt(raw[:, 1] ** 2 + raw[:, 2] ** 2 + raw[:, 3] ** 2)
    out[:, CH_GAIT] = raw[:, 7]
    out[:, CH_YAW] = raw[:, 6]
    out[:, CH_PITCH_G], out[:, CH_ROLL_G] = gravity_tilt_deg(raw[:, 9], raw[:, 10], raw[:, 11])
    return out


_FEW_BINS: Final = 8
"""Up to this many bins (a live chunk), :func:`bin_channels` does its arithmetic on Python floats."""


def _bin_channels_few(raw: FloatArray) -> FloatArray:
    """:func:`bin_channels` of a few bins: the angular rate magnitude, the specific force's norm and the obliquity's
    sine on Python floats (the same IEEE operations in the same order: squares, sums left to right, a correctly
    rounded square root, ``np.maximum``'s and ``np.clip``'s NaN passing through), the arc functions with numpy (as
    for many bins: libm and numpy's own loops may round differently). About 15 numpy calls fewer per live chunk."""
    rows = raw.tolist()
    sqrt = math.sqrt
    out = np.array(
        [(r[0], r[5], r[4], sqrt(r[1] * r[1] + r[2] * r[2] + r[3] * r[3]), r[7], r[6], 0.0, 0.0) for r in rows]
    )
    sines = []
    for r in rows:
        f_ap, f_ml, f_v = r[9], r[10], r[11]
        norm = sqrt(f_ap * f_ap + f_ml * f_ml + f_v * f_v)
        s = f_ml / (1e-9 if norm < 1e-9 else norm)  # np.maximum(norm, 1e-9): NaN passes
        sines.append(-1.0 if s < -1.0 else 1.0 if s > 1.0 else s)  # np.clip(s, -1, 1): NaN passes
    out[:, CH_PITCH_G] = np.degrees(np.arctan2(-raw[:, 9], raw[:, 11]))
    out[:, CH_ROLL_G] = np.degrees(np.arcsin(np.array(sines)))
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
        """Add samples ``x`` (shape ``(n, width)``); return ``(t_bin_s, x_bin)`` of every bin that is complete (all
        bins if ``final``). ``t_bin_s`` is the centre of the bin."""
        return self.feed_columns(t_s, [x[:, c] for c in range(self.width)], final=final)

    def feed_columns(
        self, t_s: FloatArray, cols: Sequence[FloatArray | None], *, final: bool = False
    ) -> tuple[FloatArray, FloatArray]:
        """:meth:`feed` with the samples given column by column (``None``: zeros). Long chunks are binned
        column by column, without an ``(n, width)`` array: the same bits (``np.add.reduceat`` sums each bin in
        sample order either way)."""
        k = np.floor(t_s / self.bin_s).astype(np.int64)
        n_old = self._pending_k.size
        k_all = np.concatenate([self._pending_k, k]) if n_old else k
        if k_all.size == 0:
            return np.zeros(0), np.zeros((0, self.width))
        st: NDArray[np.int64] | list[int]  # the first sample of each complete bin
        if k_all.size <= _FEW_SAMPLES:
            # a live chunk: the bin borders on Python ints (the same bins and times; numpy's index helpers cost
            # ~15 us here)
            kl = k_all.tolist()
            starts_l = [i for i in range(1, len(kl)) if kl[i] != kl[i - 1]]
            n_done = len(starts_l) + 1 if final else len(starts_l)
            cut = 0 if n_done == 0 else starts_l[n_done - 1] if n_done <= len(starts_l) else len(kl)
            st = [0, *starts_l[: n_done - 1]] if n_done else []
            ends = [*st[1:], cut] if st else []
            counts = np.array([b - a for a, b in zip(st, ends, strict=True)], dtype=np.int64)
            t_bin = np.array([(kl[a] + 0.5) * self.bin_s for a in st], dtype=np.float64)
        else:
            starts = np.flatnonzero(k_all[1:] != k_all[:-1]) + 1
            n_done = starts.size + 1 if final else starts.size
            cut = 0 if n_done == 0 else int(starts[n_done - 1]) if n_done <= starts.size else k_all.size
            st = np.concatenate([[0], starts[: n_done - 1]]) if n_done else np.zeros(0, np.int64)
            counts = np.diff(np.append(st, cut))
            t_bin = (k_all[st].astype(np.float64) + 0.5) * self.bin_s
        if k.size <= _SMALL_N:
            # a live chunk: one (n, width) array and one reduceat (fewer calls than column by column)
            # the new samples as one (width, n) array, transposed (one call instead of a strided copy per
            # column; reduceat sums each bin in sample order whatever the memory layout)
            zeros = np.zeros(k.size)
            x_new = np.array([zeros if col is None else col for col in cols], dtype=np.float64).T
            x_all = np.concatenate([self._pending_x, x_new]) if n_old else x_new
            self._pending_x = x_all[cut:].copy()
            x_bin = np.add.reduceat(x_all[:cut], st, axis=0) / counts[:, None] if n_done else x_all[:0].copy()
        else:
            # a long chunk: column by column (writing strided columns of an (n, width) array costs more)
            pending_x = self._pending_x
            new_pending = np.empty((k_all.size - cut, self.width))
            x_bin = np.empty((n_done, self.width))
            for c in range(self.width):
                col = cols[c]
                if col is None and n_done:
                    # zeros: every complete bin averages to 0.0 but the first, which holds the pending samples
                    new_pending[:, c] = 0.0
                    x_bin[:, c] = 0.0
                    if n_old:
                        first = np.zeros(int(counts[0]))
                        first[:n_old] = pending_x[:, c]
                        x_bin[0, c] = np.add.reduceat(first, [0])[0] / counts[0]
                    continue
                col_all: FloatArray = np.zeros(k.size) if col is None else col
                if n_old:
                    col_all = np.concatenate([pending_x[:, c], col_all])
                new_pending[:, c] = col_all[cut:]
                if n_done:
                    x_bin[:, c] = np.add.reduceat(col_all[:cut], st) / counts
            self._pending_x = new_pending
        self._pending_k = k_all[cut:]
        return t_bin, x_bin


def abs_gradient(f: FloatArray, x: FloatArray) -> FloatArray:
    """``np.abs(np.gradient(f, x))`` for 1-D arrays of 3 or more samples, with the same operations as numpy's
    (second-order central differences inside, first-order ones at the ends; the uniform-spacing formula when every
    step of ``x`` is the same), without its ~40 us of argument handling: it runs once per rep on ~70 bins."""
    dx = x[1:] - x[:-1]
    out = np.empty(f.shape)
    if (dx == dx[0]).all():
        h = dx[0]
        out[1:-1] = (f[2:] - f[:-2]) / (2.0 * h)
        out[0] = (f[1] - f[0]) / h
        out[-1] = (f[-1] - f[-2]) / h
    else:
        dx1 = dx[:-1]
        dx2 = dx[1:]
        a = -dx2 / (dx1 * (dx1 + dx2))
        b = (dx2 - dx1) / (dx1 * dx2)
        c = dx1 / (dx2 * (dx1 + dx2))
        out[1:-1] = a * f[:-2] + b * f[1:-1] + c * f[2:]
        out[0] = (f[1] - f[0]) / dx[0]
        out[-1] = (f[-1] - f[-2]) / dx[-1]
    return np.abs(out, out=out)
