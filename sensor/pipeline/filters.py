"""Chunk-size invariant building blocks: stateful IIR filters and bounded ring buffers.

``scipy.signal.lfilter`` runs its recursion sample by sample, so feeding it chunk after chunk with the final
state ``zf`` of one chunk as the initial state ``zi`` of the next gives the same numbers as one call on the
whole signal. Every recursive filter of the pipeline goes through :class:`StatefulFilter`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage, signal

FloatArray = NDArray[np.float64]

try:  # scipy's public lfilter spends ~15 us per call on argument handling before the C core it wraps; the
    # pipeline makes ~10 calls per live batch. Same numbers (bit-identical), checked by tests/pipeline/test_filters.
    from scipy.signal import _sigtools

    _CORE: Any = _sigtools._linear_filter
except (ImportError, AttributeError):  # pragma: no cover - other scipy versions
    _CORE = None


def lfilter_zi_call(
    b: FloatArray, a: FloatArray, x: FloatArray, axis: int, zi: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """``scipy.signal.lfilter(b, a, x, axis=axis, zi=zi)`` for float64 arrays with ``a[0] == 1``."""
    if _CORE is not None and x.dtype == np.float64 and zi.dtype == np.float64:
        y, zf = _CORE(b, a, x, axis, zi)
        return y, zf
    y, zf = signal.lfilter(b, a, x, axis=axis, zi=zi)
    return np.asarray(y, dtype=np.float64), np.asarray(zf, dtype=np.float64)


try:  # the clip ufunc itself: one pass, no temporary (np.clip's Python wrapper costs ~10 us per call)
    from numpy._core import umath as _umath

    _CLIP: Any = getattr(_umath, "clip", None)
except ImportError:  # pragma: no cover - other numpy versions
    _CLIP = None


try:  # einsum itself, without np.einsum's Python wrapper (~1-3 us per call; the same function, the same numbers)
    from numpy._core.multiarray import c_einsum as _c_einsum

    einsum: Any = _c_einsum
except ImportError:  # pragma: no cover - other numpy versions
    einsum = np.einsum


try:  # scipy.ndimage's 1-D min/max filter itself: its Python wrapper checks the arguments and names the dtype (~10
    # us per call; the gait detector makes two per live batch)
    from scipy.ndimage import _nd_image

    _MINMAX1D: Any = _nd_image.min_or_max_filter1d
except (ImportError, AttributeError):  # pragma: no cover - other scipy versions
    _MINMAX1D = None
_NDIMAGE_MODES = {"nearest": 0, "constant": 4}  # scipy.ndimage._ni_support._extend_mode_to_code


def minmax_filter1d(
    x: FloatArray,
    size: int,
    *,
    minimum: bool,
    axis: int = -1,
    mode: str = "constant",
    cval: float = 0.0,
    origin: int = 0,
) -> FloatArray:
    """``ndimage.minimum_filter1d`` / ``maximum_filter1d`` of a float64 array (the same call into its C core,
    without the wrapper)."""
    if _MINMAX1D is None or x.dtype != np.float64 or mode not in _NDIMAGE_MODES:  # pragma: no cover
        f = ndimage.minimum_filter1d if minimum else ndimage.maximum_filter1d
        res: FloatArray = f(x, size=size, axis=axis, mode=mode, cval=cval, origin=origin)
        return res
    if size < 1 or size // 2 + origin < 0 or size // 2 + origin >= size:
        raise ValueError(f"invalid filter size {size} or origin {origin}")
    out = np.empty(x.shape)
    _MINMAX1D(x, size, axis % x.ndim, out, _NDIMAGE_MODES[mode], cval, origin, 1 if minimum else 0)
    return out


def filled(n: int, value: float) -> FloatArray:
    """``np.full(n, value)`` (float64) without its Python wrapper."""
    out = np.empty(n)
    out.fill(value)
    return out


def clip(x: NDArray[Any], lo: float, hi: float) -> NDArray[Any]:
    """``np.clip(x, lo, hi)`` for arrays (same values, NaN kept) without ``np.clip``'s ~10 us Python wrapper."""
    if _CLIP is not None:
        res: NDArray[Any] = _CLIP(x, lo, hi)
        return res
    out: NDArray[Any] = np.minimum(np.maximum(x, lo), hi)
    return out


def row_dot(a: FloatArray, b: FloatArray) -> FloatArray:
    """``np.einsum("ij,ij->i", a, b)`` of ``(n, 3)`` arrays with contiguous rows: the same numbers. einsum adds
    the three products of a row as ``(p0 + p2) + p1`` (its two-lane inner loop), one call of that loop per row;
    here the same additions as three whole-column operations (about half the time)."""
    if a.ndim != 2 or a.shape[1] != 3 or a.strides[1] != a.itemsize or b.strides[1] != b.itemsize:
        other: FloatArray = np.einsum("ij,ij->i", a, b)
        return other
    p = a * b
    out: FloatArray = np.add(p[:, 0], p[:, 2])
    np.add(out, p[:, 1], out=out)
    return out


def minus_scaled(x: FloatArray, s: FloatArray, v: FloatArray) -> FloatArray:
    """``x - s[..., None] * v`` for ``(..., 3)`` arrays, column by column: the same numbers, without numpy's
    buffered broadcast of ``s`` over rows of three (about 3x faster on long arrays)."""
    if (
        x.shape == v.shape
        and x.shape[:-1] == s.shape
        and x.size > 3 * _FLAT_MIN
        and x.flags.c_contiguous
        and v.flags.c_contiguous
        and s.flags.c_contiguous
    ):
        return _minus_scaled_flat(x.reshape(-1, 3), s.reshape(-1), v.reshape(-1, 3)).reshape(x.shape)
    out = np.empty(x.shape if x.shape == v.shape else np.broadcast_shapes(x.shape, v.shape))
    for k in range(3):
        np.multiply(s, v[..., k], out=out[..., k])
        np.subtract(x[..., k], out[..., k], out=out[..., k])
    return out


_FLAT_MIN = 2048  # rows: minus_scaled of longer inputs by _minus_scaled_flat
_FLAT_ROWS = 8192  # rows per piece there (its three work arrays stay in the L2 cache)


def _minus_scaled_flat(x: FloatArray, s: FloatArray, v: FloatArray) -> FloatArray:
    """:func:`minus_scaled` of long C-contiguous ``(n, 3)`` arrays: ``s`` repeated per row element, then one
    contiguous multiply and subtract over the flat rows, piece by piece (the same products and differences; the
    strided column operations do not vectorise: ~30 % slower on 144,000 rows)."""
    n = x.shape[0]
    out = np.empty(x.shape)
    for a in range(0, n, _FLAT_ROWS):
        b = min(n, a + _FLAT_ROWS)
        flat = out[a:b].reshape(-1)
        np.multiply(s[a:b].repeat(3), v[a:b].reshape(-1), out=flat)
        np.subtract(x[a:b].reshape(-1), flat, out=flat)
    return out


def minus_row(x: FloatArray, r: FloatArray) -> FloatArray:
    """``x - r`` for an ``(n, 3)`` array and a 3-vector, column by column (the same numbers, see minus_scaled)."""
    out = np.empty(x.shape)
    for k in range(3):
        np.subtract(x[:, k], r[k], out=out[:, k])
    return out


def window_rows(x: FloatArray, starts: NDArray[np.intp], width: int) -> FloatArray:
    """Rows ``x[s : s + width]`` for each start (every window inside ``x``): ``x[starts[:, None] + np.arange(width)]``
    as row copies of a sliding-window view of ``x`` (the same values; a fancy index per sample is ~10x slower on
    hundreds of windows, and numpy's ``sliding_window_view`` spends ~13 us of Python per call)."""
    x = np.ascontiguousarray(x)
    view: FloatArray = np.ndarray((x.size - width + 1, width), x.dtype, x, 0, (x.itemsize, x.itemsize))
    rows: FloatArray = view[starts]
    return rows


def nan_to(x: FloatArray, value: float) -> FloatArray:
    """``np.nan_to_num(x, nan=value)`` for arrays without infinities (pipeline signals are finite)."""
    out: FloatArray = np.where(np.isnan(x), value, x)
    return out


class StatefulFilter:
    """An IIR filter ``b/a`` applied along axis 0 of ``(n,)`` or ``(n, c)`` arrays, chunk by chunk.

    The state starts at the steady state of the first sample (as if the signal had been constant before the
    stream started) when ``steady_start`` is true, else at zero.
    """

    __slots__ = ("_a", "_b", "_steady", "_zi", "_zi_unit")

    def __init__(self, b: FloatArray, a: FloatArray, *, steady_start: bool = True) -> None:
        a = np.asarray(a, dtype=np.float64)
        self._b = np.asarray(b, dtype=np.float64) / a[0]
        self._a = a / a[0]
        self._steady = steady_start
        order = max(self._a.size, self._b.size) - 1
        if steady_start and order > 0:
            self._zi_unit: FloatArray = signal.lfilter_zi(self._b, self._a)
        else:  # zero state (integrators have no steady state)
            self._zi_unit = np.zeros(order)
        self._zi: FloatArray | None = None

    def __call__(self, x: FloatArray) -> FloatArray:
        if x.shape[0] == 0:
            return np.zeros_like(x, dtype=np.float64)
        if self._zi is None:
            x0 = x[0] if self._steady else np.zeros_like(x[0])
            self._zi = np.multiply.outer(self._zi_unit, x0) if x.ndim > 1 else self._zi_unit * x0
        y, self._zi = lfilter_zi_call(self._b, self._a, np.asarray(x, dtype=np.float64), 0, self._zi)
        return y


def butter_lowpass(cutoff_hz: float, sampling_rate_hz: float, order: int = 2) -> StatefulFilter:
    """A Butterworth low-pass, stateful."""
    b, a = signal.butter(order, cutoff_hz, btype="low", fs=sampling_rate_hz)
    return StatefulFilter(b, a)


def butter_highpass(cutoff_hz: float, sampling_rate_hz: float, order: int = 2) -> StatefulFilter:
    """A Butterworth high-pass, stateful (starts from zero: the first samples are treated as the step)."""
    b, a = signal.butter(order, cutoff_hz, btype="high", fs=sampling_rate_hz)
    return StatefulFilter(b, a, steady_start=True)


class Ring:
    """A bounded buffer of the latest ``capacity`` rows of a ``(n, *shape)`` stream, addressed by absolute index.

    Used for short look-backs (event refinement, per-step windows); it never grows beyond ``capacity`` rows.
    """

    __slots__ = ("_buf", "_cap", "_end")

    def __init__(self, capacity: int, shape: tuple[int, ...] = (), dtype: type = np.float64) -> None:
        self._cap = int(capacity)
        self._buf: NDArray[Any] = np.zeros((self._cap, *shape), dtype=dtype)
        self._end = 0  # absolute index one past the newest row

    @property
    def end(self) -> int:
        return self._end

    @property
    def start(self) -> int:
        """Oldest absolute index still held."""
        return max(0, self._end - self._cap)

    def append(self, x: NDArray[np.generic]) -> None:
        n = x.shape[0]
        if n == 0:
            return
        if n >= self._cap:
            self._buf[:] = x[-self._cap :]
            # keep the invariant: row for absolute index i lives at i % cap
            self._buf = np.roll(self._buf, (self._end + n) % self._cap, axis=0)
        else:
            pos = np.arange(self._end, self._end + n) % self._cap
            self._buf[pos] = x
        self._end += n

    def get(self, a: int, b: int) -> NDArray[np.generic]:
        """Rows with absolute indices ``a <= i < b`` (must be held)."""
        if a < self.start or b > self._end or a > b:
            raise IndexError(f"ring holds [{self.start}, {self._end}), asked for [{a}, {b})")
        return self._buf[np.arange(a, b) % self._cap]
