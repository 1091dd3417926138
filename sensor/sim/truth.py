"""Ground truth of a simulation: per-sample pelvis angles and labels, steps, reps, sets, holds, sensor errors.

All times are in the simulation's true time base (seconds from the start; the recorded ``t_s`` equals it unless
timestamp jitter is simulated). Angles follow :mod:`sensor.frames`. ``to_json``/``from_json`` round-trip exactly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from typing import Any, Final, get_args

import numpy as np
from numpy.typing import NDArray

from sensor.errors import DataValidationError
from sensor.events import Exercise, HoldEvent, RepEvent, SetEvent, StepEvent
from sensor.frames import Side

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

ACTIVITY_LABELS: Final = ("standing", "sitting", "walking", "running", "exercise", "other")
"""Per-sample activity labels, in code order (``Truth.activity_code`` indexes this tuple)."""

TRUTH_FORMAT: Final = "hipsense-sim-truth/1"


def _exercise(name: str) -> Exercise:
    if name not in get_args(Exercise):
        raise DataValidationError(f"unknown exercise {name!r} in the truth", field="exercise")
    return name  # type: ignore[return-value]


def _side(side: str | None) -> Side | None:
    return None if side is None else ("left" if side == "left" else "right")


def _arr(values: Any, dtype: Any) -> NDArray[Any]:
    return np.asarray(values, dtype=dtype)


@dataclass(frozen=True, slots=True, eq=False)
class StepsTruth:
    """One entry per step (initial contact to the next initial contact), in time order.

    ``pelvic_drop_deg`` comes from :func:`sensor.definitions.pelvic_drop_deg` on the true obliquity with
    ``neutral_deg`` (the latest quiet standing before the step, else the surrounding stride: ``neutral_source``).
    ``target_drop_deg`` is the drop the generator asked for (the measured one differs by turn lean and the
    neutral offset). ``steady`` is False for steps in a start/stop ramp, where gait amplitudes are still growing
    or fading. ``in_turn`` marks steps whose stride overlaps a turn. Ranges (max - min) and the vertical oscillation
    are taken over the step, initial contact to the next initial contact; ``flight_time_s`` is nan for walking.
    """

    t_ic_s: FloatArray
    t_to_s: FloatArray
    side: list[str]
    pelvic_drop_deg: FloatArray
    target_drop_deg: FloatArray
    neutral_deg: FloatArray
    neutral_source: list[str]
    in_turn: BoolArray
    steady: BoolArray
    step_time_s: FloatArray
    contact_time_s: FloatArray
    flight_time_s: FloatArray
    vertical_oscillation_m: FloatArray
    obliquity_range_deg: FloatArray
    tilt_range_deg: FloatArray
    rotation_range_deg: FloatArray
    activity: list[str]
    segment: IntArray

    def __len__(self) -> int:
        return int(self.t_ic_s.shape[0])

    @property
    def cadence_spm(self) -> FloatArray:
        out: FloatArray = 60.0 / self.step_time_s
        return out


@dataclass(frozen=True, slots=True, eq=False)
class RepsTruth:
    """One entry per rep. Phase times: the first movement runs ``t_start_s -> t_far_s``, the pause at the far
    position ``t_far_s -> t_return_s``, the return ``t_return_s -> t_end_s``. For eccentric-first moves (squat)
    the first movement is the eccentric one; for concentric-first moves (bridge) the concentric one."""

    t_start_s: FloatArray
    t_far_s: FloatArray
    t_return_s: FloatArray
    t_end_s: FloatArray
    eccentric_s: FloatArray
    concentric_s: FloatArray
    pause_s: FloatArray
    exercise: list[str]
    side: list[str | None]
    index_in_set: IntArray
    set_index: IntArray
    rom: FloatArray
    vertical_travel_m: FloatArray
    tilt_range_deg: FloatArray
    lateral_tilt_deg: FloatArray

    def __len__(self) -> int:
        return int(self.t_start_s.shape[0])


@dataclass(frozen=True, slots=True, eq=False)
class SetsTruth:
    t_start_s: FloatArray
    t_end_s: FloatArray
    exercise: list[str]
    reps: IntArray
    side: list[str | None]
    segment: IntArray

    def __len__(self) -> int:
        return int(self.t_start_s.shape[0])


@dataclass(frozen=True, slots=True, eq=False)
class HoldsTruth:
    t_start_s: FloatArray
    t_end_s: FloatArray
    exercise: list[str]
    segment: IntArray

    def __len__(self) -> int:
        return int(self.t_start_s.shape[0])


@dataclass(frozen=True, slots=True, eq=False)
class SegmentTruth:
    index: int
    activity: str
    t_start_s: float
    t_end_s: float
    transition_s: float
    label: str | None = None


@dataclass(frozen=True, slots=True, eq=False)
class Truth:
    """Everything the simulator knows about a run.

    Attributes:
        t_s: true sample times (all samples, including ones later lost in simulated packets).
        roll_deg, pitch_deg, yaw_deg: pelvis obliquity, anterior tilt, rotation (yaw continuous, not wrapped).
        z_m: pelvis height relative to quiet standing.
        activity_code: index into :data:`ACTIVITY_LABELS` per sample (see :attr:`activity`).
        quiet_standing: samples of quiet standing (the ones that set the neutral obliquity).
        r_pelvis_from_sensor: the mounting, maps sensor-frame vectors to pelvis-frame vectors
            (``r_sensor_from_pelvis`` is its transpose).
        lever_arm_m: sensor position relative to the pelvis centre, pelvis frame.
        gyr_bias_t_s, gyr_bias_radps: knots of the gyroscope bias (sensor frame), linear in between.
        acc_bias_t_s, acc_bias_mps2: same for the accelerometer.
        acc_scale, gyr_scale: per-axis scale factors (1 + error).
    """

    sampling_rate_hz: float
    t_s: FloatArray
    roll_deg: FloatArray
    pitch_deg: FloatArray
    yaw_deg: FloatArray
    z_m: FloatArray
    activity_code: NDArray[np.int8]
    quiet_standing: BoolArray
    steps: StepsTruth
    reps: RepsTruth
    sets: SetsTruth
    holds: HoldsTruth
    segments: list[SegmentTruth]
    r_pelvis_from_sensor: FloatArray
    lever_arm_m: FloatArray
    gyr_bias_t_s: FloatArray
    gyr_bias_radps: FloatArray
    acc_bias_t_s: FloatArray
    acc_bias_mps2: FloatArray
    acc_scale: FloatArray
    gyr_scale: FloatArray
    scenario: dict[str, Any] = field(default_factory=dict)

    @property
    def activity(self) -> NDArray[np.str_]:
        """Per-sample activity label (strings from :data:`ACTIVITY_LABELS`)."""
        out: NDArray[np.str_] = np.asarray(ACTIVITY_LABELS)[self.activity_code]
        return out

    @property
    def obliquity_deg(self) -> FloatArray:
        return self.roll_deg

    @property
    def r_sensor_from_pelvis(self) -> FloatArray:
        out: FloatArray = self.r_pelvis_from_sensor.T.copy()
        return out

    def gyr_bias_at(self, t_s: FloatArray) -> FloatArray:
        """The true gyroscope bias (sensor frame, rad/s) at the given times."""
        return np.stack([np.interp(t_s, self.gyr_bias_t_s, self.gyr_bias_radps[:, i]) for i in range(3)], axis=1)

    def acc_bias_at(self, t_s: FloatArray) -> FloatArray:
        return np.stack([np.interp(t_s, self.acc_bias_t_s, self.acc_bias_mps2[:, i]) for i in range(3)], axis=1)

    # -------------------------------------------------------------------------------- events
    def events(self) -> list[StepEvent | RepEvent | SetEvent | HoldEvent]:
        """The truth as the pipeline's event models (confidence 1), sorted by time: what a perfect analysis emits."""
        out: list[tuple[float, StepEvent | RepEvent | SetEvent | HoldEvent]] = []
        st = self.steps
        for i in range(len(st)):
            running = st.activity[i] == "running"
            drop = float(st.pelvic_drop_deg[i])
            out.append(
                (
                    float(st.t_ic_s[i]),
                    StepEvent(
                        t_s=float(st.t_ic_s[i]),
                        side="left" if st.side[i] == "left" else "right",
                        t_toe_off_s=float(st.t_to_s[i]),
                        pelvic_drop_deg=drop if np.isfinite(drop) else None,
                        neutral="standing" if st.neutral_source[i] == "standing" else "stride",
                        step_time_s=float(st.step_time_s[i]),
                        contact_time_s=float(st.contact_time_s[i]),
                        flight_time_s=float(st.flight_time_s[i]) if running else None,
                        obliquity_range_deg=float(st.obliquity_range_deg[i]),
                        tilt_range_deg=float(st.tilt_range_deg[i]),
                        rotation_range_deg=float(st.rotation_range_deg[i]),
                        cadence_spm=float(60.0 / st.step_time_s[i]),
                        vertical_oscillation_m=float(st.vertical_oscillation_m[i]),
                        in_turn=bool(st.in_turn[i]),
                        activity="running" if running else "walking",
                        confidence=1.0,
                    ),
                )
            )
        rp = self.reps
        for i in range(len(rp)):
            side = rp.side[i]
            out.append(
                (
                    float(rp.t_start_s[i]),
                    RepEvent(
                        t_start_s=float(rp.t_start_s[i]),
                        t_end_s=float(rp.t_end_s[i]),
                        exercise=_exercise(rp.exercise[i]),
                        side=_side(side),
                        index_in_set=int(rp.index_in_set[i]),
                        duration_s=float(rp.t_end_s[i] - rp.t_start_s[i]),
                        eccentric_s=float(rp.eccentric_s[i]),
                        concentric_s=float(rp.concentric_s[i]),
                        pause_s=float(rp.pause_s[i]),
                        vertical_travel_m=float(rp.vertical_travel_m[i]),
                        tilt_range_deg=float(rp.tilt_range_deg[i]),
                        lateral_tilt_deg=None if side is None else float(rp.lateral_tilt_deg[i]),
                        confidence=1.0,
                    ),
                )
            )
        se = self.sets
        for i in range(len(se)):
            m = rp.set_index == i
            dur = rp.t_end_s[m] - rp.t_start_s[m]
            side = se.side[i]
            out.append(
                (
                    float(se.t_end_s[i]),
                    SetEvent(
                        t_start_s=float(se.t_start_s[i]),
                        t_end_s=float(se.t_end_s[i]),
                        exercise=_exercise(se.exercise[i]),
                        exercise_confidence=1.0,
                        reps=int(se.reps[i]),
                        side=_side(side),
                        mean_rep_s=float(dur.mean()) if dur.size else None,
                        tempo_cv=float(dur.std() / dur.mean()) if dur.size > 1 else None,
                        mean_lateral_tilt_deg=float(rp.lateral_tilt_deg[m].mean()) if side is not None else None,
                    ),
                )
            )
        ho = self.holds
        for i in range(len(ho)):
            out.append(
                (
                    float(ho.t_start_s[i]),
                    HoldEvent(
                        t_start_s=float(ho.t_start_s[i]),
                        t_end_s=float(ho.t_end_s[i]),
                        exercise=_exercise(ho.exercise[i]),
                        duration_s=float(ho.t_end_s[i] - ho.t_start_s[i]),
                    ),
                )
            )
        out.sort(key=lambda x: x[0])
        return [e for _, e in out]

    # -------------------------------------------------------------------------------- JSON
    def to_dict(self) -> dict[str, Any]:
        def conv(obj: Any) -> Any:
            if isinstance(obj, np.ndarray):
                return obj.tolist()
            if isinstance(obj, StepsTruth | RepsTruth | SetsTruth | HoldsTruth | SegmentTruth):
                return {f.name: conv(getattr(obj, f.name)) for f in fields(obj)}
            if isinstance(obj, list):
                return [conv(x) for x in obj]
            return obj

        doc: dict[str, Any] = {"format": TRUTH_FORMAT}
        for f in fields(self):
            doc[f.name] = conv(getattr(self, f.name))
        return doc

    def to_json(self, *, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=True)

    @classmethod
    def from_json(cls, text: str) -> Truth:
        doc = json.loads(text)
        if not isinstance(doc, dict) or doc.get("format") != TRUTH_FORMAT:
            raise DataValidationError(
                f"not a simulator truth document (format {doc.get('format') if isinstance(doc, dict) else None!r}, "
                f"expected {TRUTH_FORMAT!r}); pass the FILE.truth.json written by 'hipsense simulate'",
                field="format",
            )
        return cls.from_dict(doc)

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> Truth:
        def build(kind: type[Any], d: dict[str, Any]) -> Any:
            kw: dict[str, Any] = {}
            for f in fields(kind):
                val = d[f.name]
                ann = str(f.type)
                if "FloatArray" in ann:
                    kw[f.name] = _arr(val, np.float64)
                elif "IntArray" in ann:
                    kw[f.name] = _arr(val, np.int64)
                elif "BoolArray" in ann:
                    kw[f.name] = _arr(val, np.bool_)
                elif "int8" in ann:
                    kw[f.name] = _arr(val, np.int8)
                else:
                    kw[f.name] = val
            return kind(**kw)

        sub = {
            "steps": StepsTruth,
            "reps": RepsTruth,
            "sets": SetsTruth,
            "holds": HoldsTruth,
        }
        d = dict(doc)
        d.pop("format", None)
        for name, kind in sub.items():
            d[name] = build(kind, d[name])
        d["segments"] = [SegmentTruth(**s) for s in d["segments"]]
        return build(cls, d)  # type: ignore[no-any-return]
