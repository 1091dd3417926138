"""Weak lead-in steps of a walking chain (sensor.pipeline.gait.GaitDetector._lead_in)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sensor.frames import STANDARD_GRAVITY_MPS2 as G
from sensor.pipeline import gait
from sensor.pipeline.buffer import SignalBuffer
from sensor.pipeline.gait import GaitDetector, Step

FS = 100.0
STEADY_S = 0.6
COLUMNS = ("f_v", "acc_ap", "acc_ml", "gyr_ap", "yaw", "f_s", "f_slow")


def _walk(heel_strikes_s: list[float], loads_g: list[float]) -> dict[str, np.ndarray]:
    """Standing, then walking steps from the left foot: per heel strike a vertical loading hump (``load`` g above
    1 g, 60 ms later), the forward-acceleration peak then braking of a heel strike (the pattern of the lower-back
    recordings) and the side cues of its stance (roll rate up and ML force to the right in left stance)."""
    t = np.arange(round((heel_strikes_s[-1] + 2.0) * FS)) / FS
    f_v = np.full(t.size, G)
    ap = np.zeros(t.size)
    ml = np.zeros(t.size)
    roll_rate = np.zeros(t.size)
    for k, (hs, load) in enumerate(zip(heel_strikes_s, loads_g, strict=True)):
        f_v += load * G * np.exp(-0.5 * ((t - hs - 0.06) / 0.05) ** 2)
        ap += 1.5 * np.exp(-0.5 * ((t - hs) / 0.04) ** 2) - 2.0 * np.exp(-0.5 * ((t - hs - 0.12) / 0.03) ** 2)
        left = 1.0 if k % 2 == 0 else -1.0
        roll_rate += left * 0.3 * np.exp(-0.5 * ((t - hs - 0.1) / 0.06) ** 2)
        ml -= left * 0.5 * np.exp(-0.5 * ((t - hs - 0.2) / 0.1) ** 2)
    return {"f_v": f_v, "acc_ap": ap, "acc_ml": ml, "gyr_ap": roll_rate, "yaw": np.zeros(t.size)}


def _steps(cols: dict[str, np.ndarray], chunks: list[int] | None = None) -> list[Step]:
    n = cols["f_v"].size
    buf = SignalBuffer(COLUMNS, keep=round(8.0 * FS))
    det = GaitDetector(FS, buf, has_gyr=True)
    out: list[Step] = []
    a, k = 0, 0
    while a < n:
        b = n if chunks is None else min(n, a + chunks[k % len(chunks)])
        k += 1
        buf.write_many(a, {c: v[a:b] for c, v in cols.items()})
        det.feed_filters(a, cols["f_v"][a:b])
        out += det.detect()
        a = b
    return out + det.detect(final=True)


def _start(first_loads_g: list[float]) -> tuple[list[float], list[float]]:
    """Gait initiation at 4.0 s: the given first steps (0.75 s apart, slower than the steady 0.6 s), then 16
    steady steps loading the pelvis by 0.5 g."""
    hs = [4.0 + 0.75 * k for k in range(len(first_loads_g))]
    hs += [hs[-1] + 0.75 + STEADY_S * k for k in range(16)]
    return hs, [*first_loads_g, *([0.5] * 16)]


def _ic_s(steps: list[Step]) -> np.ndarray:
    return np.array([s.ic for s in steps]) / FS


def test_weak_first_steps_from_standing_start_the_chain() -> None:
    # the first two steps load the pelvis by 0.15 g only: neither strong nor continuing a chain
    hs, loads = _start([0.15, 0.15])
    steps = _steps(_walk(hs, loads))
    ic = _ic_s(steps)
    assert ic.size == len(hs)
    np.testing.assert_allclose(ic, hs, atol=0.02)
    assert [s.pos for s in steps[:3]] == [0, 1, 2]  # one chain from the first weak step on
    assert len({s.chain for s in steps}) == 1
    assert [s.side for s in steps] == ["left", "right"] * (len(steps) // 2)


def test_without_the_rule_the_weak_first_steps_are_lost(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gait, "LEAD_MAX_STEPS", 0)
    hs, loads = _start([0.15, 0.15])
    ic = _ic_s(_steps(_walk(hs, loads)))
    assert ic.size == len(hs) - 2
    np.testing.assert_allclose(ic, hs[2:], atol=0.02)


def test_only_peaks_in_walking_rhythm_before_the_chain_are_taken() -> None:
    # a weight shift 1.6 s before the first strong step (too long for a step), and one 0.4 s before (too short)
    for lead_s in (1.6, 0.4):
        hs, loads = _start([0.5])
        cols = _walk(hs, loads)
        t = np.arange(cols["f_v"].size) / FS
        cols["f_v"] = cols["f_v"] + 0.15 * G * np.exp(-0.5 * ((t - (hs[0] - lead_s) - 0.06) / 0.05) ** 2)
        cols["acc_ap"] = cols["acc_ap"] + 1.5 * np.exp(-0.5 * ((t - hs[0] + lead_s) / 0.04) ** 2)
        ic = _ic_s(_steps(cols))
        np.testing.assert_allclose(ic, hs, atol=0.02)


def test_at_most_lead_max_steps_are_taken() -> None:
    hs, loads = _start([0.15, 0.15, 0.15, 0.15])
    ic = _ic_s(_steps(_walk(hs, loads)))
    np.testing.assert_allclose(ic, hs[4 - gait.LEAD_MAX_STEPS :], atol=0.02)


@settings(max_examples=5, deadline=None)
@given(st.lists(st.integers(1, 400), min_size=1, max_size=4))
def test_lead_in_is_chunk_invariant(sizes: list[int]) -> None:
    hs, loads = _start([0.15, 0.15])
    cols = _walk(hs, loads)
    whole = _steps(cols)
    chunked = _steps(cols, sizes)
    assert [(s.peak, s.chain, s.pos, s.side) for s in chunked] == [(s.peak, s.chain, s.pos, s.side) for s in whole]
    np.testing.assert_allclose([s.ic for s in chunked], [s.ic for s in whole], rtol=0, atol=1e-9)
