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
NO_PIN = 1 << 62


class SignalBuffer:
    def __init__(self, columns: tuple[str, ...], keep: int) -> None:
        self.columns = columns
        self.col = {c: i for i, c in enumerate(columns)}
        self.keep = int(keep)
        # rows from ``pin`` on are kept even when older than ``keep`` (a consumer still needs them: the open steps
        # of the gait detector); the owner moves it forward and bounds its age
        self.pin = NO_PIN
        # one contiguous array per column: writes and reads are contiguous (a row-major matrix made every
        # column write strided)
        self._data = [np.zeros(max(16, 2 * self.keep)) for _ in columns]
        self._base = 0
        self._end = [0] * len(columns)  # plain ints: cheaper than numpy scalars for ~10 writes per batch

    def end(self, column: str) -> int:
        return self._end[self.col[column]]

    @property
    def complete_end(self) -> int:
        """One past the last index that every column holds."""
        return min(self._end)

    @property
    def start(self) -> int:
        return self._base

    def write(self, column: str, start: int, values: FloatArray) -> None:
        """Write ``values`` for absolute indices ``start ...``; ``start`` must equal the column's end."""
        c = self.col[column]
        n = values.shape[0]
        if start != self._end[c]:
            raise ValueError(f"column {column}: write at {start}, expected {self._end[c]}")
        if n == 0:
            return
        self._reserve(start + n)
        self._data[c][start - self._base : start - self._base + n] = values
        self._end[c] = start + n

    def write_many(self, start: int, values: dict[str, FloatArray]) -> None:
        """:meth:`write` of several columns of the same length at the same ``start`` (one space check)."""
        cols = self.col
        n = -1
        for column, v in values.items():
            c = cols[column]
            if start != self._end[c]:
                raise ValueError(f"column {column}: write at {start}, expected {self._end[c]}")
            if n < 0:
                n = v.shape[0]
            elif v.shape[0] != n:
                raise ValueError(f"column {column}: {v.shape[0]} values, expected {n}")
        if n <= 0:
            return
        self._reserve(start + n)
        a = start - self._base
        data, end = self._data, self._end
        for column, v in values.items():
            c = cols[column]
            data[c][a : a + n] = v
            end[c] = start + n

    def _reserve(self, stop: int) -> None:
        lo = max(self._base, min(min(self._end) - self.keep, self.pin))
        need = stop - lo
        if stop - self._base <= self._data[0].shape[0] and lo - self._base < self.keep:
            return
        held = max(self._end) - lo
        if need <= self._data[0].shape[0]:
            # the rows still needed fit: move them to the front in place (no new arrays per batch of a long input)
            if held > 0:
                for col in self._data:
                    col[:held] = col[lo - self._base : lo - self._base + held]  # (numpy copies overlapping rows right)
            self._base = lo
            return
        cap = max(2 * self.keep, need + self.keep)
        new_data = []
        for col in self._data:
            new = np.zeros(cap)
            if held > 0:
                new[:held] = col[lo - self._base : lo - self._base + held]
            new_data.append(new)
        self._data = new_data
        self._base = lo

    def get(self, column: str, a: int, b: int) -> FloatArray:
        """A view of ``column`` for absolute indices ``[a, b)`` (clipped to what is held)."""
        c = self.col[column]
        a = max(a, self._base)
        b = min(b, self._end[c])
        if b <= a:
            return np.zeros(0)
        out: FloatArray = self._data[c][a - self._base : b - self._base]
        return out

    def value(self, column: str, i: int) -> float:
        return float(self._data[self.col[column]][i - self._base])
