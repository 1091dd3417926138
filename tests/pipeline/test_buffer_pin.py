"""The look-back buffer keeps what open steps still need: a slow walk's first steps are measured ~14 s after their
contact (the side decision waits for the chain's look-ahead), longer than the buffer's fixed history."""

from __future__ import annotations

from functools import cache

import numpy as np

from sensor.events import StepEvent
from sensor.pipeline.buffer import SignalBuffer
from sensor.pipeline.pipeline import HipPipeline
from sensor.sim import Scenario, SimResult, Standing, Walking, simulate

FS_HZ = 208.0


@cache
def _slow_walk() -> SimResult:
    walk = Walking(duration_s=40.0, cadence_spm=72.0, speed_mps=0.6)
    sc = Scenario(segments=[Standing(duration_s=5.0), walk, Standing(duration_s=5.0)], seed=3)
    return simulate(sc)


def _steps(keep_s: float | None, chunk: int | None) -> tuple[list[tuple[float, str, float | None]], float]:
    """Steps (t, side, drop) and the longest contact-to-emission delay, for a pipeline whose fixed history is
    ``keep_s`` (None: the default), fed in chunks of ``chunk`` samples (None: one block)."""
    blk = _slow_walk().block
    p = HipPipeline(FS_HZ)
    if keep_s is not None:
        p._buf.keep = round(keep_s * FS_HZ)  # a short fixed history: only the pin can keep the open steps' rows
    events = []
    longest_delay_s = 0.0
    n = len(blk.t_s)
    for a in range(0, n, chunk or n):
        sub = blk.slice(a, a + (chunk or n))
        out = p.feed(sub)
        for e in out:
            if isinstance(e, StepEvent):
                longest_delay_s = max(longest_delay_s, float(sub.t_s[-1]) - e.t_s)
        events += out
    events += p.finish()
    steps = [(e.t_s, e.side, e.pelvic_drop_deg) for e in events if isinstance(e, StepEvent)]
    return steps, longest_delay_s


def test_slow_walk_steps_measured_long_after_contact_are_kept() -> None:
    whole, _ = _steps(None, None)
    streamed, delay_s = _steps(None, 20)
    assert len(whole) >= 40
    assert delay_s > 10.0  # the case this guards: emitted later than the buffer's 8 s of fixed history
    assert streamed == whole
    # with 3 s of fixed history the open steps' rows survive only through the pin
    short, _ = _steps(3.0, 20)
    assert short == whole


def test_pin_holds_rows_and_releases_them() -> None:
    buf = SignalBuffer(("x",), keep=10)
    buf.write("x", 0, np.arange(50.0))
    buf.pin = 5
    buf.write("x", 50, np.arange(50.0, 200.0))
    assert buf.start <= 5
    np.testing.assert_array_equal(buf.get("x", 5, 10), np.arange(5.0, 10.0))
    buf.pin = 190
    buf.write("x", 200, np.arange(200.0, 260.0))
    assert buf.start >= 200 - 10 - 60  # released: back to the fixed history (up to one reserve's slack)
