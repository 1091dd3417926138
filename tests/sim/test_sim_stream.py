"""simulate_stream: window by window, the same samples as simulate, for any chunk size."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sensor.errors import ScenarioError
from sensor.model import ImuBlock
from sensor.sim import (
    ExerciseSet,
    Hill,
    Rest,
    Running,
    Scenario,
    SensorModel,
    Standing,
    Turn,
    Walking,
    simulate,
    simulate_stream,
)

SCENARIO = Scenario(
    segments=[
        Standing(duration_s=4.0),
        Walking(duration_s=8.0, turns=[Turn(at_s=2.0, angle_deg=60.0, duration_s=2.0)]),
        Running(duration_s=10.0, soft_tissue_g=1.0, hills=[Hill(at_s=2.0, duration_s=6.0, grade_pct=5.0, ramp_s=2.0)]),
        Rest(duration_s=6.0, mode="fidget"),
        ExerciseSet(exercise="step_up", reps=2, side="left"),
        Rest(duration_s=10.0, mode="walk"),
    ],
    sensor=SensorModel(sampling_rate_hz=104.0, packet_loss_probability=0.02, timestamp_jitter_s=0.001),
    seed=31,
)
BATCH = simulate(SCENARIO).block


def _same(a: ImuBlock, b: ImuBlock) -> None:
    np.testing.assert_array_equal(a.sample_index, b.sample_index)
    np.testing.assert_array_equal(a.missing_before, b.missing_before)
    # bit for bit: every value is an analytic function of the sample's own time and of per-segment draws
    np.testing.assert_array_equal(a.t_s, b.t_s)
    np.testing.assert_array_equal(a.acc_mps2, b.acc_mps2)
    assert a.gyr_radps is not None
    assert b.gyr_radps is not None
    np.testing.assert_array_equal(a.gyr_radps, b.gyr_radps)


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chunk=st.integers(min_value=1, max_value=5000))
def test_stream_equals_batch_for_any_chunk_size(chunk: int) -> None:
    if chunk < 50:  # tiny chunks: compare a prefix only, to keep the test fast
        scenario = SCENARIO
        blocks = []
        for blk in simulate_stream(scenario, chunk_samples=chunk):
            blocks.append(blk)
            if sum(len(b) for b in blocks) > 600:
                break
        got = ImuBlock.concat(blocks)
        _same(got, BATCH.slice(0, len(got)))
    else:
        _same(ImuBlock.concat(list(simulate_stream(SCENARIO, chunk_samples=chunk))), BATCH)


def test_stream_rejects_a_bad_chunk_size() -> None:
    with pytest.raises(ScenarioError):
        next(simulate_stream(SCENARIO, chunk_samples=0))


def test_a_run_too_long_to_hold_in_memory_is_refused_by_simulate_and_streams_instead() -> None:
    """10 h at 208 Hz (7.5 M samples, ~4 GB with its truth) is too much for ``simulate``: a clear error naming the
    size and the fix, at once; ``simulate_stream`` generates the same scenario window by window."""
    long_run = Scenario(segments=[Running(duration_s=36_000.0)], sensor=SensorModel(sampling_rate_hz=208.0))
    with pytest.raises(ScenarioError, match=r"7,488,000 samples.*simulate_stream") as ei:
        simulate(long_run)
    assert ei.value.key == "segments"
    first = next(simulate_stream(long_run, chunk_samples=208))
    assert len(first) == 208


def test_an_absurdly_long_run_is_refused_by_simulate_stream_too() -> None:
    """30 years would make even the stream's per-second bias walk gigabytes: refused at once, with the fix."""
    huge = Scenario(segments=[Running(duration_s=1e9)], sensor=SensorModel(sampling_rate_hz=52.0))
    with pytest.raises(ScenarioError, match=r"1,000,000,000 s.*7 days.*split it"):
        next(simulate_stream(huge))
