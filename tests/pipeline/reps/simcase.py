"""Simulated training sessions for the rep tests (fixed seeds; the simulator provides the truth)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
import pytest

from sensor.events import Event, HoldEvent, RepEvent, SetEvent
from sensor.pipeline.calibration import Mounting as PelvisMounting
from sensor.pipeline.reps import RepStage
from sensor.pipeline.reps import counter as counter_mod
from sensor.pipeline.reps.chunks import ChunkRecorder, concat_chunks, slice_chunk
from sensor.pipeline.reps.frontend import pipeline_with_fixed_mounting
from sensor.pipeline.stage import PelvisChunk
from sensor.sim import ExerciseSet, Hold, Mounting, Rest, Scenario, Segment, SensorModel, Standing, Walking, simulate
from sensor.sim.exercises import EXERCISES
from sensor.sim.truth import Truth

SIDES = {"one": "left", "alternate": "alternate", "both": None}


def session(exercises: tuple[str, ...], *, reps: int = 6, seed: int = 3, hold: bool = False) -> Scenario:
    """A stand and a walk, then per exercise: 20 s rest in its start posture and one set of ``reps``."""
    segs: list[Segment] = [Standing(duration_s=10.0), Walking(duration_s=20.0)]
    for k, ex in enumerate(exercises):
        spec = EXERCISES[ex]  # type: ignore[index]
        side = SIDES[spec.sidedness]
        if side == "left" and k % 2:
            side = "right"
        segs.append(Rest(duration_s=20.0, mode="fidget" if k % 2 else "still", posture=spec.start_posture))
        segs.append(ExerciseSet(exercise=ex, reps=reps, side=side))  # type: ignore[arg-type]
        if hold and ex in ("squat", "glute_bridge"):
            segs.append(Hold(exercise=ex, hold_s=8.0))  # type: ignore[arg-type]
    segs.append(Standing(duration_s=10.0, fidget=True))
    return Scenario(
        segments=segs,
        sensor=SensorModel(sampling_rate_hz=104.0),
        mounting=Mounting(euler_deg=(150.0, 10.0, -15.0)),
        seed=seed,
    )


@dataclass(frozen=True)
class Run:
    truth: Truth
    events: list[Event]
    chunks: list[PelvisChunk]

    @property
    def reps(self) -> list[RepEvent]:
        return [e for e in self.events if isinstance(e, RepEvent)]

    @property
    def sets(self) -> list[SetEvent]:
        return [e for e in self.events if isinstance(e, SetEvent)]

    @property
    def holds(self) -> list[HoldEvent]:
        return [e for e in self.events if isinstance(e, HoldEvent)]


def run(sc: Scenario, *, declared: str | None = None, chunk_s: float = 1.0) -> Run:
    """The scenario through the running pipeline (with its true mounting) and the rep stage."""
    res = simulate(sc)
    fs = sc.sensor.sampling_rate_hz
    rec = ChunkRecorder()
    stage = RepStage(declared_exercise=declared)  # type: ignore[arg-type]
    pipe = pipeline_with_fixed_mounting(
        fs, PelvisMounting(res.truth.r_pelvis_from_sensor, np.zeros(3), 1.0), [stage, rec]
    )
    events: list[Event] = []
    for blk in res.block.chunks(max(1, round(chunk_s * fs))):
        events.extend(pipe.feed(blk))
    events.extend(pipe.finish())
    return Run(res.truth, [e for e in events if isinstance(e, RepEvent | SetEvent | HoldEvent)], rec.chunks)


@cache
def cached_run(exercises: tuple[str, ...], reps: int = 6, seed: int = 3, hold: bool = False) -> Run:
    return run(session(exercises, reps=reps, seed=seed, hold=hold))


def reps_in(run_: Run, t0: float, t1: float) -> list[RepEvent]:
    return [r for r in run_.reps if t0 - 1.0 <= (r.t_start_s + r.t_end_s) / 2 <= t1 + 1.0]


def refeed(whole: PelvisChunk, step: int = 37, stage: RepStage | None = None) -> tuple[list[Event], RepStage]:
    """A fresh rep stage (or ``stage``) fed ``whole`` in ``step``-sample chunks: its events and the stage."""
    stage = RepStage() if stage is None else stage
    events: list[Event] = []
    for a in range(0, len(whole), step):
        events += stage.feed(slice_chunk(whole, a, a + step))
    return events + stage.finish(), stage


def dumped(events: list[Event]) -> list[dict[str, object]]:
    return [e.model_dump() for e in events]


def assert_same_events_rechunked(r: Run, monkeypatch: pytest.MonkeyPatch, steps: tuple[int, ...] = (37,)) -> None:
    """``r``'s rep-stage input re-fed in ``steps``-sample chunks gives ``r``'s events, with the counter's idle fast
    path and without it (the per-bin state machine alone)."""
    whole = concat_chunks(r.chunks)
    for bulk in (True, False):
        monkeypatch.setattr(counter_mod, "_BULK_IDLE", bulk)
        for step in steps:
            assert dumped(refeed(whole, step)[0]) == dumped(r.events)
