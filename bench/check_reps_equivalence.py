"""Equivalence check for rep-stage speed work: every RepStage event before and after a change, compared exactly.

    python bench/check_reps_equivalence.py save BEFORE.json      # on the old code
    python bench/check_reps_equivalence.py compare BEFORE.json   # on the new code: exit 1 on any difference

Inputs: the pelvis-frame streams (``pipeline_with_fixed_mounting``, as ``bench_reps_accuracy.py``) of the accuracy
sessions ``--first-seed``.. (default seeds 0-29; ``--fast``: its fast sessions, every set fast with near-zero
pauses), the hour of ``bench_reps_speed.py`` and the running hour of ``bench_running_speed.py``. Per stream:
RepStage on the whole stream (undeclared and declared "squat") and fed in random 1-60 sample chunks; every event's
fields (reps, sets, holds). Pipeline events: ``check_equivalence.py``.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import numpy as np

from sensor.events import Event
from sensor.pipeline.calibration import Mounting as PelvisMounting
from sensor.pipeline.pipeline import HipPipeline
from sensor.pipeline.reps import RepStage
from sensor.pipeline.reps.chunks import ChunkRecorder, concat_chunks, slice_chunk
from sensor.pipeline.reps.frontend import pipeline_with_fixed_mounting
from sensor.pipeline.stage import PelvisChunk
from sensor.sim import simulate


def _dump(events: list[Event]) -> list[dict[str, Any]]:
    return [e.model_dump(mode="json") for e in events]


def streams(first_seed: int, cases: int, fast: bool = False) -> dict[str, PelvisChunk]:
    from bench_reps_accuracy import _rot, make_scenario  # this script's folder is on sys.path
    from bench_reps_speed import make_data as training_hour
    from bench_running_speed import make_data as running_hour

    out: dict[str, PelvisChunk] = {}
    for seed in range(first_seed, first_seed + cases):
        sc = make_scenario(seed, fast=fast)
        res = simulate(sc)
        r = _rot(np.random.default_rng(sc.seed + 7), 3.0) @ res.truth.r_pelvis_from_sensor
        rec = ChunkRecorder()
        p = pipeline_with_fixed_mounting(sc.sensor.sampling_rate_hz, PelvisMounting(r, np.zeros(3), 1.0), [rec])
        p.feed(res.block)
        p.finish()
        out[f"seed{seed}"] = concat_chunks(rec.chunks)
    for name, block in (("training_hour", training_hour(60.0)), ("running_hour", running_hour(60.0))):
        rec = ChunkRecorder()
        p = HipPipeline(208.0, stages=[rec])
        p.feed(block)
        p.finish()
        out[name] = concat_chunks(rec.chunks)
    return out


def results(first_seed: int, cases: int, fast: bool = False) -> dict[str, list[dict[str, Any]]]:
    res: dict[str, list[dict[str, Any]]] = {}
    for name, whole in streams(first_seed, cases, fast).items():
        for declared in (None, "squat"):
            st = RepStage(declared_exercise=declared)  # type: ignore[arg-type]
            res[f"{name}/{declared}/whole"] = _dump(st.feed(whole) + st.finish())
        st = RepStage()
        ev: list[Event] = []
        rng = np.random.default_rng(1)
        a = 0
        while a < len(whole):
            b = a + int(rng.integers(1, 61))
            ev += st.feed(slice_chunk(whole, a, b))
            a = b
        res[f"{name}/None/random"] = _dump(ev + st.finish())
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=["save", "compare"])
    ap.add_argument("path")
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--cases", type=int, default=30)
    ap.add_argument("--fast", action="store_true", help="the fast sessions of bench_reps_accuracy.py --fast")
    args = ap.parse_args(argv)
    res = results(args.first_seed, args.cases, args.fast)
    n = {k: sum(e["kind"] == k for v in res.values() for e in v) for k in ("rep", "set", "hold")}
    print(f"{len(res)} runs: {n['rep']} rep, {n['set']} set and {n['hold']} hold events")
    if args.mode == "save":
        with open(args.path, "w") as f:
            json.dump(res, f, sort_keys=True)
        return 0
    with open(args.path) as f:
        before = json.load(f)
    bad = 0
    for key in sorted(set(before) | set(res)):
        a, b = before.get(key), json.loads(json.dumps(res.get(key)))
        if a != b:
            bad += 1
            print(f"{key}: DIFFERENT ({len(a or [])} vs {len(b or [])} events)")
    print("identical" if bad == 0 else f"{bad} runs differ")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
