"""Live micro-batching: long batches while no stage needs prompt input, prompt input for the rep counter."""

from __future__ import annotations

import math

import numpy as np

from sensor.events import Event, RepEvent
from sensor.pipeline.calibration import Mounting as PelvisMounting
from sensor.pipeline.pipeline import HipPipeline
from sensor.pipeline.reps import RepStage
from sensor.pipeline.reps.frontend import pipeline_with_fixed_mounting
from sensor.pipeline.stage import PelvisChunk
from sensor.sim import simulate
from tests.pipeline._sims import run_sim
from tests.pipeline.reps.simcase import session


class _Sizes:
    """A stage that records the length of every chunk the pipeline hands over."""

    def __init__(self) -> None:
        self.sizes: list[int] = []

    def feed(self, chunk: PelvisChunk) -> list[Event]:
        self.sizes.append(len(chunk))
        return []

    def finish(self) -> list[Event]:
        return []


def test_running_is_processed_in_two_second_batches_even_with_the_rep_stage() -> None:
    res = run_sim(realistic=True, seconds=40.0, seed=4)
    fs = 104.0
    reps, sizes = RepStage(), _Sizes()
    p = HipPipeline(fs, stages=[reps, sizes])
    for b in res.block.chunks(10):
        p.feed(b)
    # gait vetoes reps: the rep stage lets the pipeline hold input for a whole micro-batch (2 s)
    assert reps.max_hold_s == math.inf
    assert sizes.sizes[-1] >= round(2.0 * fs)
    p.finish()


def test_reps_are_announced_within_half_a_second_with_the_default_micro_batch() -> None:
    """Issue 7's rule with the default configuration: the rep stage shortens the batches it needs."""
    sc = session(("squat", "glute_bridge", "romanian_deadlift"), reps=5, seed=5)
    res = simulate(sc)
    stage = RepStage()
    pipe = pipeline_with_fixed_mounting(
        sc.sensor.sampling_rate_hz, PelvisMounting(res.truth.r_pelvis_from_sensor, np.zeros(3), 1.0), [stage]
    )
    assert pipe.cfg.micro_batch_s >= 1.0
    lat = []
    for blk in res.block.chunks(5):
        for e in pipe.feed(blk):
            if isinstance(e, RepEvent):
                lat.append(float(blk.t_s[-1]) - e.t_end_s)
    assert [e for e in pipe.finish() if isinstance(e, RepEvent)] == []
    assert len(lat) == 15
    assert max(lat) <= 0.5
    assert min(lat) > 0.0
