"""Built-in scenarios (``Scenario.preset(name)``, ``hipsense simulate NAME``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from sensor.sim.scenario import (
    ExerciseSet,
    Hill,
    Hold,
    Mounting,
    Rest,
    Running,
    Scenario,
    Segment,
    Sitting,
    Standing,
    Turn,
    Walking,
)

BELT_CLIP: Final = Mounting(euler_deg=(90.0, 0.0, 0.0), lever_arm_m=(-0.11, 0.0, 0.03))
"""A clip on the back of the belt: sensor x points to the wearer's left, y backward, z up."""

SACRAL_TILTED: Final = Mounting(euler_deg=(180.0, 8.0, -12.0), lever_arm_m=(-0.10, 0.01, 0.02))
"""A sacral clip, sensor x backward, slightly rolled and pitched (a realistic unknown mounting)."""


def demo() -> Scenario:
    """Warm-up walk, a run with a weak LEFT glute medius (larger, growing drop on left stance), then strength work."""
    segs: list[Segment] = [
        Standing(duration_s=15.0, label="calibration stand"),
        Walking(duration_s=120.0, label="warm-up walk"),
        Standing(duration_s=10.0),
        Running(
            duration_s=480.0,
            drop_left_deg=8.0,
            drop_right_deg=5.0,
            fatigue_left_deg_per_10min=3.0,
            fatigue_right_deg_per_10min=0.5,
            turns=[Turn(at_s=200.0, angle_deg=180.0, duration_s=4.0)],
            label="run",
        ),
        Standing(duration_s=20.0, fidget=True),
        ExerciseSet(exercise="squat", reps=12),
        Hold(exercise="squat", hold_s=5.0),
        Rest(duration_s=40.0, mode="fidget", posture="standing"),
        ExerciseSet(exercise="glute_bridge", reps=12),
        Rest(duration_s=40.0, mode="fidget", posture="supine"),
        ExerciseSet(exercise="single_leg_bridge", reps=10, side="left", lateral_tilt_deg=6.0),
        Standing(duration_s=10.0),
    ]
    return Scenario(name="demo", segments=segs, mounting=SACRAL_TILTED, seed=1)


def run10() -> Scenario:
    """Quiet stand, 10 min straight run (5 deg drop on left stance, 9 deg on right), quiet stand."""
    return Scenario(
        name="run10",
        segments=[
            Standing(duration_s=10.0),
            Running(duration_s=600.0, drop_left_deg=5.0, drop_right_deg=9.0),
            Standing(duration_s=10.0),
        ],
        mounting=SACRAL_TILTED,
        seed=10,
    )


def walk() -> Scenario:
    return Scenario(
        name="walk",
        segments=[Standing(duration_s=10.0), Walking(duration_s=300.0), Standing(duration_s=10.0)],
        mounting=BELT_CLIP,
        seed=3,
    )


def bridges() -> Scenario:
    """Three sets of 12 glute bridges with 60 s rest lying down, fidgeting."""
    segs: list[Segment] = [Standing(duration_s=10.0)]
    for i in range(3):
        segs.append(ExerciseSet(exercise="glute_bridge", reps=12))
        if i < 2:
            segs.append(Rest(duration_s=60.0, mode="fidget", posture="supine"))
    segs.append(Standing(duration_s=10.0))
    return Scenario(name="bridges", segments=segs, mounting=SACRAL_TILTED, seed=4)


def exercises() -> Scenario:
    """One set of every exercise, with standing rest in between."""
    segs: list[Segment] = [Standing(duration_s=10.0)]
    plan: list[tuple[str, str | None]] = [
        ("squat", None),
        ("lunge", "alternate"),
        ("static_lunge", "right"),
        ("step_up", "left"),
        ("glute_bridge", None),
        ("single_leg_bridge", "right"),
        ("hip_thrust", None),
        ("romanian_deadlift", None),
        ("donkey_kick", "left"),
        ("sit_to_stand", None),
    ]
    for name, side in plan:
        segs.append(ExerciseSet.model_validate({"exercise": name, "reps": 10, "side": side}))
        segs.append(Rest(duration_s=30.0, mode="fidget"))
    segs.append(Hold(exercise="squat", hold_s=5.0))
    segs.append(Standing(duration_s=10.0))
    return Scenario(name="exercises", segments=segs, mounting=SACRAL_TILTED, seed=5)


def course() -> Scenario:
    """A run on a course with 90-degree turns and a hill."""
    turns = [Turn(at_s=60.0 * i + 30.0, angle_deg=90.0, duration_s=2.5) for i in range(4)]
    return Scenario(
        name="course",
        segments=[
            Standing(duration_s=10.0),
            Running(
                duration_s=300.0,
                drop_left_deg=6.0,
                drop_right_deg=7.0,
                turns=turns,
                hills=[Hill(at_s=250.0, duration_s=40.0, grade_pct=6.0)],
            ),
            Standing(duration_s=10.0),
        ],
        mounting=SACRAL_TILTED,
        seed=6,
    )


def office() -> Scenario:
    """Sitting most of the time, with a few sit-to-stand transitions and short walks."""
    segs: list[Segment] = [Standing(duration_s=10.0)]
    for _ in range(3):
        segs += [Sitting(duration_s=300.0), Standing(duration_s=8.0, fidget=True), Walking(duration_s=60.0)]
    segs.append(Standing(duration_s=10.0))
    return Scenario(name="office", segments=segs, mounting=BELT_CLIP, seed=7)


def still() -> Scenario:
    """One minute of quiet standing (sensor noise and bias only)."""
    return Scenario(name="still", segments=[Standing(duration_s=60.0)], seed=8)


def session() -> Scenario:
    """The issue's example: warm-up walk -> 10 min run -> 3 sets of 12 bridges -> 20 min sitting."""
    segs: list[Segment] = [Standing(duration_s=15.0), Walking(duration_s=180.0), Standing(duration_s=10.0)]
    segs.append(Running(duration_s=600.0, drop_left_deg=5.0, drop_right_deg=9.0, fatigue_right_deg_per_10min=1.0))
    segs.append(Walking(duration_s=60.0))
    for i in range(3):
        segs.append(ExerciseSet(exercise="glute_bridge", reps=12))
        if i < 2:
            segs.append(Rest(duration_s=60.0, mode="fidget", posture="supine"))
    segs.append(Sitting(duration_s=1200.0))
    return Scenario(name="session", segments=segs, mounting=Mounting.typical("sacrum"), seed=12)


PRESETS: Final[dict[str, Callable[[], Scenario]]] = {
    "demo": demo,
    "run10": run10,
    "walk": walk,
    "bridges": bridges,
    "exercises": exercises,
    "course": course,
    "office": office,
    "still": still,
    "session": session,
}
