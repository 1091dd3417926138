"""Decimation and batching of the live tilt stream (pure, streaming == batch).

The orientation stage gives pelvis angles at the IMU rate (100-200 Hz); MQTT gets ``rate_hz`` (10 Hz by default)
bin means, several per message. Bins lie on an absolute grid, ``k = floor(t_s * rate_hz)``, and a bin's mean is
computed from all its samples at once when the bin is complete, so any chunking of the input gives bit-identical
output. Batches group ``round(batch_s * rate_hz)`` consecutive grid bins (also on the absolute grid).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from sensor.errors import DataValidationError
from sensor.model import FloatArray


@dataclass(frozen=True, slots=True, eq=False)
class TiltBatch:
    """Consecutive decimated bins: bin centres ``t_s`` (s) and mean angles (deg; NaN where the input was NaN)."""

    t_s: FloatArray
    obliquity_deg: FloatArray
    anterior_tilt_deg: FloatArray


class TiltDecimator:
    """Streaming bin-mean decimator with batching. State: the open bin's samples and the open batch's bins."""

    def __init__(self, rate_hz: float = 10.0, batch_s: float = 0.5) -> None:
        if not (np.isfinite(rate_hz) and rate_hz > 0):
            raise DataValidationError(f"rate_hz must be > 0, got {rate_hz!r}; use e.g. 10", field="rate_hz")
        if not (np.isfinite(batch_s) and batch_s > 0):
            raise DataValidationError(f"batch_s must be > 0, got {batch_s!r}; use e.g. 0.5", field="batch_s")
        self.rate_hz = float(rate_hz)
        self.bins_per_batch = max(1, round(batch_s * rate_hz))
        self._t = np.empty(0)
        self._obl = np.empty(0)
        self._tilt = np.empty(0)
        self._bins: list[tuple[int, float, float]] = []  # completed bins of the open batch: (k, obl, tilt)

    def feed(self, t_s: FloatArray, obliquity_deg: FloatArray, anterior_tilt_deg: FloatArray) -> list[TiltBatch]:
        """Add samples (1-D, same length, ``t_s`` strictly increasing across calls); returns completed batches."""
        t_s = np.asarray(t_s, dtype=np.float64)
        obl = np.asarray(obliquity_deg, dtype=np.float64)
        tilt = np.asarray(anterior_tilt_deg, dtype=np.float64)
        if t_s.ndim != 1 or obl.shape != t_s.shape or tilt.shape != t_s.shape:
            raise DataValidationError(
                f"t_s, obliquity_deg and anterior_tilt_deg must be 1-D of one length, got shapes {t_s.shape}, "
                f"{obl.shape}, {tilt.shape}",
                field="t_s",
            )
        if t_s.size == 0:
            return []
        t_all = np.concatenate([self._t, t_s])
        bad = np.flatnonzero(~(np.diff(t_all) > 0))
        if bad.size or not np.all(np.isfinite(t_s)):
            idx = int(bad[0]) + 1 - self._t.size if bad.size else int(np.flatnonzero(~np.isfinite(t_s))[0])
            raise DataValidationError(
                f"t_s must be finite and strictly increasing; sample {idx} of this chunk breaks it; feed samples in "
                "time order",
                field="t_s",
                index=max(idx, 0),
            )
        obl_all = np.concatenate([self._obl, obl])
        tilt_all = np.concatenate([self._tilt, tilt])
        k = np.floor(t_all * self.rate_hz).astype(np.int64)
        starts = np.flatnonzero(np.concatenate([[True], k[1:] != k[:-1]]))
        open_start = int(starts[-1])
        for a, b in itertools.pairwise(starts.tolist()):
            self._bins.append((int(k[a]), float(np.mean(obl_all[a:b])), float(np.mean(tilt_all[a:b]))))
        self._t, self._obl, self._tilt = t_all[open_start:], obl_all[open_start:], tilt_all[open_start:]
        return self._emit(open_batch=int(k[open_start]) // self.bins_per_batch)

    def finish(self) -> list[TiltBatch]:
        """Close the open bin and batch (end of stream)."""
        if self._t.size:
            k = int(np.floor(self._t[0] * self.rate_hz))
            self._bins.append((k, float(np.mean(self._obl)), float(np.mean(self._tilt))))
            self._t, self._obl, self._tilt = np.empty(0), np.empty(0), np.empty(0)
        return self._emit(open_batch=None)

    def _emit(self, open_batch: int | None) -> list[TiltBatch]:
        out: list[TiltBatch] = []
        while self._bins:
            b = self._bins[0][0] // self.bins_per_batch
            if open_batch is not None and b >= open_batch:
                break
            n = 0
            while n < len(self._bins) and self._bins[n][0] // self.bins_per_batch == b:
                n += 1
            group, self._bins = self._bins[:n], self._bins[n:]
            arr = np.array(group, dtype=np.float64)
            out.append(
                TiltBatch(t_s=(arr[:, 0] + 0.5) / self.rate_hz, obliquity_deg=arr[:, 1], anterior_tilt_deg=arr[:, 2])
            )
        return out
