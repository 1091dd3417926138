"""The glute exercises: start posture, pelvis excursion at full range of motion, default tempo.

A rep moves a progress variable ``q`` from 0 (start position) to the far position (``q = rom``) and back with
C3 smoothsteps (eccentric, concentric, pauses). Each pelvis channel changes by ``lin * q + bump * 4 q (1 - q)``
(the bump models e.g. the trunk lean half-way up a sit-to-stand). Numbers are typical adult values from the
biomechanics literature, rounded; they are plausible, not normative.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from sensor.events import Exercise
from sensor.sim.scenario import Posture, Tempo


@dataclass(frozen=True, slots=True)
class ExerciseSpec:
    """Pelvis excursion of one exercise at ``q = 1`` (a full rep), relative to its start pose.

    Attributes:
        start_posture: the base posture the set starts from.
        start_pose: ``(pitch_deg, z_m)`` offsets of the start position from that posture.
        dz_m, dpitch_deg, dap_m: height, anterior tilt and forward displacement at the far position.
        dyaw_deg: pelvic rotation at the far position for a LEFT working side (mirrored for the right).
        bump_pitch_deg, bump_ap_m: extra excursion half-way through the movement.
        concentric_first: True when the first movement lifts (bridge, step-up), False when it lowers (squat).
        sidedness: ``"both"`` two-legged, ``"one"`` one working side per set, ``"alternate"`` per rep.
        lateral_tilt_deg: typical pelvic lateral tilt toward the non-working side at the far position.
    """

    start_posture: Posture
    start_pose: tuple[float, float]
    dz_m: float
    dpitch_deg: float
    dap_m: float
    dyaw_deg: float
    bump_pitch_deg: float
    bump_ap_m: float
    concentric_first: bool
    sidedness: Literal["both", "one", "alternate"]
    lateral_tilt_deg: float
    tempo: Tempo


def _t(ecc: float, con: float, far: float, near: float) -> Tempo:
    return Tempo(eccentric_s=ecc, concentric_s=con, pause_far_s=far, pause_near_s=near)


EXERCISES: Final[dict[Exercise, ExerciseSpec]] = {
    "squat": ExerciseSpec(
        "standing", (0.0, 0.0), -0.45, 25.0, -0.12, 0.0, 0.0, 0.0, False, "both", 0.0, _t(2.0, 1.5, 0.3, 0.8)
    ),
    "lunge": ExerciseSpec(
        "standing", (0.0, 0.0), -0.35, 6.0, 0.35, -6.0, 4.0, 0.0, False, "alternate", 2.0, _t(1.5, 1.2, 0.3, 0.8)
    ),
    "static_lunge": ExerciseSpec(
        "standing", (2.0, -0.05), -0.30, 4.0, 0.02, -3.0, 0.0, 0.0, False, "one", 3.0, _t(1.8, 1.3, 0.3, 0.6)
    ),
    "step_up": ExerciseSpec(
        "standing", (0.0, 0.0), 0.30, 2.0, 0.30, 0.0, 12.0, 0.05, True, "one", 4.0, _t(1.6, 1.3, 0.6, 0.8)
    ),
    "glute_bridge": ExerciseSpec(
        "supine", (0.0, 0.0), 0.18, -30.0, 0.0, 0.0, 0.0, 0.0, True, "both", 0.0, _t(1.5, 1.0, 1.0, 0.8)
    ),
    "single_leg_bridge": ExerciseSpec(
        "supine", (0.0, 0.0), 0.14, -25.0, 0.0, 0.0, 0.0, 0.0, True, "one", 5.0, _t(1.5, 1.0, 1.0, 0.8)
    ),
    "hip_thrust": ExerciseSpec(
        "supine", (40.0, 0.27), 0.30, -42.0, 0.0, 0.0, 0.0, 0.0, True, "both", 0.0, _t(1.5, 1.0, 1.0, 0.8)
    ),
    "romanian_deadlift": ExerciseSpec(
        "standing", (0.0, 0.0), -0.08, 55.0, -0.15, 0.0, 0.0, 0.0, False, "both", 0.0, _t(2.5, 1.5, 0.3, 0.7)
    ),
    "donkey_kick": ExerciseSpec(
        "quadruped", (0.0, 0.0), 0.02, 6.0, 0.0, 0.0, 0.0, 0.0, True, "one", 4.0, _t(1.0, 0.8, 0.5, 0.5)
    ),
    "sit_to_stand": ExerciseSpec(
        "sitting", (0.0, 0.0), 0.45, 18.0, 0.10, 0.0, 30.0, 0.10, True, "both", 0.0, _t(1.8, 1.2, 0.8, 0.8)
    ),
}
"""Exercise table. ``sit_to_stand`` starts seated, its ``dpitch_deg`` undoes the sitting posterior tilt."""
