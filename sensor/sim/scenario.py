"""Scenarios: what the simulated person does, how the sensor is mounted, and how good the sensor is.

A :class:`Scenario` is a pydantic model (buildable in Python, loadable from YAML or JSON) holding a sequence of
segments, a :class:`SensorModel`, a :class:`Mounting` and a seed. Segments are a discriminated union on
``activity``. All durations are seconds, angles degrees, lengths metres.
"""

from __future__ import annotations

import json
import reprlib
from pathlib import Path
from typing import Annotated, Any, Final, Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sensor.errors import ScenarioError
from sensor.events import Exercise
from sensor.frames import Side

Posture = Literal["standing", "sitting", "supine", "quadruped"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ---------------------------------------------------------------------------------------------- sensor + mounting
class SensorModel(_Model):
    """The IMU's error model. ``SensorModel.ideal()`` turns every error off (exact kinematics, float64).

    Noise densities are one-sided white-noise densities; the per-sample standard deviation is
    ``density * sqrt(sampling_rate_hz / 2)`` (an ideal low-pass at Nyquist). Biases are drawn once per run
    (normal, the given standard deviation per axis); bias drift is a random walk (units per sqrt(s)), linearly
    interpolated between 1 s knots. Scale error is drawn per axis (relative, standard deviation).
    Quantisation rounds to int16 codes over +-range (one LSB = 2 range / 65536) and saturates at the range.
    """

    sampling_rate_hz: float = Field(208.0, gt=0, le=4000)
    acc_noise_density_mps2_per_sqrt_hz: float = Field(7.0e-4, ge=0)  # ~70 ug/sqrt(Hz), LSM6DSO-class
    gyr_noise_density_radps_per_sqrt_hz: float = Field(7.0e-5, ge=0)  # ~4 mdps/sqrt(Hz)
    acc_bias_sd_mps2: float = Field(0.05, ge=0)
    gyr_bias_sd_radps: float = Field(0.005, ge=0)  # ~0.3 dps turn-on bias
    acc_bias_drift_mps2_per_sqrt_s: float = Field(2.0e-4, ge=0)
    gyr_bias_drift_radps_per_sqrt_s: float = Field(2.0e-5, ge=0)
    acc_scale_error_sd: float = Field(0.005, ge=0, lt=0.5)
    gyr_scale_error_sd: float = Field(0.005, ge=0, lt=0.5)
    quantize: bool = True
    acc_range_g: float = Field(16.0, gt=0)
    gyr_range_dps: float = Field(2000.0, gt=0)
    timestamp_jitter_s: float = Field(0.0, ge=0)
    clock_drift_ppm: float = Field(
        0.0, ge=-1000, le=1000, description="sensor clock rate error: t_s = t (1 + ppm 1e-6)"
    )
    packet_loss_probability: float = Field(0.0, ge=0, lt=1)
    samples_per_packet: int = Field(6, ge=1)
    has_gyr: bool = True

    @classmethod
    def ideal(cls, sampling_rate_hz: float = 208.0) -> SensorModel:
        """No noise, bias, scale error, quantisation, jitter or loss."""
        return cls(
            sampling_rate_hz=sampling_rate_hz,
            acc_noise_density_mps2_per_sqrt_hz=0.0,
            gyr_noise_density_radps_per_sqrt_hz=0.0,
            acc_bias_sd_mps2=0.0,
            gyr_bias_sd_radps=0.0,
            acc_bias_drift_mps2_per_sqrt_s=0.0,
            gyr_bias_drift_radps_per_sqrt_s=0.0,
            acc_scale_error_sd=0.0,
            gyr_scale_error_sd=0.0,
            quantize=False,
            acc_range_g=1.0e6,
            gyr_range_dps=1.0e9,
        )


class Mounting(_Model):
    """How the sensor sits on the pelvis.

    ``euler_deg = (yaw, roll, pitch)`` is the sensor's orientation in the pelvis frame as the same Z-X-Y Cardan
    sequence as the pelvis angles (:mod:`sensor.frames`): ``R_pelvis_from_sensor = Rz(yaw) Rx(roll) Ry(pitch)``,
    mapping sensor-frame vectors to pelvis-frame vectors. Alternatively ``axis_angle_deg = (ax, ay, az, angle)``
    (axis in the pelvis frame). ``lever_arm_m`` is the sensor's position relative to the pelvis centre (midpoint
    of the hip joint centres) in the pelvis frame: a sacral clip sits about 0.10 m behind it, ``(-0.10, 0, 0.02)``.
    """

    euler_deg: tuple[float, float, float] | None = (0.0, 0.0, 0.0)
    axis_angle_deg: tuple[float, float, float, float] | None = None
    lever_arm_m: tuple[float, float, float] = (-0.10, 0.0, 0.02)

    @model_validator(mode="after")
    def _one_rotation(self) -> Mounting:
        if self.axis_angle_deg is not None:
            ax = np.asarray(self.axis_angle_deg[:3], dtype=float)
            if not np.linalg.norm(ax) > 0:
                raise ValueError(f"axis_angle_deg axis {self.axis_angle_deg[:3]} has zero length; give a direction")
        return self

    @classmethod
    def typical(cls, place: Literal["sacrum", "belt_back", "belt_left", "belt_right"]) -> Mounting:
        """A typical mounting for the places named in the config (``SensorEntry.mounting``).

        The sensor's x axis points up, z out of the body: ``sacrum`` (flat on the sacrum, inclined 20 deg like
        the sacral surface), ``belt_back`` (clip at the back of the belt), ``belt_left`` / ``belt_right``
        (clip on the side of the belt, over the hip).
        """
        table: dict[str, tuple[tuple[float, float, float], tuple[float, float, float]]] = {
            "sacrum": ((0.0, 0.0, -70.0), (-0.10, 0.0, 0.02)),
            "belt_back": ((0.0, 0.0, -90.0), (-0.12, 0.0, 0.08)),
            "belt_left": ((-90.0, 0.0, -90.0), (0.0, 0.16, 0.05)),
            "belt_right": ((90.0, 0.0, -90.0), (0.0, -0.16, 0.05)),
        }
        if place not in table:
            raise ScenarioError(f"unknown mounting place {place!r}; choose one of {', '.join(table)}")
        euler, lever = table[place]
        return cls(euler_deg=euler, lever_arm_m=lever)

    def r_pelvis_from_sensor(self) -> np.ndarray:
        """3x3 rotation mapping sensor-frame vectors to pelvis-frame vectors."""
        if self.axis_angle_deg is not None:
            ax = np.asarray(self.axis_angle_deg[:3], dtype=float)
            ax = ax / np.linalg.norm(ax)
            a = np.radians(self.axis_angle_deg[3])
            k = np.array([[0, -ax[2], ax[1]], [ax[2], 0, -ax[0]], [-ax[1], ax[0], 0]])
            out: np.ndarray = np.eye(3) + np.sin(a) * k + (1 - np.cos(a)) * (k @ k)
            return out
        yaw, roll, pitch = np.radians(self.euler_deg or (0.0, 0.0, 0.0))
        return rot_zxy(float(yaw), float(roll), float(pitch))


def rot_zxy(yaw_rad: float, roll_rad: float, pitch_rad: float) -> np.ndarray:
    """``Rz(yaw) Rx(roll) Ry(pitch)`` (the pelvis-angle convention of :mod:`sensor.frames`)."""
    cz, sz = np.cos(yaw_rad), np.sin(yaw_rad)
    cx, sx = np.cos(roll_rad), np.sin(roll_rad)
    cy, sy = np.cos(pitch_rad), np.sin(pitch_rad)
    rz = np.array([[cz, -sz, 0.0], [sz, cz, 0.0], [0.0, 0.0, 1.0]])
    rx = np.array([[1.0, 0.0, 0.0], [0.0, cx, -sx], [0.0, sx, cx]])
    ry = np.array([[cy, 0.0, sy], [0.0, 1.0, 0.0], [-sy, 0.0, cy]])
    out: np.ndarray = rz @ rx @ ry
    return out


# ---------------------------------------------------------------------------------------------- course features
class Turn(_Model):
    """A change of heading inside a walking or running segment, starting ``at_s`` after the segment start."""

    at_s: float = Field(ge=0)
    angle_deg: float = Field(description="positive = turn left")
    duration_s: float = Field(3.0, gt=0)


class Hill(_Model):
    """A hill: grade ramps in over ``ramp_s``, holds, and ramps out; ``at_s`` after the segment start."""

    at_s: float = Field(ge=0)
    duration_s: float = Field(gt=0)
    grade_pct: float = Field(ge=-30, le=30, description="positive = uphill")
    ramp_s: float = Field(3.0, gt=0)


# ---------------------------------------------------------------------------------------------- segments
class _Segment(_Model):
    duration_s: float = Field(gt=0, description="segment length including the transition into it")
    transition_s: float | None = Field(
        default=None, gt=0, description="time to change posture into this segment (default: from the change)"
    )
    label: str | None = None


class Standing(_Segment):
    """Standing. ``fidget=False`` is quiet standing (tiny sway), which sets the neutral obliquity."""

    activity: Literal["standing"] = "standing"
    fidget: bool = False


class Sitting(_Segment):
    """Sitting on a chair: pelvis lowered ~0.45 m and tilted back (posterior tilt)."""

    activity: Literal["sitting"] = "sitting"
    fidget: bool = True
    posterior_tilt_deg: float = Field(18.0, ge=0, le=45)


class _Gait(_Segment):
    speed_mps: float = Field(gt=0)
    cadence_spm: float = Field(gt=0)
    first_side: Side = "left"
    drop_left_deg: float = Field(description="mean pelvic drop on left-stance steps (right side drops)")
    drop_right_deg: float = Field(description="mean pelvic drop on right-stance steps")
    drop_sd_deg: float = Field(0.6, ge=0, description="step-to-step standard deviation of the drop")
    fatigue_left_deg_per_10min: float = 0.0
    fatigue_right_deg_per_10min: float = 0.0
    cadence_drift_spm_per_10min: float = 0.0
    step_time_cv: float = Field(0.02, ge=0, le=0.1)
    contact_time_cv: float = Field(0.03, ge=0, le=0.1)
    tilt_amplitude_deg: float = Field(ge=0, le=15, description="anterior-tilt oscillation, half range")
    rotation_amplitude_deg: float = Field(ge=0, le=20, description="pelvic rotation (yaw) oscillation, half range")
    impact_g: float = Field(ge=0, le=5, description="peak of the smooth impact transient after initial contact")
    impact_width_s: float = Field(0.05, ge=0.02, le=0.15)
    soft_tissue_g: float = Field(
        0.0, ge=0, le=5, description="peak acceleration of the clip's wobble after each contact; 0 = rigid clip"
    )
    soft_tissue_hz: float = Field(15.0, ge=5, le=40, description="frequency of that wobble")
    turns: list[Turn] = Field(default_factory=list)
    hills: list[Hill] = Field(default_factory=list)

    @model_validator(mode="after")
    def _features_inside(self) -> _Gait:
        for kind, feature in [("turn", f) for f in self.turns] + [("hill", f) for f in self.hills]:
            if feature.at_s + feature.duration_s > self.duration_s:
                raise ValueError(
                    f"{kind} at_s={feature.at_s} + duration_s={feature.duration_s} ends after the segment "
                    f"(duration_s={self.duration_s}); move it earlier or lengthen the segment"
                )
        for hill in self.hills:
            if 2 * hill.ramp_s > hill.duration_s:
                raise ValueError(f"hill ramp_s={hill.ramp_s} is more than half its duration_s={hill.duration_s}")
        return self


class Walking(_Gait):
    """Walking (90-130 steps/min): inverted-pendulum vertical motion, no flight phase."""

    activity: Literal["walking"] = "walking"
    speed_mps: float = Field(1.35, gt=0, le=3.0)
    cadence_spm: float = Field(112.0, ge=60, le=150)
    stance_fraction: float = Field(0.62, gt=0.5, lt=0.8, description="stance time / stride time")
    drop_left_deg: float = 3.5
    drop_right_deg: float = 3.5
    tilt_amplitude_deg: float = 1.5
    rotation_amplitude_deg: float = 4.0
    vertical_amplitude_m: float = Field(0.02, ge=0, le=0.06, description="half of the vertical excursion")
    impact_g: float = 0.3


class Running(_Gait):
    """Running (150-200 steps/min): spring-mass vertical force in stance, ballistic flight."""

    activity: Literal["running"] = "running"
    speed_mps: float = Field(3.0, gt=0, le=10.0)
    cadence_spm: float = Field(170.0, ge=130, le=220)
    contact_time_s: float = Field(0.24, ge=0.12, le=0.45)
    drop_left_deg: float = 6.0
    drop_right_deg: float = 6.0
    tilt_amplitude_deg: float = 2.5
    rotation_amplitude_deg: float = 5.0
    braking_mps2: float = Field(4.0, ge=0, le=15, description="peak fore-aft acceleration in stance")
    impact_g: float = 1.0

    @model_validator(mode="after")
    def _flight(self) -> Running:
        step_s = 60.0 / self.cadence_spm
        if self.contact_time_s >= step_s * 0.95:
            raise ValueError(
                f"contact_time_s={self.contact_time_s} leaves no flight phase at {self.cadence_spm} steps/min "
                f"(step time {step_s:.3f} s); lower contact_time_s or cadence_spm"
            )
        return self


class Tempo(_Model):
    """Rep timing: eccentric (lowering), concentric (lifting), pause at the far end, pause between reps."""

    eccentric_s: float = Field(gt=0)
    concentric_s: float = Field(gt=0)
    pause_far_s: float = Field(ge=0, description="pause at the end of the first movement (bottom of a squat)")
    pause_near_s: float = Field(ge=0, description="pause between reps, in the start position")


class ExerciseSet(_Segment):
    """One set of ``reps`` repetitions. ``duration_s`` is optional: by default the reps plus lead-in/out.

    ``side`` is the working leg for one-sided moves (``"alternate"`` for alternating lunges); ``lateral_tilt_deg``
    is the mean pelvic lateral tilt per rep toward the non-working side (positive = non-working side lower).
    """

    activity: Literal["exercise"] = "exercise"
    duration_s: float = Field(0.0, ge=0, description="0 = computed from reps and tempo")
    exercise: Exercise
    reps: int = Field(ge=1, le=200)
    side: Side | Literal["alternate"] | None = None
    tempo: Tempo | None = None
    tempo_cv: float = Field(0.06, ge=0, le=0.3)
    rom: float = Field(1.0, gt=0, le=1.5, description="range of motion relative to the exercise's typical ROM")
    rom_cv: float = Field(0.05, ge=0, le=0.3)
    lateral_tilt_deg: float | None = Field(None, ge=-20, le=20)
    lateral_tilt_sd_deg: float = Field(0.8, ge=0)
    lead_in_s: float = Field(1.5, ge=0, description="still time after the transition before the first rep")
    lead_out_s: float = Field(1.5, ge=0)


class Hold(_Segment):
    """An isometric hold at the far position of an exercise (e.g. a 5 s squat hold)."""

    activity: Literal["hold"] = "hold"
    duration_s: float = Field(0.0, ge=0, description="0 = computed from hold_s")
    exercise: Exercise
    hold_s: float = Field(5.0, gt=0)
    side: Side | None = None
    rom: float = Field(1.0, gt=0, le=1.5)
    move_s: float = Field(1.5, gt=0, description="time to move into and out of the hold")
    lead_in_s: float = Field(1.0, ge=0)
    lead_out_s: float = Field(1.0, ge=0)


class Rest(_Segment):
    """Rest between sets: still, fidgeting, or walking about."""

    activity: Literal["rest"] = "rest"
    mode: Literal["still", "fidget", "walk"] = "fidget"
    posture: Posture = "standing"


Segment = Annotated[Standing | Sitting | Walking | Running | ExerciseSet | Hold | Rest, Field(discriminator="activity")]


class Subject(_Model):
    """Person-specific constants."""

    standing_obliquity_deg: float = Field(0.5, ge=-10, le=10, description="obliquity in quiet standing")
    standing_tilt_deg: float = Field(0.0, ge=-20, le=20)
    sway: float = Field(1.0, ge=0, le=5, description="scale of quiet-standing sway (0 = perfectly still)")


MAX_YAML_NODES: Final = 200_000
"""Nodes a scenario YAML may expand to, aliases counted at every use: a real scenario has a few hundred, while
nested aliases ("billion laughs") grow exponentially and would hang validation."""


def _expanded_nodes(node: yaml.Node, memo: dict[int, int]) -> int:
    key = id(node)
    if key not in memo:
        if isinstance(node, yaml.SequenceNode):
            children: list[yaml.Node] = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        else:
            children = []
        memo[key] = 1 + sum(_expanded_nodes(c, memo) for c in children)
    return memo[key]


def _load_yaml(text: str) -> Any:
    """``yaml.safe_load`` that refuses documents expanding to more than :data:`MAX_YAML_NODES` nodes."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        size = _expanded_nodes(node, {})
        if size > MAX_YAML_NODES:
            raise ScenarioError(
                f"the scenario YAML expands to {size} nodes (aliases counted at every use), more than "
                f"{MAX_YAML_NODES}; write the segments out instead of nesting aliases"
            )
        return loader.construct_document(node)
    finally:
        loader.dispose()


class Scenario(_Model):
    """A simulated session: segments in order, the subject, the sensor and its mounting, and a seed."""

    name: str = "scenario"
    segments: list[Segment] = Field(min_length=1)
    sensor: SensorModel = Field(default_factory=SensorModel)
    mounting: Mounting = Field(default_factory=Mounting)
    subject: Subject = Field(default_factory=Subject)
    sensor_id: str = "sim"
    seed: int = Field(0, ge=0)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_dict(cls, data: Any, *, source: str = "scenario") -> Scenario:
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = err.get("loc", ())
            seg = int(loc[1]) if len(loc) > 1 and loc[0] == "segments" and isinstance(loc[1], int) else None
            where = ".".join(str(p) for p in loc) or "(top level)"
            raise ScenarioError(
                f"{source}: {where}: {err.get('msg')} (got {reprlib.repr(err.get('input'))}); fix that value "
                f"({exc.error_count()} problem(s) in total)",
                segment=seg,
                key=where,
            ) from None

    @classmethod
    def from_file(cls, path: str | Path) -> Scenario:
        """Load a scenario from a ``.yaml``/``.yml`` or ``.json`` file."""
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except OSError as exc:
            raise ScenarioError(f"cannot read scenario file {str(p)!r}: {exc.strerror}; check the path") from None
        except UnicodeDecodeError as exc:
            raise ScenarioError(
                f"scenario file {str(p)!r} is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset "
                f"{exc.start}); save it as UTF-8"
            ) from None
        try:
            data = json.loads(text) if p.suffix.lower() == ".json" else _load_yaml(text)
        except (json.JSONDecodeError, yaml.YAMLError) as exc:
            raise ScenarioError(f"scenario file {str(p)!r} is not valid {p.suffix or 'YAML'}: {exc}") from None
        except ScenarioError as exc:
            raise ScenarioError(f"scenario file {str(p)!r}: {exc}") from None
        except RecursionError:
            raise ScenarioError(
                f"scenario file {str(p)!r} nests lists or mappings too deeply to read; a scenario is a mapping "
                "with a list of segments"
            ) from None
        if not isinstance(data, dict):
            raise ScenarioError(
                f"scenario file {str(p)!r} must hold a mapping with 'segments', got {type(data).__name__}"
            )
        return cls.from_dict(data, source=str(p))

    @classmethod
    def preset(cls, name: str) -> Scenario:
        """A built-in scenario by name (see :data:`sensor.sim.presets.PRESETS`)."""
        from sensor.sim.presets import PRESETS  # noqa: PLC0415  (presets import this module)

        if name not in PRESETS:
            raise ScenarioError(f"unknown scenario preset {name!r}; choose one of {', '.join(sorted(PRESETS))}")
        return PRESETS[name]()

    @classmethod
    def load(cls, name_or_path: str | Path) -> Scenario:
        """A preset name, or a path to a YAML/JSON file."""
        from sensor.sim.presets import PRESETS  # noqa: PLC0415

        if str(name_or_path) in PRESETS:
            return cls.preset(str(name_or_path))
        p = Path(name_or_path)
        if p.suffix.lower() in {".yaml", ".yml", ".json"} or p.exists():
            return cls.from_file(p)
        raise ScenarioError(
            f"{str(name_or_path)!r} is neither a preset ({', '.join(sorted(PRESETS))}) nor a .yaml/.json file"
        )

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)

    def to_json(self) -> str:
        return self.model_dump_json(indent=2)

    def with_seed(self, seed: int) -> Scenario:
        return self.model_copy(update={"seed": seed})
