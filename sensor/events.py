"""What the pipeline emits: steps, reps, sets, holds, alerts, bouts and rolling summaries.

These pydantic models are the one schema shared by ``analyze --json``, the recorder, MQTT payloads and reports
(units in every field name; times ``*_s`` are in the input's time base, seconds). The pipeline creates them;
sinks add what only they know (an event id, the session id) around them. JSON Schemas are generated from these
models (``hipsense schema``) and published in the repo.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from sensor.frames import Side

Activity = Literal["standing", "sitting", "walking", "running", "exercise", "other"]
Exercise = Literal[
    "squat",
    "lunge",
    "static_lunge",
    "step_up",
    "glute_bridge",
    "single_leg_bridge",
    "hip_thrust",
    "romanian_deadlift",
    "donkey_kick",
    "sit_to_stand",
]
NeutralSource = Literal["standing", "stride"]


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class StepEvent(_Event):
    """One step: from its initial contact (``t_s``) to the next step's initial contact."""

    kind: Literal["step"] = "step"
    t_s: float = Field(description="initial contact, s")
    side: Side = Field(description="stance side: the foot whose initial contact starts the step")
    t_toe_off_s: float | None = None
    pelvic_drop_deg: float | None = Field(
        default=None,
        description="largest obliquity toward the swing side in stance, from neutral; + = swing side lower",
    )
    neutral: NeutralSource | None = Field(default=None, description="where neutral came from")
    obliquity_range_deg: float | None = None
    tilt_range_deg: float | None = Field(default=None, description="anterior-tilt range over the step")
    rotation_range_deg: float | None = None
    step_time_s: float | None = None
    contact_time_s: float | None = None
    flight_time_s: float | None = None
    cadence_spm: float | None = None
    vertical_oscillation_m: float | None = None
    in_turn: bool = False
    activity: Literal["walking", "running"] = "running"
    confidence: float = Field(ge=0.0, le=1.0)


class RepEvent(_Event):
    kind: Literal["rep"] = "rep"
    t_start_s: float
    t_end_s: float
    exercise: Exercise
    side: Side | None = None
    index_in_set: int = Field(ge=1)
    duration_s: float
    eccentric_s: float | None = None
    concentric_s: float | None = None
    pause_s: float | None = None
    vertical_travel_m: float | None = None
    tilt_range_deg: float | None = None
    lateral_tilt_deg: float | None = Field(default=None, description="pelvic lateral tilt during the rep (one-sided)")
    quality: float | None = Field(default=None, ge=0.0, le=1.0)
    confidence: float = Field(ge=0.0, le=1.0)


class SetEvent(_Event):
    kind: Literal["set"] = "set"
    t_start_s: float
    t_end_s: float
    exercise: Exercise
    exercise_confidence: float = Field(ge=0.0, le=1.0)
    reps: int = Field(ge=0)
    side: Side | None = None
    mean_rep_s: float | None = None
    tempo_cv: float | None = Field(default=None, description="coefficient of variation of rep durations")
    mean_lateral_tilt_deg: float | None = None


class HoldEvent(_Event):
    kind: Literal["hold"] = "hold"
    t_start_s: float
    t_end_s: float
    exercise: Exercise
    duration_s: float


class AlertEvent(_Event):
    kind: Literal["alert"] = "alert"
    t_s: float
    alert: Literal["drop_above_threshold", "asymmetry_above_limit", "long_sitting", "link_lost", "low_battery"]
    message: str
    value: float | None = None
    threshold: float | None = None
    side: Side | None = None


class BoutEvent(_Event):
    kind: Literal["bout"] = "bout"
    t_start_s: float
    t_end_s: float
    activity: Activity


class RollingSummary(_Event):
    """Rolling metrics (last 30 s by default) and per-bout summaries share this shape."""

    kind: Literal["summary"] = "summary"
    t_s: float
    window_s: float | None = Field(default=None, description="None for a whole-bout or whole-session summary")
    activity: Activity = "other"
    steps: int = 0
    median_drop_left_deg: float | None = Field(default=None, description="median drop on left-stance steps")
    median_drop_right_deg: float | None = None
    asymmetry_index_pct: float | None = None
    cadence_spm: float | None = None
    share_above_threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    fatigue_slope_deg_per_10min: float | None = None
    fatigue_slope_ci95_deg_per_10min: tuple[float, float] | None = None
    drop_change_from_start_deg: float | None = Field(
        default=None,
        description="mean drop of the straight steps in this window minus that of the bout's first minutes",
    )


Event = Annotated[
    StepEvent | RepEvent | SetEvent | HoldEvent | AlertEvent | BoutEvent | RollingSummary,
    Field(discriminator="kind"),
]
