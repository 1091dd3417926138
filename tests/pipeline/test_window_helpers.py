"""The pipeline's window helpers (speed work) against their plain definitions, at every edge."""

from __future__ import annotations

import numpy as np

from sensor.pipeline.filters import window_rows
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
