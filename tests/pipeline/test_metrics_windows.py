"""The per-step window ranges of sensor.pipeline.metrics: reduceat over the window bounds (and the flat detrended
windows) = the index-matrix form."""

from __future__ import annotations

import numpy as np

from sensor.pipeline.metrics import _detrended_range, _range, _windows


def test_range_equals_the_masked_index_matrix_form_at_every_edge() -> None:
    rng = np.random.default_rng(7)
    x = rng.normal(size=300)
    x[40] = np.nan  # a NaN inside a window gives NaN, as the masked max/min did
    n = x.size
    a = rng.integers(0, n + 20, size=400)  # windows starting past the end read the last sample
    b = a + rng.integers(-3, 80, size=400)  # empty or reversed windows hold one sample; b may pass the end
    a = np.concatenate([a, [0, n - 1, n, 5]])
    b = np.concatenate([b, [n, n + 10, n + 1, 6]])
    idx, mask = _windows(a, b, n)
    v = x[idx]
    want = np.where(mask, v, -np.inf).max(axis=1) - np.where(mask, v, np.inf).min(axis=1)
    np.testing.assert_array_equal(_range(x, a, b), want)


def test_detrended_range_equals_the_masked_index_matrix_form() -> None:
    """max - min of the signal minus the straight line between the window's end samples (the stride's rotation
    range), windows clipped at the end as the index matrix clips them."""
    rng = np.random.default_rng(11)
    x = np.cumsum(rng.normal(size=500))
    n = x.size
    a = np.concatenate([rng.integers(0, n - 1, size=300), [0, n - 2, n - 1, n]])
    length = np.concatenate([rng.integers(2, 120, size=300), [n, 2, 5, 3]])  # some run past the end
    idx, mask = _windows(a, a + length, n)
    x0, x1 = x[np.minimum(a, n - 1)], x[np.minimum(a + length - 1, n - 1)]
    frac = np.arange(idx.shape[1])[None, :] / np.maximum(length - 1, 1)[:, None]
    d = x[idx] - (x0[:, None] + (x1 - x0)[:, None] * frac)
    want = np.where(mask, d, -np.inf).max(axis=1) - np.where(mask, d, np.inf).min(axis=1)
    np.testing.assert_array_equal(_detrended_range(x, a, length, x0, x1), want)
