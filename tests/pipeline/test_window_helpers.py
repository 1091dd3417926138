"""The pipeline's window helpers (speed work) against their plain definitions, at every edge."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from sensor.pipeline.filters import filled, minmax_filter1d, minus_scaled, window_rows
from sensor.pipeline.gait import _first_down, _window_max


def test_window_max_is_the_max_over_the_clipped_window() -> None:
    rng = np.random.default_rng(3)
    for before, after in ((46, 52), (46, 54), (3, 5), (10, 10), (0, 2), (5, 1)):
        for n in (1, 2, 7, 60, 300):
            x = rng.normal(size=n)
            want = np.array([x[max(0, i - before) : i + after + 1].max() for i in range(n)])
            np.testing.assert_array_equal(_window_max(x, before, after), want)


def test_window_rows_equal_the_fancy_index() -> None:
    rng = np.random.default_rng(4)
    x = rng.normal(size=500)
    for width in (1, 7, 120, 500):
        starts = rng.integers(0, x.size - width + 1, size=40)
        np.testing.assert_array_equal(window_rows(x, starts, width), x[starts[:, None] + np.arange(width)])
    strided = x[::2]  # a non-contiguous input is copied first
    starts = np.array([0, 3, 100])
    np.testing.assert_array_equal(window_rows(strided, starts, 50), strided[starts[:, None] + np.arange(50)])


def test_first_down_of_stacked_levels_equals_one_level_at_a_time() -> None:
    rng = np.random.default_rng(5)
    post = rng.normal(size=(30, 40))
    post[3, 5:] = np.nan
    levels = rng.normal(size=(2, 30))
    both = _first_down(post, levels)
    for k in range(2):
        np.testing.assert_array_equal(both[k], _first_down(post, levels[k]))
    # the definition: the first sample below the level, linearly interpolated from the one before
    for r in range(30):
        below = np.flatnonzero(post[r] < levels[0, r])
        if below.size == 0 or below[0] == 0:
            assert np.isnan(both[0, r])
        else:
            j = int(below[0])
            a, b = post[r, j - 1], post[r, j]
            assert both[0, r] == (j - 1) + (a - levels[0, r]) / (a - b)


def test_minus_scaled_equals_the_broadcast_on_every_path() -> None:
    """Column by column (short or strided inputs) and flat piece by piece (long contiguous ones, any leading shape):
    the numbers of ``x - s[..., None] * v``, bit for bit."""
    rng = np.random.default_rng(5)
    for shape in ((5, 3), (2047, 3), (2049, 3), (20000, 3), (9, 208, 3), (60, 208, 3)):
        x, v = rng.normal(size=shape), rng.normal(size=shape)
        s = rng.normal(size=shape[:-1])
        np.testing.assert_array_equal(minus_scaled(x, s, v), x - s[..., None] * v)
    x, v, s = rng.normal(size=(30000, 3)), rng.normal(size=(30000, 3)), rng.normal(size=60000)[::2]
    np.testing.assert_array_equal(minus_scaled(x, s, v), x - s[:, None] * v)  # a strided s: the column path


def test_minmax_filter1d_and_filled_equal_scipy_and_numpy() -> None:
    rng = np.random.default_rng(6)
    x = rng.normal(size=(7, 90))
    for minimum, f in ((True, ndimage.minimum_filter1d), (False, ndimage.maximum_filter1d)):
        for size, origin, mode in ((7, -3, "nearest"), (99, -2, "constant"), (1, 0, "constant"), (8, 3, "nearest")):
            want = f(x, size=size, axis=1, origin=origin, mode=mode, cval=-np.inf)
            got = minmax_filter1d(x, size, minimum=minimum, axis=1, origin=origin, mode=mode, cval=-np.inf)
            np.testing.assert_array_equal(got, want)
            np.testing.assert_array_equal(
                minmax_filter1d(x[0], size, minimum=minimum, origin=origin),
                f(x[0], size, origin=origin, mode="constant"),
            )
    np.testing.assert_array_equal(filled(5, np.nan), np.full(5, np.nan))
    assert filled(0, 1.0).shape == (0,)
