"""The core data model: the contract between sources, codecs, the pipeline and sinks.

* :class:`RawFrame`: one notification payload as received, with host receive time. The recorder stores these,
  replay re-emits them; codecs turn them into :class:`ImuBlock`.
* :class:`ImuBlock`: a block of IMU samples in the sensor frame (see :mod:`sensor.frames`), with per-sample
  sequence numbers and gap counts so that loss stays visible downstream.

Arrays are plain numpy. Blocks are immutable by convention (the arrays are made read-only).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sensor.errors import DataValidationError

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class RawFrame:
    """One payload exactly as it arrived from a source.

    Attributes:
        sensor_id: stable id of the sensor (alias or address-derived id).
        host_t_s: host receive time, seconds since the Unix epoch (``time.time()``).
        payload: the bytes of the notification.
        channel: which stream it came from: the characteristic UUID (lowercase) for BLE, or a codec-defined
            name for other sources.
    """

    sensor_id: str
    host_t_s: float
    payload: bytes
    channel: str


def _readonly(a: NDArray[Any]) -> NDArray[Any]:
    a.setflags(write=False)
    return a


@dataclass(frozen=True, slots=True, eq=False)
class ImuBlock:
    """A block of IMU samples from one sensor, in the sensor frame.

    Attributes:
        sensor_id: stable id of the sensor.
        t_s: sample times in seconds, float64, strictly increasing, shape ``(n,)``. The time base is the
            source's (sensor clock mapped to host time for live BLE; the file's time for imports).
        acc_mps2: specific force with gravity included, m/s^2, shape ``(n, 3)``, sensor axes x, y, z.
        gyr_radps: angular rate in rad/s, shape ``(n, 3)``, or ``None`` for accelerometer-only sources.
        sample_index: the source's running sample number (unwrapped, int64), shape ``(n,)``. Consecutive
            samples without loss differ by exactly 1.
        missing_before: how many samples were lost immediately before each sample, int64, shape ``(n,)``.
            Zero almost everywhere; a lost packet of k samples shows up as ``k`` on the next received sample.
    """

    sensor_id: str
    t_s: FloatArray
    acc_mps2: FloatArray
    gyr_radps: FloatArray | None
    sample_index: IntArray
    missing_before: IntArray

    def __post_init__(self) -> None:
        n = self.t_s.shape[0] if self.t_s.ndim == 1 else -1
        if n < 0:
            raise DataValidationError(
                f"t_s must be one-dimensional, got shape {self.t_s.shape}; pass one time per sample",
                field="t_s",
            )
        for name, arr, shape in (
            ("acc_mps2", self.acc_mps2, (n, 3)),
            ("gyr_radps", self.gyr_radps, (n, 3)),
            ("sample_index", self.sample_index, (n,)),
            ("missing_before", self.missing_before, (n,)),
        ):
            if arr is not None and arr.shape != shape:
                raise DataValidationError(
                    f"{name} has shape {arr.shape} but {n} samples need shape {shape}", field=name
                )
        if n > 1:
            with np.errstate(over="ignore", invalid="ignore"):  # inf/NaN are reported below by name
                dt = np.diff(self.t_s)
            bad = np.flatnonzero(~(dt > 0))
            if bad.size:
                i = int(bad[0]) + 1
                raise DataValidationError(
                    f"t_s must be strictly increasing: sample {i} has t_s={self.t_s[i]!r} after "
                    f"{self.t_s[i - 1]!r}; sort the samples and drop duplicated timestamps",
                    field="t_s",
                    index=i,
                )
        for name, arr in (("t_s", self.t_s), ("acc_mps2", self.acc_mps2), ("gyr_radps", self.gyr_radps)):
            if arr is not None and arr.size and not np.isfinite(arr).all():
                i = int(np.flatnonzero(~np.isfinite(arr).reshape(n, -1).all(axis=1))[0])
                raise DataValidationError(
                    f"{name} holds a non-finite value (NaN or inf) at sample {i}; remove or interpolate it",
                    field=name,
                    index=i,
                )
        if self.missing_before.size and int(self.missing_before.min()) < 0:
            raise DataValidationError("missing_before must be >= 0", field="missing_before")
        for arr in (self.t_s, self.acc_mps2, self.gyr_radps, self.sample_index, self.missing_before):
            if arr is not None:
                _readonly(arr)

    # construction -------------------------------------------------------------------------------
    @classmethod
    def from_arrays(
        cls,
        sensor_id: str,
        t_s: Any,
        acc_mps2: Any,
        gyr_radps: Any | None = None,
        *,
        sample_index: Any | None = None,
        missing_before: Any | None = None,
        first_index: int = 0,
    ) -> ImuBlock:
        """Build a block from array-likes, copying them into float64/int64 arrays.

        Without ``sample_index`` the samples are numbered ``first_index, first_index + 1, ...``; without
        ``missing_before`` no loss is assumed.
        """
        t = np.array(t_s, dtype=np.float64)
        acc = np.array(acc_mps2, dtype=np.float64)
        gyr = None if gyr_radps is None else np.array(gyr_radps, dtype=np.float64)
        n = t.shape[0] if t.ndim == 1 else 0
        idx = (
            np.arange(first_index, first_index + n, dtype=np.int64)
            if sample_index is None
            else np.array(sample_index, dtype=np.int64)
        )
        miss = np.zeros(n, dtype=np.int64) if missing_before is None else np.array(missing_before, np.int64)
        return cls(sensor_id, t, acc, gyr, idx, miss)

    @classmethod
    def empty(cls, sensor_id: str, *, has_gyr: bool = True) -> ImuBlock:
        """A block with no samples."""
        z3 = np.zeros((0, 3))
        return cls(
            sensor_id,
            np.zeros(0),
            z3,
            z3.copy() if has_gyr else None,
            np.zeros(0, np.int64),
            np.zeros(0, np.int64),
        )

    @classmethod
    def concat(cls, blocks: Sequence[ImuBlock], *, validate: bool = True) -> ImuBlock:
        """Join consecutive blocks of one sensor into one (times must keep increasing).

        ``validate=False`` skips re-checking the joined arrays (each block was checked when it was made; only the
        order of times across the joints is then not checked): for a stream's hot path, e.g. micro-batches.
        """
        if not blocks:
            raise DataValidationError("concat needs at least one block", field="blocks")
        ids = {b.sensor_id for b in blocks}
        if len(ids) != 1:
            raise DataValidationError(f"concat of blocks from several sensors {sorted(ids)}", field="sensor_id")
        has_gyr = {b.gyr_radps is not None for b in blocks}
        if len(has_gyr) != 1:
            raise DataValidationError(
                "concat of blocks with and without gyroscope; drop the gyroscope from all of them first",
                field="gyr_radps",
            )
        gyr = (
            np.concatenate([b.gyr_radps for b in blocks if b.gyr_radps is not None])
            if blocks[0].gyr_radps is not None
            else None
        )
        args = (
            blocks[0].sensor_id,
            np.concatenate([b.t_s for b in blocks]),
            np.concatenate([b.acc_mps2 for b in blocks]),
            gyr,
            np.concatenate([b.sample_index for b in blocks]),
            np.concatenate([b.missing_before for b in blocks]),
        )
        if validate:
            return cls(*args)
        out = object.__new__(cls)  # the dataclass is frozen: set the slots directly, then make them read-only
        names = ("sensor_id", "t_s", "acc_mps2", "gyr_radps", "sample_index", "missing_before")
        for name, value in zip(names, args, strict=True):
            object.__setattr__(out, name, value)
            if isinstance(value, np.ndarray):
                _readonly(value)
        return out

    # views --------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self.t_s.shape[0])

    @property
    def n_samples(self) -> int:
        return len(self)

    @property
    def has_gyr(self) -> bool:
        return self.gyr_radps is not None

    @property
    def n_missing(self) -> int:
        """Total number of samples lost inside or right before this block."""
        return int(self.missing_before.sum())

    def slice(self, start: int | None = None, stop: int | None = None) -> ImuBlock:
        """Samples ``start:stop`` as a new block (views, no copy)."""
        s = slice(start, stop)
        return ImuBlock(
            self.sensor_id,
            self.t_s[s],
            self.acc_mps2[s],
            None if self.gyr_radps is None else self.gyr_radps[s],
            self.sample_index[s],
            self.missing_before[s],
        )

    def chunks(self, sizes: Sequence[int] | int) -> list[ImuBlock]:
        """Split into consecutive blocks of the given size(s); used to test chunk-size invariance.

        With a sequence of sizes, they are cycled until the block is used up.
        """
        seq = [sizes] if isinstance(sizes, int) else list(sizes)
        if not seq or min(seq) <= 0:
            raise DataValidationError(f"chunk sizes must be positive, got {sizes!r}", field="sizes")
        out: list[ImuBlock] = []
        i, k = 0, 0
        while i < len(self):
            step = seq[k % len(seq)]
            out.append(self.slice(i, i + step))
            i += step
            k += 1
        return out

    def with_times(self, t_s: FloatArray) -> ImuBlock:
        """The same samples on another time base (e.g. sensor clock mapped to host time).

        Only the new times are checked (same length, finite, strictly increasing); the other arrays were checked
        when this block was made, so they are shared, not copied or re-validated (the hot path of every stream).
        """
        t = np.asarray(t_s, dtype=np.float64)
        n = len(self)
        if t.shape != (n,):
            raise DataValidationError(f"with_times needs {n} times, got shape {t.shape}", field="t_s")
        if n and not np.isfinite(t).all():
            raise DataValidationError("with_times: a time is NaN or inf; fix the clock mapping", field="t_s")
        with np.errstate(over="ignore"):
            increasing = np.diff(t) > 0
        if n > 1 and not increasing.all():
            i = int(np.flatnonzero(~increasing)[0]) + 1
            raise DataValidationError(
                f"with_times: t_s must be strictly increasing, sample {i} has {t[i]!r} after {t[i - 1]!r}",
                field="t_s",
                index=i,
            )
        out = object.__new__(ImuBlock)
        for name, value in (
            ("sensor_id", self.sensor_id),
            ("t_s", _readonly(t if t is not t_s or not t.flags.writeable else t.copy())),
            ("acc_mps2", self.acc_mps2),
            ("gyr_radps", self.gyr_radps),
            ("sample_index", self.sample_index),
            ("missing_before", self.missing_before),
        ):
            object.__setattr__(out, name, value)
        return out

    @property
    def sampling_rate_hz(self) -> float:
        """Median sampling rate estimated from the time stamps (nan for fewer than two samples)."""
        if len(self) < 2:
            return float("nan")
        return float(1.0 / np.median(np.diff(self.t_s)))
