"""A bounded look-back buffer of per-sample signals addressed by absolute sample index.

Each column has its own write position, so filtered columns whose linear-phase filters delay them by a known
number of samples can be written "behind" the raw ones and still share one index. Rows older than
``keep`` samples before the oldest column end are dropped on the next write: the buffer never grows with the
stream (except transiently while one large chunk is processed).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


class SignalBuffer:
    def __init__(self, columns: tuple[str, ...], keep: int) -> None:
        self.columns = columns
        self.col = {c: i for i, c in enumerate(columns)}
        self.keep = int(keep)
        self._data = np.zeros((max(16, 2 * self.keep), len(columns)))
        self._base = 0
        self._end = np.zeros(len(columns), dtype=np.int64)

    def end(self, column: str) -> int:
        return int(self._end[self.col[column]])

    @property
    def complete_end(self) -> int:
        """One past the last index that every column holds."""
        return int(self._end.min())

    @property
    def start(self) -> int:
        return self._base

    def write(self, column: str, start: int, values: FloatArray) -> None:
        """Write ``values`` for absolute indices ``start ...``; ``start`` must equal the column's end."""
        c = self.col[column]
        n = values.shape[0]
        if start != self._end[c]:
            raise ValueError(f"column {column}: write at {start}, expected {int(self._end[c])}")
        if n == 0:
            return
        self._reserve(start + n)
        self._data[start - self._base : start - self._base + n, c] = values
        self._end[c] = start + n

    def _reserve(self, stop: int) -> None:
        lo = max(self._base, int(self._end.min()) - self.keep)
        need = stop - lo
        if stop - self._base <= self._data.shape[0] and lo - self._base < self.keep:
            return
        cap = max(2 * self.keep, need + self.keep)
        new = np.zeros((cap, self._data.shape[1]))
        held = int(self._end.max()) - lo
        if held > 0:
            new[:held] = self._data[lo - self._base : lo - self._base + held]
        self._data = new
        self._base = lo

    def get(self, column: str, a: int, b: int) -> FloatArray:
        """A view of ``column`` for absolute indices ``[a, b)`` (clipped to what is held)."""
        c = self.col[column]
        a = max(a, self._base)
        b = min(b, int(self._end[c]))
        if b <= a:
            return np.zeros(0)
        out: FloatArray = self._data[a - self._base : b - self._base, c]
        return out

    def value(self, column: str, i: int) -> float:
        return float(self._data[i - self._base, self.col[column]])
