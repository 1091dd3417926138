"""Gait initiation: the push-off before the first step from standing is not a heel strike
(sensor.pipeline.gait.GaitDetector._anticipatory)."""

from __future__ import annotations

from sensor.pipeline.buffer import SignalBuffer
from sensor.pipeline.gait import GaitDetector, Step

FS = 100.0


def _chain(ic_s: list[float], *, running: bool = False) -> tuple[GaitDetector, list[Step]]:
    det = GaitDetector(FS, SignalBuffer(("acc_ap",), keep=800), has_gyr=True)
    steps = []
    for pos, t in enumerate(ic_s):
        st = Step(peak=round(t * FS) + 10, ic=t * FS, to=None, running=running, peak_mps2=12.0, pos=pos)
        steps.append(st)
        det._hist.setdefault(0, []).append(1.0 if pos % 2 == 0 else -1.0)  # chain 0's signed cues from pos 0
        det._hist_off[0] = 0
    return det, steps


def test_a_short_first_interval_is_the_push_off_and_its_side_cue_is_withdrawn() -> None:
    # subject 4 of the lower-back recordings: a vertical peak 0.36 s before the first heel strike, then 0.55 s steps
    det, steps = _chain([4.64, 5.00, 5.55, 6.10, 6.65, 7.20, 7.75])
    assert det._anticipatory(steps[0], steps[1:])
    assert det._hist[0][0] == 0.0
    assert det._hist[0][1:] == [-1.0, 1.0, -1.0, 1.0, -1.0, 1.0]  # the other steps' evidence is kept
    assert steps[1].prev_ic is None


def test_a_first_step_as_long_as_the_steady_ones_is_kept() -> None:
    # gait initiation: the first step is as long or longer than the steady ones (0.99-1.41 times on real data)
    det, steps = _chain([4.40, 5.00, 5.55, 6.10, 6.65, 7.20, 7.75])
    assert not det._anticipatory(steps[0], steps[1:])
    # left/right asymmetry of the following steps does not matter: the median of two strides is compared
    det, steps = _chain([4.45, 5.00, 5.45, 6.10, 6.55, 7.20, 7.65])
    assert not det._anticipatory(steps[0], steps[1:])


def test_running_and_short_chains_are_left_alone() -> None:
    det, steps = _chain([4.64, 5.00, 5.35, 5.70, 6.05, 6.40], running=True)
    assert not det._anticipatory(steps[0], steps[1:])
    det, steps = _chain([4.64, 5.00, 5.55, 6.10, 6.65])  # fewer than five steps after it: no evidence
    assert not det._anticipatory(steps[0], steps[1:])
