"""Vertical travel through slow and fast sets: zero-velocity updates, their deferral, the gait veto (fixed seeds).

Each scenario is a stand, a walk, a still rest in the set's start posture and one set at an extreme tempo; the
simulator's truth is the reference. Before these rules the slow static lunges counted 7-9 of 12, the fast ones
3-7 of 15 and the fast sit-to-stands 6 of 12 (seed 3).
"""

from __future__ import annotations

import pytest

from sensor.sim import ExerciseSet, Mounting, Rest, Scenario, SensorModel, Standing, Tempo, Walking
from sensor.sim.scenario import Posture
from tests.pipeline.reps.simcase import Run, reps_in, run


def _one_set(exercise: str, posture: Posture, tempo: Tempo, reps: int, side: str | None, seed: int) -> Scenario:
    return Scenario(
        segments=[
            Standing(duration_s=10.0),
            Walking(duration_s=20.0),
            Rest(duration_s=20.0, mode="still", posture=posture),
            ExerciseSet(
                exercise=exercise,  # type: ignore[arg-type]
                reps=reps,
                side=side,  # type: ignore[arg-type]
                tempo=tempo,
                lateral_tilt_deg=3.0 if side else None,
            ),
            Standing(duration_s=10.0),
        ],
        sensor=SensorModel(sampling_rate_hz=104.0),
        mounting=Mounting(euler_deg=(150.0, 10.0, -15.0)),
        seed=seed,
    )


def _counted(r: Run) -> int:
    tr = r.truth
    return len(reps_in(r, float(tr.sets.t_start_s[0]), float(tr.sets.t_end_s[0])))


@pytest.mark.parametrize("seed", [3, 5])
def test_slow_static_lunges_are_not_cut_by_a_zero_velocity_update_half_way(seed: int) -> None:
    # 2.4 s down: half-way the pelvis moves at 0.25 m/s with hardly any acceleration, and the quiet test passed
    # there; the update zeroed a real velocity and every rep left 20-30 cm of travel behind
    tempo = Tempo(eccentric_s=2.4, concentric_s=2.0, pause_far_s=0.3, pause_near_s=0.3)
    r = run(_one_set("static_lunge", "standing", tempo, 12, "left", seed))
    assert _counted(r) == 12
    assert len(r.reps) == 12


@pytest.mark.parametrize(("seed", "exact"), [(4, True), (3, False), (5, False)])
def test_fast_static_lunges_labelled_walking_keep_their_set(seed: int, exact: bool) -> None:
    # 1.1 s per rep: the activity label reads walking throughout, but walking never moves the pelvis 30 cm
    tempo = Tempo(eccentric_s=0.45, concentric_s=0.45, pause_far_s=0.05, pause_near_s=0.15)
    n = _counted(run(_one_set("static_lunge", "standing", tempo, 15, "left", seed)))
    assert n == 15 if exact else abs(n - 15) <= 1


def test_fast_sit_to_stands_reset_the_velocity_in_their_short_pauses() -> None:
    # 0.5 s in the chair between reps: 8 quiet bins (0.4 s) were never reached there, so the velocity error of
    # each stand-up ran on through the sit-down
    tempo = Tempo(eccentric_s=0.7, concentric_s=0.6, pause_far_s=0.1, pause_near_s=0.5)
    r = run(_one_set("sit_to_stand", "sitting", tempo, 12, None, 3))
    assert _counted(r) == 12
    assert len(r.reps) == 12


def test_a_step_up_paused_on_the_step_is_not_a_new_start_position() -> None:
    # 1.1 s still on the step, then the way down tilts the pelvis forward (the step-up's bump): that looked like
    # moving away from both the pause and the rest pose, the set was re-based on the step and counted top to top
    # (5 of 6, the rest recognised as static lunges); a new start position does not come back toward rest's height
    tempo = Tempo(eccentric_s=2.09, concentric_s=1.8, pause_far_s=1.07, pause_near_s=1.45)
    sc = Scenario(
        segments=[
            Standing(duration_s=10.0),
            Walking(duration_s=20.0),
            Rest(duration_s=30.0, mode="still", posture="standing"),
            ExerciseSet(exercise="step_up", reps=6, side="right", tempo=tempo, rom=0.96, lateral_tilt_deg=3.3),
            Standing(duration_s=10.0),
        ],
        sensor=SensorModel(sampling_rate_hz=208.0),
        mounting=Mounting(euler_deg=(-7.0, 20.7, 25.0)),
        seed=60,
    )
    r = run(sc)
    assert _counted(r) == 6
    assert [s.exercise for s in r.sets] == ["step_up"]
