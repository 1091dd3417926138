"""Pelvis-frame input of the rep stages and its reduction to a slow, fixed-rate pose stream.

Rep counting looks at movements of 0.5-10 s, so the stage first averages the pelvis-frame stream into fixed 50 ms
bins aligned to absolute time (``floor(t_s / 0.05)``), whatever the sensor's rate (52, 100, 104, 200 Hz ...).
Only the samples of the one unfinished bin are carried between chunks (at most 50 ms of data), so every chunking
of a stream produces bit-identical bins.

Vertical acceleration uses the pelvis angles of :mod:`sensor.frames`: the world "up" axis seen in the pelvis frame
is ``(-cos(roll) sin(pitch), sin(roll), cos(roll) cos(pitch))`` (anterior tilt positive means the AP axis points
below the horizon; obliquity positive means the left (ML) side is higher).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

from sensor.errors import DataValidationError
from sensor.frames import STANDARD_GRAVITY_MPS2

FloatArray = NDArray[np.float64]

BIN_S: Final = 0.05
"""Width of the averaging bins, s (the pose stream runs at 20 Hz)."""

ACTIVITY_CODES: Final[dict[str, int]] = {
    "standing": 0,
    "sitting": 1,
    "walking": 2,
    "running": 3,
    "exercise": 4,
    "other": 5,
    "lying": 6,
}
"""Per-sample activity labels as small integers (the bin keeps the share of walking/running and sitting)."""


@dataclass(frozen=True, slots=True, eq=False)
class PelvisChunk:
    """A chunk of calibrated pelvis-frame data, as the running pipeline hands it to every pelvis stage.

    Attributes:
        t_s: sample times, s, strictly increasing, shape ``(n,)``.
        acc_pelvis_mps2: specific force (gravity included) on the pelvis axes AP, ML, V, m/s^2, shape ``(n, 3)``.
        gyr_pelvis_radps: angular rate on AP, ML, V, rad/s, shape ``(n, 3)``.
        roll_deg: obliquity, + = left side higher, shape ``(n,)``.
        pitch_deg: anterior tilt, + = anterior, shape ``(n,)``.
        activity: per-sample activity labels (keys of :data:`ACTIVITY_CODES`), or ``None`` when unknown.
    """

    t_s: FloatArray
    acc_pelvis_mps2: FloatArray
    gyr_pelvis_radps: FloatArray
    roll_deg: FloatArray
    pitch_deg: FloatArray
    activity: NDArray[np.str_] | None = None

    def __post_init__(self) -> None:
        n = self.t_s.shape[0]
        for name, arr, shape in (
            ("acc_pelvis_mps2", self.acc_pelvis_mps2, (n, 3)),
            ("gyr_pelvis_radps", self.gyr_pelvis_radps, (n, 3)),
            ("roll_deg", self.roll_deg, (n,)),
            ("pitch_deg", self.pitch_deg, (n,)),
        ):
            if arr.shape != shape:
                raise DataValidationError(
                    f"{name} has shape {arr.shape} but {n} samples need shape {shape}", field=name
                )
        if self.activity is not None and self.activity.shape != (n,):
            raise DataValidationError(
                f"activity has shape {self.activity.shape}; pass one label per sample ({n}) or None", field="activity"
            )

    def __len__(self) -> int:
        return int(self.t_s.shape[0])


# channels of a bin, in this order
CH_A_VERT: Final = 0  # world-vertical acceleration without gravity, m/s^2
CH_PITCH: Final = 1  # anterior tilt, deg
CH_ROLL: Final = 2  # obliquity, deg
CH_GYR: Final = 3  # angular rate magnitude, rad/s
CH_GAIT: Final = 4  # share of samples labelled walking or running
CH_SIT: Final = 5  # share of samples labelled sitting
N_CH: Final = 6


RAW_W: Final = 10
"""Raw columns averaged per bin: acc AP, ML, V; gyr AP, ML, V; roll; pitch; gait share; sitting share."""


def raw_columns(chunk: PelvisChunk) -> FloatArray:
    """The per-sample columns that are averaged into bins, shape ``(n, RAW_W)``."""
    out = np.empty((len(chunk), RAW_W))
    out[:, 0:3] = chunk.acc_pelvis_mps2
    out[:, 3:6] = chunk.gyr_pelvis_radps
    out[:, 6] = chunk.roll_deg
    out[:, 7] = chunk.pitch_deg
    if chunk.activity is None:
        out[:, 8:10] = 0.0
    else:
        act = chunk.activity
        out[:, 8] = (act == "walking") | (act == "running")
        out[:, 9] = act == "sitting"
    return out


def bin_channels(raw: FloatArray) -> FloatArray:
    """Channels (see ``CH_*``) of binned raw columns, shape ``(m, N_CH)``.

    The bin's mean acceleration is projected on the up axis of the bin's mean angles: over 50 ms the pelvis
    turns by well under a degree in these exercises, so this equals the mean of the per-sample projections.
    """
    r = np.radians(raw[:, 6])
    p = np.radians(raw[:, 7])
    cr = np.cos(r)
    out = np.empty((raw.shape[0], N_CH))
    out[:, CH_A_VERT] = (
        -cr * np.sin(p) * raw[:, 0] + np.sin(r) * raw[:, 1] + cr * np.cos(p) * raw[:, 2] - STANDARD_GRAVITY_MPS2
    )
    out[:, CH_PITCH] = raw[:, 7]
    out[:, CH_ROLL] = raw[:, 6]
    out[:, CH_GYR] = np.sqrt(raw[:, 3] ** 2 + raw[:, 4] ** 2 + raw[:, 5] ** 2)
    out[:, CH_GAIT] = raw[:, 8]
    out[:, CH_SIT] = raw[:, 9]
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
