"""The calibration's motion pass postponed while it cannot change the mounting (``MountingCalibrator.motion_can_wait``,
used by ``HipPipeline``): the claim itself, and the same mounting updates from a live stream as from one block."""

from __future__ import annotations

from functools import cache

import numpy as np

from sensor.model import ImuBlock
from sensor.pipeline.calibration import Mounting as PelvisMounting
from sensor.pipeline.calibration import MountingCalibrator
from sensor.pipeline.orientation import GravityFilter
from sensor.pipeline.pipeline import HipPipeline
from sensor.sim import Mounting, Running, Scenario, SensorModel, Standing, Walking, simulate

FS = 104.0


@cache
def _block() -> ImuBlock:
    """Running and walking with rests in between (quiet segments with a new gyroscope bias after the lock)."""
    sc = Scenario(
        segments=[
            Standing(duration_s=6.0),
            Running(duration_s=70.0),
            Standing(duration_s=6.0),
            Walking(duration_s=40.0),
            Standing(duration_s=5.0),
        ],
        sensor=SensorModel(sampling_rate_hz=FS),
        mounting=Mounting(euler_deg=(170.0, 8.0, -12.0), lever_arm_m=(-0.10, 0.01, 0.02)),
        seed=3,
    )
    return simulate(sc).block


def test_motion_pass_that_can_wait_returns_no_update() -> None:
    """Whenever ``motion_can_wait(n)`` says so, the motion pass of those ``n`` samples (fed at once, as a calibrator
    that does not wait) returns no update; and it does say so for most live batches after the lock."""
    blk = _block()
    assert blk.gyr_radps is not None
    up = GravityFilter(FS).feed(blk.acc_mps2, blk.gyr_radps)
    cal = MountingCalibrator(FS)
    rng = np.random.default_rng(0)
    waited = locked_calls = updates_at_checks = 0
    a, n_all = 0, len(blk)
    while a < n_all:
        b = min(n_all, a + int(rng.integers(20, 450)))
        acc, gyr = blk.acc_mps2[a:b], blk.gyr_radps[a:b]
        cal.feed_rest(acc, gyr)
        can_wait = cal.motion_can_wait(b - a)
        locked_calls += cal.locked
        out = cal.feed_motion(acc, gyr, up[a:b])
        if can_wait:
            assert out == []
            waited += 1
        elif cal.locked:
            updates_at_checks += bool(out)
        a = b
    assert cal.locked
    assert waited > 0.5 * locked_calls  # most batches after the lock
    assert updates_at_checks > 3  # the updates come where it cannot wait (refinements, rests with a new bias)


def _updates(chunk: int | None) -> tuple[list[tuple[int, PelvisMounting]], int, HipPipeline]:
    """The mounting updates of a pipeline fed the block whole or in ``chunk``-sample chunks, and the number of
    motion-pass calls."""
    p = HipPipeline(FS)
    got: list[tuple[int, PelvisMounting]] = []
    calls = 0
    orig = p.calibrator.feed_motion

    def spy(*args: object, **kw: object) -> list[tuple[int, PelvisMounting]]:
        nonlocal calls
        calls += 1
        out = orig(*args, **kw)  # type: ignore[arg-type]
        got.extend(out)
        return out

    p.calibrator.feed_motion = spy  # type: ignore[method-assign]
    blk = _block()
    for b in [blk] if chunk is None else blk.chunks(chunk):
        p.feed(b)
    p.finish()
    return got, calls, p


def test_live_stream_gives_the_same_mounting_updates_with_fewer_motion_passes() -> None:
    whole, _, p_whole = _updates(None)
    live, calls, p_live = _updates(20)
    assert len(whole) == len(live) > 3
    for (i1, m1), (i2, m2) in zip(whole, live, strict=True):
        assert i1 == i2
        assert np.array_equal(m1.r_pelvis_from_sensor, m2.r_pelvis_from_sensor)
        assert np.array_equal(m1.gyr_bias_radps, m2.gyr_bias_radps)
        assert m1.confidence == m2.confidence
    batches = len(_block()) / round(p_live.cfg.micro_batch_s * FS)
    assert calls < 0.5 * batches  # postponed on most 2-s micro-batches
    # everything was passed in the end: the calibration's statistics are those of the whole block
    assert p_live.calibrator.samples_seen == p_whole.calibrator.samples_seen == len(_block())
    assert np.array_equal(p_live.calibrator._s.gait_sums, p_whole.calibrator._s.gait_sums)
    assert np.array_equal(p_live.calibrator._s.harm, p_whole.calibrator._s.harm)
