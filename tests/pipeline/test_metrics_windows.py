"""The per-step window ranges of sensor.pipeline.metrics: reduceat over the window bounds = the index-matrix form."""

from __future__ import annotations

import numpy as np

from sensor.pipeline.metrics import _range, _windows


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
