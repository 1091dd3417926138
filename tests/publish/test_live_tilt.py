"""The live tilt decimator: streaming == batch for any chunking, correct bin means, typed errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sensor.errors import DataValidationError
from sensor.publish.live_tilt import TiltBatch, TiltDecimator


def _signal(seed: int, fs_hz: float = 200.0, dur_s: float = 7.3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = 1000.0 + np.arange(int(dur_s * fs_hz)) / fs_hz
    t = t[rng.random(t.size) > 0.05]  # 5 % of samples lost, as on a real link
    obl = 4.0 * np.sin(2 * np.pi * 1.4 * t) + rng.normal(0, 0.3, t.size)
    tilt = 12.0 + 2.0 * np.cos(2 * np.pi * 1.4 * t)
    return t, obl, tilt


def _concat(batches: list[TiltBatch]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if not batches:
        return np.empty(0), np.empty(0), np.empty(0)
    return (
        np.concatenate([b.t_s for b in batches]),
        np.concatenate([b.obliquity_deg for b in batches]),
        np.concatenate([b.anterior_tilt_deg for b in batches]),
    )


def _run(chunks: list[int], rate_hz: float, batch_s: float, seed: int = 3) -> list[TiltBatch]:
    t, obl, tilt = _signal(seed)
    d = TiltDecimator(rate_hz, batch_s)
    out: list[TiltBatch] = []
    i = 0
    for n in chunks:
        out += d.feed(t[i : i + n], obl[i : i + n], tilt[i : i + n])
        i += n
    out += d.feed(t[i:], obl[i:], tilt[i:])
    return out + d.finish()


@settings(max_examples=40, deadline=None)
@given(
    chunks=st.lists(st.integers(min_value=0, max_value=400), max_size=30),
    rate_hz=st.sampled_from([5.0, 10.0, 25.0]),
    batch_s=st.sampled_from([0.1, 0.5, 1.0]),
)
def test_streaming_equals_batch(chunks: list[int], rate_hz: float, batch_s: float) -> None:
    one_shot = _run([], rate_hz, batch_s)
    streamed = _run(chunks, rate_hz, batch_s)
    assert [b.t_s.size for b in streamed] == [b.t_s.size for b in one_shot]
    for a, b in zip(_concat(streamed), _concat(one_shot), strict=True):
        np.testing.assert_array_equal(a, b)


def test_bins_are_means_on_an_absolute_grid() -> None:
    t, obl, tilt = _signal(seed=11)
    batches = _run([], 10.0, 0.5, seed=11)
    tc, ob, ti = _concat(batches)
    # every 0.1 s bin that holds samples appears once, centred on the grid
    k = np.unique(np.floor(t * 10.0))
    np.testing.assert_allclose(tc, (k + 0.5) / 10.0, rtol=0, atol=1e-9)
    for j in (0, 17, len(k) - 1):
        sel = np.floor(t * 10.0) == k[j]
        assert ob[j] == pytest.approx(obl[sel].mean(), abs=1e-12)
        assert ti[j] == pytest.approx(tilt[sel].mean(), abs=1e-12)
    # a 1.4 Hz sine averaged over 0.1 s bins keeps sinc(0.14) = 97 % of its 4 deg amplitude
    fit = np.linalg.lstsq(
        np.column_stack([np.sin(2 * np.pi * 1.4 * tc), np.cos(2 * np.pi * 1.4 * tc)]), ob, rcond=None
    )[0]
    assert np.hypot(*fit) == pytest.approx(4.0 * np.sinc(0.14), rel=0.03)
    # 0.5 s batches of 5 bins (the last batches may be shorter where samples were lost or the stream ended)
    assert max(b.t_s.size for b in batches) == 5
    assert all(np.floor(b.t_s[0] * 2) == np.floor(b.t_s[-1] * 2) for b in batches)


def test_bad_input_is_a_typed_error() -> None:
    d = TiltDecimator(10.0, 0.5)
    d.feed(np.array([1.0, 1.1]), np.zeros(2), np.zeros(2))
    with pytest.raises(DataValidationError, match="strictly increasing") as info:
        d.feed(np.array([1.2, 1.05]), np.zeros(2), np.zeros(2))
    assert info.value.index == 1
    with pytest.raises(DataValidationError, match="one length"):
        d.feed(np.array([2.0]), np.zeros(2), np.zeros(1))
    with pytest.raises(DataValidationError, match="rate_hz must be > 0"):
        TiltDecimator(0.0)
