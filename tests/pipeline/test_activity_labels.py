"""Per-sample activity labels (sensor.pipeline.activity.label_samples) against a direct reference."""

from __future__ import annotations

import numpy as np

from sensor.pipeline.activity import label_samples
from sensor.pipeline.stage import OTHER, RUNNING, STANDING, WALKING


def _reference(start: int, quiet: np.ndarray, peaks: list[tuple[int, bool]], lookahead: int, fs: float) -> np.ndarray:
    out = np.full(quiet.size, OTHER, dtype=np.int8)
    for i in range(quiet.size):
        seen = [(p, r) for p, r in peaks if p <= start + i - lookahead]  # the look-ahead ended by this sample
        if seen and start + i - seen[-1][0] <= 1.5 * fs:
            out[i] = RUNNING if seen[-1][1] else WALKING
    out[quiet] = STANDING
    return out


def test_labels_match_the_sample_by_sample_definition() -> None:
    rng = np.random.default_rng(2)
    fs, lookahead = 52.0, 40
    for start in (0, 500, 3000):
        n = 900
        quiet = rng.random(n) < 0.1
        idx = np.sort(rng.choice(np.arange(max(0, start - 300), start + n + 200), size=40, replace=False))
        peaks = [(int(p), bool(rng.random() < 0.5)) for p in idx]
        np.testing.assert_array_equal(
            label_samples(start, quiet, peaks, lookahead, fs), _reference(start, quiet, peaks, lookahead, fs)
        )
    assert (label_samples(0, np.zeros(10, dtype=bool), [], lookahead, fs) == OTHER).all()
