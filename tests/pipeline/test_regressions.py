"""Regressions found by the benches."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np

from sensor.pipeline.pipeline import HipPipeline
from sensor.sim import simulate


def _bench_scenario(seed: int) -> object:
    path = Path(__file__).resolve().parents[2] / "bench" / "bench_reps_accuracy.py"
    spec = importlib.util.spec_from_file_location("bench_reps_accuracy", path)
    assert spec is not None
    assert spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # its dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod.make_scenario(seed)


def test_a_step_whose_stride_starts_at_the_buffer_end_does_not_crash_streaming() -> None:
    # bench_reps_accuracy seed 19 fed in 20-sample chunks raised IndexError in metrics.step_events (yaw[ia])
    block = simulate(_bench_scenario(19)).block  # type: ignore[arg-type]
    one = HipPipeline(block.sampling_rate_hz)
    batch = one.feed(block) + one.finish()
    live = HipPipeline(block.sampling_rate_hz)
    streamed = [e for c in block.chunks(20) for e in live.feed(c)] + live.finish()
    # No crash, and every reported step is a real one with a finite time that batch analysis reports too.
    # Known open gap (issue 6 note): in this exercise session one sparse "step" completed more than the 8 s
    # look-back after its contact is measurable in batch but not when streamed, so it is not reported there.
    steps_b = np.array([e.t_s for e in streamed if e.kind == "step"])
    steps_a = np.array([e.t_s for e in batch if e.kind == "step"])
    assert np.isfinite(steps_b).all()
    assert np.isin(steps_b, steps_a).all()
    assert steps_a.size - steps_b.size <= 2
