from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import signal

from sensor.pipeline.buffer import SignalBuffer
from sensor.pipeline.filters import StatefulFilter, butter_lowpass


def _chunked(f: StatefulFilter, x: np.ndarray, sizes: list[int]) -> np.ndarray:
    out, i, k = [], 0, 0
    while i < x.shape[0]:
        n = sizes[k % len(sizes)]
        out.append(f(x[i : i + n]))
        i += n
        k += 1
    return np.concatenate(out)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(1, 97), min_size=1, max_size=6))
def test_stateful_filter_is_chunk_invariant(sizes: list[int]) -> None:
    x = np.random.default_rng(3).normal(size=(700, 3))
    b, a = signal.butter(3, 0.07)
    whole = StatefulFilter(b, a)(x)
    np.testing.assert_array_equal(_chunked(StatefulFilter(b, a), x, sizes), whole)


def test_lowpass_starts_in_steady_state() -> None:
    x = np.full(200, 9.81)
    y = butter_lowpass(1.0, 100.0)(x)
    np.testing.assert_allclose(y, 9.81, rtol=1e-12)


def test_signal_buffer_keeps_a_bounded_lookback() -> None:
    buf = SignalBuffer(("a", "b"), keep=50)
    for k in range(100):
        buf.write("a", 10 * k, np.arange(10 * k, 10 * k + 10, dtype=float))
        buf.write("b", 10 * k, -np.arange(10 * k, 10 * k + 10, dtype=float))
    np.testing.assert_array_equal(buf.get("a", 960, 1000), np.arange(960, 1000))
    np.testing.assert_array_equal(buf.get("b", 990, 1000), -np.arange(990, 1000))
    assert buf.start >= 1000 - 3 * 50  # old rows are dropped: memory stays flat


def test_fast_lfilter_path_matches_scipy() -> None:
    from sensor.pipeline.filters import lfilter_zi_call

    b, a = signal.butter(3, 0.1)
    x = np.random.default_rng(0).normal(size=(3, 104))
    zi = np.random.default_rng(1).normal(size=(3, 3))
    y1, z1 = signal.lfilter(b, a, x, axis=1, zi=zi)
    y2, z2 = lfilter_zi_call(b, a, x, 1, zi)
    np.testing.assert_array_equal(y1, y2)
    np.testing.assert_array_equal(z1, z2)


def test_clip_gives_np_clip_values() -> None:
    """The pipeline's ``clip`` (the clip ufunc without np.clip's wrapper): the same values and dtypes, NaN kept."""
    from sensor.pipeline.filters import clip

    rng = np.random.default_rng(5)
    x = rng.normal(size=1000) * 2.0
    x[::97] = np.nan
    x[3] = -0.0
    got = clip(x, -1.0, 1.0)
    np.testing.assert_array_equal(got, np.clip(x, -1.0, 1.0))
    assert got.dtype == np.float64
    assert np.isnan(got[::97]).all()
    i = rng.integers(-50, 150, size=(20, 30))
    got_i = clip(i, 0, 99)
    assert got_i.dtype == i.dtype
    np.testing.assert_array_equal(got_i, np.clip(i, 0, 99))


def test_row_dot_gives_einsum_values() -> None:
    """``row_dot`` (three column operations) is ``np.einsum("ij,ij->i", a, b)`` to the last bit, contiguous
    rows or not (the pipeline's dot products of (n, 3) vectors went through einsum before)."""
    from sensor.pipeline.filters import row_dot

    rng = np.random.default_rng(7)
    for n in (1, 2, 3, 7, 16, 1001, 24000):
        a = rng.normal(size=(n + 4, 3)) * rng.uniform(1e-3, 1e3)
        b = rng.normal(size=(n + 4, 3))
        for x, y in ((a[:n], b[:n]), (a[4:], b[4:]), (a[:n], a[:n]), (a[::2], b[::2]), (a.T.copy().T, b)):
            np.testing.assert_array_equal(row_dot(x, y), np.einsum("ij,ij->i", x, y))


def test_signal_buffer_moves_rows_in_place_when_they_fit() -> None:
    """Large writes past the end: the rows still in the look-back are moved to the front of the same arrays."""
    buf = SignalBuffer(("a",), keep=50)
    k = 0
    for n in (500, 400, 400, 7, 400, 3, 450):
        buf.write("a", k, np.arange(k, k + n, dtype=float))
        k += n
        np.testing.assert_array_equal(buf.get("a", k - 50, k), np.arange(k - 50, k))
