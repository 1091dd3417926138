"""Pelvis kinematics: from a scenario to smooth, exactly differentiated trajectories plus event truth.

The pelvis is a rigid body. Its state is a set of :class:`~sensor.sim.jet.Jet` channels on the sample grid:

* ``roll`` (obliquity), ``pitch`` (anterior tilt), ``yaw_osc`` (rotation about V on top of the heading), radians;
* ``heading`` (direction of travel, radians, positive = left) and ``speed`` (m/s along the heading);
* ``z`` (height, m), ``s_ap`` / ``s_ml`` (displacements along / across the heading, m).

Each segment adds its contribution on its time window; every contribution is C2 (most C3) and fades in and out
with smoothsteps, so positions, angles, their velocities and accelerations are continuous everywhere.

Running vertical motion follows the spring-mass model with a half-sine ground reaction force in stance and a
ballistic flight (Morin et al. 2005, J Appl Biomech 21:167), so the pelvis is in free fall between contacts;
fore-aft force is a full sine in stance (braking then propulsion, zero net impulse). Walking vertical motion is
the inverted-pendulum harmonic (lowest just after initial contact). Pelvic obliquity per step is a C2 bump
toward the swing side peaking in early stance with the step's drop as amplitude.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final, TypeVar

import numpy as np
from numpy.typing import NDArray
from scipy.interpolate import CubicSpline

from sensor.definitions import pelvic_drop_deg, stride_neutral_deg
from sensor.errors import ScenarioError
from sensor.frames import SIDE_SIGN, STANDARD_GRAVITY_MPS2, Side
from sensor.sim.exercises import EXERCISES, ExerciseSpec
from sensor.sim.jet import Jet, bump, compose, jatan, smoothstep, smoothstep_jet
from sensor.sim.scenario import (
    ExerciseSet,
    Hill,
    Hold,
    Posture,
    Rest,
    Running,
    Scenario,
    Segment,
    Sitting,
    Standing,
    Tempo,
    Turn,
    Walking,
)
from sensor.sim.truth import ACTIVITY_LABELS, HoldsTruth, RepsTruth, SegmentTruth, SetsTruth, StepsTruth

FloatArray = NDArray[np.float64]
T = TypeVar("T")
_STREAMS: Final = {"gait": 1, "reps": 2, "still": 3, "hill": 4}
"""Random sub-stream per kind of draw within a segment (fixed numbers: Python's str hash is salted per process)."""
G: Final = STANDARD_GRAVITY_MPS2
DEG: Final = np.pi / 180.0

HILL_LEAN_DEG_PER_PCT: Final = 0.35
"""Extra anterior tilt per percent of uphill grade (forward lean on hills)."""

AMPLITUDE_CV: Final = 0.08
"""Step-to-step variability of the tilt and rotation oscillation amplitudes (a C2 spline through per-step values)."""

DROP_PEAK_PHASE: Final = 0.35
"""Where in the step (fraction of the step time from initial contact) the obliquity bump peaks."""

TRANSITION_TILT_DEG: Final = 25.0
#: The most samples :func:`build` (hence ``simulate``, which keeps the whole run and its truth in memory, about
#: 500 bytes per sample) makes in one call: 8 h at 208 Hz fits. Longer runs stream with ``simulate_stream``.
MAX_BUILD_SAMPLES: Final = 6_000_000
"""Peak extra anterior tilt while rising or lowering between upright postures (trunk lean in sit-to-stand)."""


# ---------------------------------------------------------------------------------------------- postures
@dataclass(frozen=True, slots=True)
class Pose:
    pitch_deg: float
    z_m: float
    speed_mps: float = 0.0


POSTURES: Final[dict[Posture, Pose]] = {
    "standing": Pose(0.0, 0.0),
    "sitting": Pose(-18.0, -0.45),
    "supine": Pose(-90.0, -0.82),
    "quadruped": Pose(90.0, -0.45),
}


@dataclass(slots=True)
class _Plan:
    index: int
    spec: Segment
    t0: float
    t1: float
    pose: Pose
    trans_s: float = 0.0
    trans_next_s: float = 0.0
    activity_code: int = 0
    quiet: bool = False


@dataclass(slots=True)
class Channels:
    n: int
    roll: Jet
    pitch: Jet
    yaw_osc: Jet
    heading: Jet
    heading_rate: Jet  # d/dt of heading, with its two derivatives (for the turn lean)
    speed: Jet
    z: Jet
    s_ap: Jet
    s_ml: Jet
    clip_ap: Jet  # the clip's displacement relative to the pelvis (soft-tissue wobble), pelvis frame, m
    clip_v: Jet

    @classmethod
    def zeros(cls, n: int) -> Channels:
        return cls(n, *(Jet.zeros(n) for _ in range(11)))


@dataclass(slots=True)
class _Steps:
    t_ic: list[FloatArray] = field(default_factory=list)
    t_to: list[FloatArray] = field(default_factory=list)
    side: list[str] = field(default_factory=list)
    target: list[FloatArray] = field(default_factory=list)
    in_turn: list[NDArray[np.bool_]] = field(default_factory=list)
    steady: list[NDArray[np.bool_]] = field(default_factory=list)
    step_time: list[FloatArray] = field(default_factory=list)
    contact: list[FloatArray] = field(default_factory=list)
    vo: list[FloatArray] = field(default_factory=list)
    activity: list[str] = field(default_factory=list)
    segment: list[int] = field(default_factory=list)


@dataclass(slots=True)
class _Reps:
    rows: list[dict[str, object]] = field(default_factory=list)
    sets: list[dict[str, object]] = field(default_factory=list)
    holds: list[dict[str, object]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Kinematics:
    """The simulated pelvis motion (pelvis frame quantities) and the event truth."""

    t_s: FloatArray
    channels: Channels
    activity_code: NDArray[np.int8]
    quiet_standing: NDArray[np.bool_]
    steps: StepsTruth
    reps: RepsTruth
    sets: SetsTruth
    holds: HoldsTruth
    segments: list[SegmentTruth]


# ---------------------------------------------------------------------------------------------- planning
def _segment_pose(spec: Segment, subject_tilt: float) -> Pose:
    if isinstance(spec, Standing):
        return Pose(subject_tilt, 0.0)
    if isinstance(spec, Sitting):
        return Pose(subject_tilt - spec.posterior_tilt_deg, -0.45)
    if isinstance(spec, Walking):
        return Pose(subject_tilt + 2.0, -0.01, spec.speed_mps)
    if isinstance(spec, Running):
        return Pose(subject_tilt + 6.0, -0.04, spec.speed_mps)
    if isinstance(spec, ExerciseSet | Hold):
        p = POSTURES[EXERCISES[spec.exercise].start_posture]
        start = EXERCISES[spec.exercise].start_pose
        return Pose(p.pitch_deg + start[0] + (subject_tilt if p.pitch_deg == 0 else 0.0), p.z_m + start[1])
    if isinstance(spec, Rest):
        if spec.mode == "walk":
            return Pose(subject_tilt + 2.0, -0.01, 1.0)
        p = POSTURES[spec.posture]
        return Pose(p.pitch_deg + (subject_tilt if spec.posture == "standing" else 0.0), p.z_m)
    raise ScenarioError(f"unknown segment {spec!r}")  # pragma: no cover - the union is closed


def _activity_code(spec: Segment) -> int:
    if isinstance(spec, Standing):
        name = "standing"
    elif isinstance(spec, Sitting):
        name = "sitting"
    elif isinstance(spec, Walking):
        name = "walking"
    elif isinstance(spec, Running):
        name = "running"
    elif isinstance(spec, ExerciseSet | Hold):
        name = "exercise"
    elif spec.mode == "walk":
        name = "walking"
    elif spec.posture in ("standing", "sitting"):
        name = spec.posture
    else:
        name = "other"
    return ACTIVITY_LABELS.index(name)


def _rep_durations(spec: ExerciseSet, ex: ExerciseSpec) -> Tempo:
    return spec.tempo or ex.tempo


def _exercise_duration(spec: ExerciseSet, ex: ExerciseSpec) -> float:
    tempo = _rep_durations(spec, ex)
    rep = tempo.eccentric_s + tempo.concentric_s + tempo.pause_far_s
    return spec.lead_in_s + spec.reps * rep + (spec.reps - 1) * tempo.pause_near_s + spec.lead_out_s


def _default_transition(a: Pose, b: Pose) -> float:
    return float(
        np.clip(
            0.8
            + 2.0 * abs(b.z_m - a.z_m)
            + abs(b.pitch_deg - a.pitch_deg) / 45.0
            + abs(b.speed_mps - a.speed_mps) / 2.0,
            0.8,
            6.0,
        )
    )


def plan(scenario: Scenario) -> list[_Plan]:
    """Lay the segments out in time, with their postures and transition windows."""
    subject_tilt = scenario.subject.standing_tilt_deg
    plans: list[_Plan] = []
    t = 0.0
    prev = Pose(subject_tilt, 0.0)
    for i, spec in enumerate(scenario.segments):
        pose = _segment_pose(spec, subject_tilt)
        if i == 0:
            prev = Pose(pose.pitch_deg, pose.z_m, 0.0)
        trans = spec.transition_s if spec.transition_s is not None else _default_transition(prev, pose)
        if isinstance(spec, ExerciseSet) and spec.duration_s == 0:
            dur = trans + _exercise_duration(spec, EXERCISES[spec.exercise])
        elif isinstance(spec, Hold) and spec.duration_s == 0:
            dur = trans + spec.lead_in_s + 2 * spec.move_s + spec.hold_s + spec.lead_out_s
        else:
            dur = spec.duration_s
        if isinstance(spec, ExerciseSet) and dur < trans + _exercise_duration(spec, EXERCISES[spec.exercise]) - 1e-9:
            raise ScenarioError(
                f"segment {i} ({spec.exercise}): duration_s={spec.duration_s} is too short for {spec.reps} reps at "
                f"this tempo plus a {trans:.1f} s transition; leave duration_s at 0 to compute it",
                segment=i,
                key="duration_s",
            )
        if isinstance(spec, Hold) and dur < trans + spec.lead_in_s + 2 * spec.move_s + spec.hold_s - 1e-9:
            raise ScenarioError(
                f"segment {i} (hold): duration_s={spec.duration_s} is too short for a {spec.hold_s} s hold with "
                f"{spec.move_s} s moves in and out; leave duration_s at 0 to compute it",
                segment=i,
                key="duration_s",
            )
        if dur <= trans + 0.5:
            raise ScenarioError(
                f"segment {i} ({spec.activity}): duration_s={dur:g} leaves no time after its {trans:.1f} s "
                f"transition; make it longer than {trans + 0.5:.1f} s or set a shorter transition_s",
                segment=i,
                key="duration_s",
            )
        if isinstance(spec, ExerciseSet | Hold) and EXERCISES[spec.exercise].sidedness == "both" and spec.side:
            raise ScenarioError(
                f"segment {i}: {spec.exercise} is a two-legged exercise, side={spec.side!r} does not apply; remove "
                f"'side' or pick a one-sided exercise (single_leg_bridge, static_lunge, step_up, donkey_kick)",
                segment=i,
                key="side",
            )
        quiet = isinstance(spec, Standing) and not spec.fidget
        quiet = quiet or (isinstance(spec, Rest) and spec.mode == "still" and spec.posture == "standing")
        plans.append(_Plan(i, spec, t, t + dur, pose, trans, 0.0, _activity_code(spec), quiet))
        t += dur
        prev = pose
    for a, b in itertools.pairwise(plans):
        a.trans_next_s = b.trans_s
    return plans


# ---------------------------------------------------------------------------------------------- helpers
def _window(t_s: FloatArray, t0: float, t1: float) -> tuple[int, int]:
    return int(np.searchsorted(t_s, t0, "left")), int(np.searchsorted(t_s, t1, "left"))


@dataclass(slots=True)
class _Env:
    """Segment envelope on a window: 1 inside, C3 fade-in over the segment's transition, fade-out over the next
    segment's transition. Only the ramps are stored; multiplication touches only them."""

    up_stop: int
    down_start: int
    up: Jet
    down: Jet
    t0: float
    trans: float
    t1: float
    trans_next: float

    @classmethod
    def of(cls, tw: FloatArray, p: _Plan) -> _Env:
        iu = int(np.searchsorted(tw, p.t0 + p.trans_s, "left"))
        up = smoothstep_jet(tw[:iu], p.t0, p.trans_s)
        if p.trans_next_s > 0:
            idn = int(np.searchsorted(tw, p.t1, "left"))
            d = smoothstep_jet(tw[idn:], p.t1, p.trans_next_s)
            down = Jet(1.0 - d.v, -d.d1, -d.d2)
        else:
            idn = tw.size
            down = Jet.zeros(0)
        return cls(iu, idn, up, down, p.t0, p.trans_s, p.t1, p.trans_next_s)

    def apply(self, j: Jet) -> Jet:
        """Multiply ``j`` (defined on the whole window) by the envelope, in place; returns ``j``."""
        for start, e in ((0, self.up), (self.down_start, self.down)):
            stop = start + e.v.size
            if stop <= start:
                continue
            part = j.slice(start, stop) * e
            j.v[start:stop], j.d1[start:stop], j.d2[start:stop] = part.v, part.d1, part.d2
        return j

    def value_at(self, t_s: FloatArray) -> FloatArray:
        up = smoothstep((t_s - self.t0) / self.trans)[0]
        if self.trans_next <= 0:
            return up
        out: FloatArray = up * (1.0 - smoothstep((t_s - self.t1) / self.trans_next)[0])
        return out


def _harmonic(phase: Jet, c: FloatArray, s: FloatArray, m: float, offset: float) -> Jet:
    """Jet of ``cos(m pi (phase - offset))`` from ``c = cos(m pi phase)``, ``s = sin(m pi phase)``."""
    co, so = np.cos(m * np.pi * offset), np.sin(m * np.pi * offset)
    val = c * co + s * so
    sn = s * co - c * so
    w = m * np.pi
    return Jet(val, -w * sn * phase.d1, -w * w * val * phase.d1 * phase.d1 - w * sn * phase.d2)


def _smooth_noise(t0: float, t1: float, rng: np.random.Generator, knot_s: float, sd: float) -> CubicSpline | None:
    """C2 random signal over [t0, t1]: a natural cubic spline through normal knots every ``knot_s``."""
    if sd == 0:
        return None
    knots = np.arange(t0 - knot_s, t1 + 2 * knot_s, knot_s)
    return CubicSpline(knots, rng.normal(0.0, sd, knots.size), bc_type="natural")


def _spline_jet(cs: CubicSpline | None, t: FloatArray) -> Jet:
    if cs is None:
        return Jet.zeros(t.size)
    return Jet(cs(t), cs(t, 1), cs(t, 2))


def _baseline(t: FloatArray, plans: list[_Plan], values: list[float], first: float) -> Jet:
    """Piecewise-constant per segment, joined with C3 smoothsteps over each transition window."""
    out = Jet.const(first, t.size)
    prev = first
    for p, v in zip(plans, values, strict=True):
        if v != prev:
            a, b = _window(t, p.t0, p.t0 + p.trans_s)
            out.add_at(a, smoothstep_jet(t[a:b], p.t0, p.trans_s) * (v - prev))
            out.v[b:] += v - prev
        prev = v
    return out


# ---------------------------------------------------------------------------------------------- gait
def _step_times(p: _Plan, spec: Walking | Running, rng: np.random.Generator, t_end: float) -> FloatArray:
    step0 = 60.0 / spec.cadence_spm
    n = int((t_end + 2.0 - p.t0) / (step0 * 0.8)) + 4
    t_nominal = p.t0 + step0 * np.arange(n)
    cadence = spec.cadence_spm + spec.cadence_drift_spm_per_10min * (t_nominal - p.t0) / 600.0
    steps = 60.0 / cadence * (1.0 + spec.step_time_cv * np.clip(rng.normal(size=n), -3, 3))
    t_ic = p.t0 - rng.uniform(0.2, 1.0) * step0 + np.concatenate([[0.0], np.cumsum(steps)])
    last = int(np.searchsorted(t_ic, t_end + 2.0)) + 1
    out: FloatArray = t_ic[: max(last, 3)]
    return out


@dataclass(frozen=True, slots=True)
class _GaitDraws:
    """Everything random about one gait segment, drawn once (independent of the evaluated window)."""

    t_ic: FloatArray
    step_t: FloatArray
    sides: NDArray[np.str_]
    sign: FloatArray
    drop: FloatArray
    contact: FloatArray
    phase: CubicSpline
    spring: _Spring | None
    amplitude: CubicSpline  # per-step scale of the tilt and rotation oscillations (1 +- ~8 %), C2 across steps


def _gait_draws(p: _Plan, spec: Walking | Running, rng: np.random.Generator) -> _GaitDraws:
    t_end = p.t1 + p.trans_next_s
    t_ic = _step_times(p, spec, rng, t_end)
    n_steps = t_ic.size - 1  # the last entry only closes the previous step
    step_t = np.diff(t_ic)
    k_all = np.arange(t_ic.size)
    first = 0 if spec.first_side == "left" else 1
    sides = np.where((k_all[:n_steps] + first) % 2 == 0, "left", "right")
    sign = np.where(sides == "left", SIDE_SIGN["left"], SIDE_SIGN["right"])
    elapsed = np.maximum(t_ic[:n_steps] - p.t0, 0.0) / 600.0
    drop = np.where(
        sides == "left",
        spec.drop_left_deg + spec.fatigue_left_deg_per_10min * elapsed,
        spec.drop_right_deg + spec.fatigue_right_deg_per_10min * elapsed,
    ) + rng.normal(0.0, spec.drop_sd_deg, n_steps)
    if isinstance(spec, Running):
        contact = spec.contact_time_s * (1.0 + spec.contact_time_cv * np.clip(rng.normal(size=n_steps), -3, 3))
        contact = np.minimum(contact, 0.9 * step_t)
    else:
        contact = spec.stance_fraction * 2.0 * step_t
    spring = None
    if isinstance(spec, Running):
        spring = _spring(
            step_t, contact, spec.braking_mps2, spec.contact_time_s, spec.impact_g * G, spec.impact_width_s
        )
    # phase: C2 spline through (t_ic[k], k); it is monotone because step times vary by a few percent only
    amplitude = CubicSpline(t_ic, 1.0 + AMPLITUDE_CV * np.clip(rng.normal(size=t_ic.size), -3, 3))
    return _GaitDraws(
        t_ic, step_t, sides, sign, drop, contact, CubicSpline(t_ic, k_all.astype(float)), spring, amplitude
    )


def _gait(t: FloatArray, i0: int, p: _Plan, mm: MotionModel, ch: Channels, steps: _Steps | None) -> None:
    spec = p.spec
    assert isinstance(spec, Walking | Running)
    t_end = p.t1 + p.trans_next_s
    a, b = _window(t, p.t0, t_end)
    if b <= a:
        return
    tw = t[a:b]
    g: _GaitDraws = mm.cached(("gait", p.index), lambda rng: _gait_draws(p, spec, rng), p.index)
    t_ic, step_t, sides, sign, drop, contact = g.t_ic, g.step_t, g.sides, g.sign, g.drop, g.contact
    n_steps = t_ic.size - 1
    s0 = sign[0]

    # phase: C2 spline through (t_ic[k], k); it is monotone because step times vary by a few percent only
    cs = g.phase
    phase = Jet(cs(tw), cs(tw, 1), cs(tw, 2))
    k = np.clip(np.searchsorted(t_ic, tw, "right") - 1, 0, n_steps - 1)
    tau = tw - t_ic[k]
    u = np.clip(phase.v - k, 0.0, 1.0)

    env = _Env.of(tw, p)

    # obliquity: one bump per step toward the swing side (left stance -> right side drops -> obliquity up)
    f, fu, fuu = bump(u, DROP_PEAK_PHASE)
    amp = sign[k] * drop[k] * DEG
    roll = compose(f * amp, fu * amp, fuu * amp, phase)
    # every harmonic of the stride from one sin/cos pair
    c1, s1 = np.cos(np.pi * phase.v), np.sin(np.pi * phase.v)
    c2, s2 = c1 * c1 - s1 * s1, 2.0 * s1 * c1
    # anterior tilt: twice per stride; rotation: once per stride (left side forward at right contact)
    ampl = Jet(g.amplitude(tw), g.amplitude(tw, 1), g.amplitude(tw, 2))
    pitch = _harmonic(phase, c2, s2, 2.0, 0.6) * ampl * (spec.tilt_amplitude_deg * DEG)
    yaw = _harmonic(phase, c1, s1, 1.0, 0.0) * ampl * (-s0 * spec.rotation_amplitude_deg * DEG)
    sway = _harmonic(phase, c1, s1, 1.0, 0.4)

    if isinstance(spec, Running):
        assert g.spring is not None
        z, s_ap = _running_vertical_ap(tau, k, g.spring)
        sway = sway * (s0 * 0.005)
    else:
        z = _harmonic(phase, c2, s2, 2.0, 0.05) * (-spec.vertical_amplitude_m)
        s_ap = _harmonic(phase, c2, s2, 2.0, 0.0) * 0.012
        sway = sway * (s0 * 0.02)

    if isinstance(spec, Walking) and spec.impact_g > 0:
        z = z + _impact(tau, spec.impact_g, spec.impact_width_s)
    if spec.soft_tissue_g > 0:
        wob_v = _wobble(tau, step_t[k], spec.soft_tissue_g, spec.soft_tissue_hz)
        ch.clip_v.add_at(a, env.apply(wob_v))
        ch.clip_ap.add_at(a, env.apply(wob_v * 0.5))
    z_env = env.apply(z)
    ch.roll.add_at(a, env.apply(roll))
    ch.pitch.add_at(a, env.apply(pitch))
    ch.yaw_osc.add_at(a, env.apply(yaw))
    ch.z.add_at(a, z_env)
    ch.s_ap.add_at(a, env.apply(s_ap))
    ch.s_ml.add_at(a, env.apply(sway))

    # turns and hills (course features, relative to the segment start)
    turn_windows: list[tuple[float, float]] = []
    for turn in spec.turns:
        t_start = p.t0 + turn.at_s
        ta, tb = _window(t, t_start, t_start + turn.duration_s)
        sv, sv1, sv2, sv3 = smoothstep((t[ta:tb] - t_start) / turn.duration_s)
        ang = turn.angle_deg * DEG
        d = turn.duration_s
        ch.heading.add_at(ta, Jet(sv * ang, sv1 * ang / d, sv2 * ang / d**2))
        ch.heading.v[tb:] += ang
        ch.heading_rate.add_at(ta, Jet(sv1 * ang / d, sv2 * ang / d**2, sv3 * ang / d**3))
        turn_windows.append((t_start, t_start + d))
    for hi, hill in enumerate(spec.hills):
        h0 = p.t0 + hill.at_s
        ha, hb = _window(t, h0, h0 + hill.duration_s)
        k0, zfull = mm.cached(("hill", p.index, hi), functools.partial(mm.hill_climb, hill, h0), p.index)
        th = t[ha:hb]
        grade = smoothstep_jet(th, h0, hill.ramp_s) - smoothstep_jet(
            th, h0 + hill.duration_s - hill.ramp_s, hill.ramp_s
        )
        grade = grade * (hill.grade_pct / 100.0)
        ch.pitch.add_at(ha, grade * (HILL_LEAN_DEG_PER_PCT * 100.0 * DEG))
        speed = ch.speed.slice(ha, hb)
        dz = speed.v * grade.v
        d2z = speed.d1 * grade.v + speed.v * grade.d1
        first = i0 + ha - k0
        ch.z.add_at(ha, Jet(zfull[first : first + (hb - ha)], dz, d2z))
        if zfull.size and hb < t.size:  # the climb stays climbed
            ch.z.v[hb:] += float(zfull[-1])

    if steps is None:
        return
    # per-step truth: steps inside the window with their IC where the envelope is at least half up
    ic = t_ic[:n_steps]
    nxt = t_ic[1:]
    keep = (ic >= tw[0]) & (nxt <= tw[-1]) & (env.value_at(ic) >= 0.5)
    idx = np.flatnonzero(keep)
    if idx.size == 0:
        return
    ia = np.searchsorted(tw, ic[idx], "left")
    ib = np.maximum(np.searchsorted(tw, nxt[idx], "left"), ia + 1)
    # one stride-long reduceat per step: maximum/minimum over [ia, ib)
    bounds = np.stack([ia, ib], axis=1).ravel()
    zv = np.append(z_env.v, 0.0)
    vo = np.maximum.reduceat(zv, bounds)[::2] - np.minimum.reduceat(zv, bounds)[::2]
    steady = (ic[idx] >= p.t0 + p.trans_s) & (nxt[idx] <= p.t1)
    in_turn = np.zeros(idx.size, dtype=bool)
    for w0, w1 in turn_windows:
        in_turn |= (ic[idx] < w1) & (nxt[idx] > w0)
    steps.t_ic.append(ic[idx])
    steps.t_to.append(ic[idx] + contact[idx])
    steps.side.extend(str(s) for s in sides[idx])
    steps.target.append(drop[idx])
    steps.in_turn.append(in_turn)
    steps.steady.append(steady)
    steps.step_time.append(step_t[idx])
    steps.contact.append(contact[idx])
    steps.vo.append(vo)
    steps.activity.extend(["running" if isinstance(spec, Running) else "walking"] * idx.size)
    steps.segment.extend([p.index] * idx.size)


def _wobble(tau: FloatArray, step_s: FloatArray, peak_g: float, freq_hz: float) -> Jet:
    """Clip wobble after each contact: ``A sin(2 pi f tau)`` under a C2 bump lasting min(0.2 s, 0.9 step).

    A crude stand-in for soft tissue and clip compliance (a damped ring at ``freq_hz``), so estimators can be
    tested against it; ``A = peak_g g / (2 pi f)^2``. Zero with two derivatives at both ends of each window.
    """
    width = np.minimum(0.2, 0.9 * step_s)
    u = tau / width
    f, fu, fuu = bump(u, 0.3)
    f = np.where(u < 1.0, f, 0.0)
    env = Jet(f, fu / width, fuu / width**2)
    w = 2.0 * np.pi * freq_hz
    amp = peak_g * G / w**2
    sn, cs = np.sin(w * tau), np.cos(w * tau)
    return env * Jet(amp * sn, amp * w * cs, -amp * w * w * sn)


def _impact(tau: FloatArray, peak_g: float, width_s: float) -> Jet:
    """Impact transient after each initial contact: a height dip ``-h sin^3(pi tau / width)``.

    Its second derivative is a positive vertical acceleration peak of ``peak_g`` half-way through ``width_s``
    between two small negative lobes, with zero net impulse, so it changes neither the step's velocity nor its
    height afterwards. (``d2/du2 sin^3(pi u) = -3 pi^2`` at the peak.)
    """
    h = peak_g * G * width_s**2 / (3.0 * np.pi**2)
    out = Jet.zeros(tau.size)
    sel = np.flatnonzero(tau < width_s)
    f, fu, fuu = bump(tau[sel] / width_s, 0.5)
    out.v[sel] = -h * f
    out.d1[sel] = -h * fu / width_s
    out.d2[sel] = -h * fuu / width_s**2
    return out


@dataclass(frozen=True, slots=True)
class _Spring:
    """Per-step constants of the running model (computed once per segment)."""

    contact: FloatArray
    v_ic: FloatArray
    v_to: FloatArray
    amp: FloatArray
    dz_stance: FloatArray
    b_k: FloatArray
    off: float
    impact_mps2: float
    impact_s: float


def _spring(
    step_t: FloatArray, contact: FloatArray, braking: float, contact0: float, impact_mps2: float, impact_s: float
) -> _Spring:
    """Spring-mass vertical motion and stance-only fore-aft oscillation, exact per step.

    Vertical: in stance ``z'' = A_k sin(pi tau / tc_k) + P sin^2(pi tau / w) [tau < w] - g`` (half-sine ground
    reaction force plus an impact peak ``P`` of width ``w`` after contact), in flight ``z'' = -g``. ``A_k`` makes
    the stance impulse turn the landing speed into the take-off speed, so velocity is continuous; take-off speeds
    are chosen so every step ends at the height it started (a steady run).
    Fore-aft: ``x'' = -B_k sin(2 pi tau / tc_k)`` in stance (braking, then propulsion), zero in flight, plus a
    constant velocity offset that makes the displacement periodic; ``B_k`` scales so that offset is the same for
    every step (no velocity jumps).
    """
    flight = np.maximum(step_t - contact, 0.0)
    wi = impact_s
    p_imp = impact_mps2
    # Height over a stance is tc (v_ic + v_to) / 2 + c with c = P w (tc - w) / 4 (the impact's impulse comes early),
    # over a flight v_to tf - g tf^2 / 2. Choosing each take-off speed so the two cancel keeps every step at the
    # same height (a steady run, no drift); the landing speed follows from the flight: v_ic' = v_to - g tf.
    c_imp = p_imp * wi * np.maximum(contact - wi, 0.0) / 4.0
    v_ic = np.empty(step_t.size)
    v_to = np.empty(step_t.size)
    v = G * flight[0] / 2.0 - c_imp[0] / (contact[0] + flight[0]) - G * flight[0]  # steady-state landing speed
    for i in range(step_t.size):  # a stable linear recurrence (|coefficient| < 1), O(steps), once per segment
        v_ic[i] = v
        v_to[i] = (0.5 * G * flight[i] ** 2 - c_imp[i] - 0.5 * contact[i] * v) / (0.5 * contact[i] + flight[i])
        v = v_to[i] - G * flight[i]
    amp = (v_to - v_ic + G * contact - p_imp * wi / 2.0) * np.pi / (2.0 * contact)
    dz_stance = contact * (v_ic + v_to) / 2.0 + c_imp
    t_step0 = float(np.median(step_t))
    b_k = braking * (step_t / t_step0) * (contact0 / contact) ** 2
    off = braking * contact0**2 / (2.0 * np.pi * t_step0)  # the constant velocity offset
    return _Spring(contact, v_ic, v_to, amp, dz_stance, b_k, off, impact_mps2, impact_s)


def _running_vertical_ap(tau: FloatArray, k: NDArray[np.int64], sp: _Spring) -> tuple[Jet, Jet]:
    """Evaluate the running model (see :func:`_spring`) at times ``tau`` after the initial contact of step ``k``."""
    contact, v_ic, v_to, amp, dz_stance, b_k, off = sp.contact, sp.v_ic, sp.v_to, sp.amp, sp.dz_stance, sp.b_k, sp.off
    wi, p_imp = sp.impact_s, sp.impact_mps2

    # flight everywhere first (cheap), then overwrite the stance samples
    tc = contact[k]
    tf = tau - tc
    vt = v_to[k]
    z = dz_stance[k] + tf * (vt - 0.5 * G * tf)  # every step starts at height 0
    dz = vt - G * tf
    d2z = np.full(tau.size, -G)
    bk = b_k[k]
    x = off * tau - bk * tc * tc / (2.0 * np.pi)
    dx = np.full(tau.size, off)
    d2x = np.zeros(tau.size)

    st = np.flatnonzero(tau < tc)
    ks = k[st]
    ts, tcs = tau[st], tc[st]
    w = np.pi / tcs
    sw, cw = np.sin(w * ts), np.cos(w * ts)
    a_k, vi = amp[ks], v_ic[ks]
    aw = a_k / w
    z[st] = vi * ts + aw * (ts - sw / w) - 0.5 * G * ts * ts
    dz[st] = vi + aw * (1.0 - cw) - G * ts
    d2z[st] = a_k * sw - G
    if p_imp > 0:  # impact peak: P sin^2(pi tau / w) for tau < w, integrated twice
        during = ts < wi
        i_in, i_out = st[during], st[~during]
        ti = ts[during]
        c = 2.0 * np.pi / wi
        sc2 = np.sin(np.pi * ti / wi)
        z[i_in] += 0.5 * p_imp * (0.5 * ti * ti - 2.0 * sc2 * sc2 / c**2)  # cos(c t) - 1 = -2 sin^2(pi t / w)
        dz[i_in] += 0.5 * p_imp * (ti - np.sin(c * ti) / c)
        d2z[i_in] += p_imp * sc2 * sc2
        z[i_out] += p_imp * wi * wi / 4.0 + p_imp * wi / 2.0 * (ts[~during] - wi)
        dz[i_out] += p_imp * wi / 2.0
    s2, c2 = 2.0 * sw * cw, 2.0 * cw * cw - 1.0  # sin, cos of 2 w tau
    bs = bk[st]
    bw = bs / (2.0 * w)
    x[st] = bw * (s2 / (2.0 * w) - ts) + off * ts
    dx[st] = bw * (c2 - 1.0) + off
    d2x[st] = -bs * s2
    return Jet(z, dz, d2z), Jet(x, dx, d2x)


# ---------------------------------------------------------------------------------------------- exercises
def _jitter(rng: np.random.Generator, cv: float, size: int) -> FloatArray:
    out: FloatArray = 1.0 + cv * np.clip(rng.normal(size=size), -2.5, 2.5)
    return out


def _rep_progress(
    tw: FloatArray, ts: FloatArray, m1: FloatArray, pause: FloatArray, m2: FloatArray
) -> tuple[Jet, NDArray[np.int64]]:
    """Progress ``q`` (0 start, 1 far) over reps starting at ``ts``; returns q and the rep index per sample."""
    r = np.searchsorted(ts, tw, "right") - 1
    rc = np.clip(r, 0, ts.size - 1)
    t_far = ts[rc] + m1[rc]
    t_ret = t_far + pause[rc]
    up, up1, up2, _ = smoothstep((tw - ts[rc]) / m1[rc])
    dn, dn1, dn2, _ = smoothstep((tw - t_ret) / m2[rc])
    going = tw < t_far
    v = np.where(going, up, 1.0 - dn)
    d1 = np.where(going, up1 / m1[rc], -dn1 / m2[rc])
    d2 = np.where(going, up2 / m1[rc] ** 2, -dn2 / m2[rc] ** 2)
    before = r < 0
    v[before] = 0.0
    d1[before] = 0.0
    d2[before] = 0.0
    return Jet(v, d1, d2), r


@dataclass(frozen=True, slots=True)
class _RepDraws:
    ts: FloatArray
    m1: FloatArray
    m2: FloatArray
    pause: FloatArray
    rom: FloatArray
    rep_sides: list[str | None]
    sgn: FloatArray
    tilt: FloatArray
    side_mode: str


def _rep_draws(p: _Plan, spec: ExerciseSet | Hold, rng: np.random.Generator) -> _RepDraws:
    ex = EXERCISES[spec.exercise]
    start = p.t0 + p.trans_s + spec.lead_in_s
    if isinstance(spec, Hold):
        n_reps = 1
        m1 = np.array([spec.move_s])
        m2 = np.array([spec.move_s])
        pause = np.array([spec.hold_s])
        near = np.zeros(1)
        rom = np.array([spec.rom])
    else:
        n_reps = spec.reps
        tempo = _rep_durations(spec, ex)
        first_s = tempo.concentric_s if ex.concentric_first else tempo.eccentric_s
        second_s = tempo.eccentric_s if ex.concentric_first else tempo.concentric_s
        m1 = first_s * _jitter(rng, spec.tempo_cv, n_reps)
        m2 = second_s * _jitter(rng, spec.tempo_cv, n_reps)
        pause = tempo.pause_far_s * _jitter(rng, spec.tempo_cv, n_reps)
        near = tempo.pause_near_s * _jitter(rng, spec.tempo_cv, n_reps)
        near[-1] = 0.0
        nominal = n_reps * (first_s + second_s + tempo.pause_far_s) + (n_reps - 1) * tempo.pause_near_s
        scale = nominal / float(np.sum(m1 + m2 + pause + near))  # keep the set's length exact
        m1, m2, pause, near = m1 * scale, m2 * scale, pause * scale, near * scale
        rom = spec.rom * _jitter(rng, spec.rom_cv, n_reps)
    ts = start + np.concatenate([[0.0], np.cumsum(m1 + pause + m2 + near)[:-1]])

    # sides per rep
    side_mode = ex.sidedness if not isinstance(spec, ExerciseSet) or spec.side != "alternate" else "alternate"
    if side_mode == "both":
        rep_sides: list[str | None] = [None] * n_reps
    elif side_mode == "alternate":
        first = spec.side if spec.side in ("left", "right") else "left"
        other = "right" if first == "left" else "left"
        rep_sides = [first if i % 2 == 0 else other for i in range(n_reps)]
    else:
        rep_sides = [spec.side if spec.side in ("left", "right") else "left"] * n_reps
    sgn = np.array([0.0 if s is None else SIDE_SIGN[s] for s in rep_sides])
    if isinstance(spec, ExerciseSet):
        tilt_mean = spec.lateral_tilt_deg if spec.lateral_tilt_deg is not None else ex.lateral_tilt_deg
        tilt = (tilt_mean + rng.normal(0.0, spec.lateral_tilt_sd_deg, n_reps)) * (sgn != 0)
    else:
        tilt = ex.lateral_tilt_deg * (sgn != 0)

    return _RepDraws(ts, m1, m2, pause, rom, rep_sides, sgn, tilt, side_mode)


def _exercise(t: FloatArray, p: _Plan, mm: MotionModel, ch: Channels, out: _Reps | None) -> None:
    spec = p.spec
    assert isinstance(spec, ExerciseSet | Hold)
    ex = EXERCISES[spec.exercise]
    a, b = _window(t, p.t0, p.t1)
    if b <= a and out is None:
        return
    d: _RepDraws = mm.cached(("reps", p.index), lambda rng: _rep_draws(p, spec, rng), p.index)
    ts, m1, m2, pause, rom, rep_sides, sgn, tilt = d.ts, d.m1, d.m2, d.pause, d.rom, d.rep_sides, d.sgn, d.tilt
    n_reps = ts.size
    t_end = ts + m1 + pause + m2
    tw = t[a:b]
    q, r = _rep_progress(tw, ts, m1, pause, m2)
    rc = np.clip(r, 0, n_reps - 1)
    active = r >= 0
    rom_s = np.where(active, rom[rc], 0.0)
    sgn_s = np.where(active, sgn[rc], 0.0)
    tilt_s = np.where(active, tilt[rc], 0.0)
    big_q = q * rom_s
    hump = q * Jet(1.0 - q.v, -q.d1, -q.d2) * (4.0 * rom_s)
    ch.z.add_at(a, big_q * ex.dz_m)
    ch.pitch.add_at(a, big_q * (ex.dpitch_deg * DEG) + hump * (ex.bump_pitch_deg * DEG))
    ch.s_ap.add_at(a, big_q * ex.dap_m + hump * ex.bump_ap_m)
    ch.yaw_osc.add_at(a, big_q * (ex.dyaw_deg * DEG * sgn_s))
    ch.roll.add_at(a, q * (sgn_s * tilt_s * DEG))

    if out is None:
        return
    side_mode = d.side_mode
    far = ts + m1
    ret = far + pause
    if isinstance(spec, Hold):
        out.holds.append(
            {"t_start_s": float(far[0]), "t_end_s": float(ret[0]), "exercise": spec.exercise, "segment": p.index}
        )
        return
    ecc, con = (m2, m1) if ex.concentric_first else (m1, m2)
    for i in range(n_reps):
        out.rows.append(
            {
                "t_start_s": float(ts[i]),
                "t_far_s": float(far[i]),
                "t_return_s": float(ret[i]),
                "t_end_s": float(t_end[i]),
                "eccentric_s": float(ecc[i]),
                "concentric_s": float(con[i]),
                "pause_s": float(pause[i]),
                "exercise": spec.exercise,
                "side": rep_sides[i],
                "index_in_set": i + 1,
                "set_index": len(out.sets),
                "rom": float(rom[i]),
            }
        )
    set_side = rep_sides[0] if side_mode == "one" else None
    out.sets.append(
        {
            "t_start_s": float(ts[0]),
            "t_end_s": float(t_end[-1]),
            "exercise": spec.exercise,
            "reps": n_reps,
            "side": set_side,
            "segment": p.index,
        }
    )


# ---------------------------------------------------------------------------------------------- still + fidget
_STILL_CHANNELS: Final = ("roll", "pitch", "yaw_osc", "s_ap", "s_ml", "z")


def _still_splines(p: _Plan, sway: float, rng: np.random.Generator) -> dict[str, CubicSpline | None]:
    spec = p.spec
    fidget = isinstance(spec, Standing | Sitting) and spec.fidget
    fidget = fidget or (isinstance(spec, Rest) and spec.mode == "fidget")
    sitting = isinstance(spec, Sitting) or (isinstance(spec, Rest) and spec.posture != "standing")
    if fidget:
        knot = 0.8
        sd = {"roll": 1.2, "pitch": 1.5, "yaw_osc": 6.0, "s_ap": 0.02, "s_ml": 0.02, "z": 0.008}
        if sitting:
            sd = {"roll": 0.8, "pitch": 2.0, "yaw_osc": 3.0, "s_ap": 0.005, "s_ml": 0.005, "z": 0.004}
    else:
        knot = 1.5
        quiet = {"roll": 0.12, "pitch": 0.2, "yaw_osc": 0.3, "s_ap": 0.003, "s_ml": 0.003, "z": 0.001}
        sd = {k: v * sway * (0.5 if sitting else 1.0) for k, v in quiet.items()}
    t1 = p.t1 + p.trans_next_s
    return {
        name: _smooth_noise(
            p.t0,
            t1,
            rng,
            knot * (2.0 if name == "yaw_osc" else 1.0),
            sd[name] * (DEG if name in ("roll", "pitch", "yaw_osc") else 1.0),
        )
        for name in _STILL_CHANNELS
    }


def _still(t: FloatArray, p: _Plan, mm: MotionModel, ch: Channels) -> None:
    """Quiet sway (``fidget=False``) or fidgeting: weight shifts, small turns, shuffles."""
    a, b = _window(t, p.t0, p.t1 + p.trans_next_s)
    tw = t[a:b]
    if tw.size == 0:
        return
    sway = mm.scenario.subject.sway
    splines: dict[str, CubicSpline | None] = mm.cached(
        ("still", p.index), lambda rng: _still_splines(p, sway, rng), p.index
    )
    env = _Env.of(tw, p)
    for name in _STILL_CHANNELS:
        cs = splines[name]
        if cs is not None:
            getattr(ch, name).add_at(a, env.apply(_spline_jet(cs, tw)))


# ---------------------------------------------------------------------------------------------- assembly
class MotionModel:
    """The pelvis motion of a scenario, evaluable on any window of samples.

    Everything random is drawn once per segment from the segment's own stream (``seq.spawn``) and cached, and
    every channel is an analytic function of absolute time, so evaluating samples ``i0:i1`` gives exactly the
    values of the whole run at those samples, whatever the window (that is what makes streaming equal batch).
    """

    def __init__(self, scenario: Scenario, seq: np.random.SeedSequence) -> None:
        self.scenario = scenario
        self.plans = plan(scenario)
        self.fs = scenario.sensor.sampling_rate_hz
        self.n_samples = round(self.plans[-1].t1 * self.fs)
        self._seqs = seq.spawn(len(self.plans))
        self._cache: dict[tuple[object, ...], object] = {}
        self._walks: dict[int, _Plan] = {}

    def cached(self, key: tuple[object, ...], make: Callable[[np.random.Generator], T], segment: int) -> T:
        """The value for ``key``, made once with a generator of ``segment``'s own random stream."""
        if key not in self._cache:
            seq = self._seqs[segment]
            child = np.random.SeedSequence(seq.entropy, spawn_key=(*seq.spawn_key, _STREAMS[str(key[0])]))
            self._cache[key] = make(np.random.default_rng(child))
        return self._cache[key]  # type: ignore[return-value]

    def hill_climb(self, hill: Hill, h0: float, _rng: np.random.Generator | None = None) -> tuple[int, FloatArray]:
        """Height gained on a hill, integrated once over the hill's samples: (first sample index, z per sample)."""
        k0 = int(np.ceil(h0 * self.fs - 1e-9))
        k1 = int(np.ceil((h0 + hill.duration_s) * self.fs - 1e-9))
        th = np.arange(k0, k1, dtype=np.float64) / self.fs
        speed = _baseline(th, self.plans, [p.pose.speed_mps for p in self.plans], 0.0)
        grade = (
            smoothstep((th - h0) / hill.ramp_s)[0]
            - smoothstep((th - (h0 + hill.duration_s - hill.ramp_s)) / hill.ramp_s)[0]
        )
        dz = speed.v * grade * (hill.grade_pct / 100.0)
        dt = 1.0 / self.fs
        zval = np.cumsum(0.5 * (dz + np.concatenate([dz[:1], dz[:-1]])) * dt)
        return k0, zval

    def _walk_plan(self, p: _Plan) -> _Plan:
        if p.index not in self._walks:
            spec = p.spec
            half = max(spec.duration_s / 2.0 - 1.5, 0.0)
            turns = [Turn(at_s=half, angle_deg=180.0, duration_s=3.0)] if spec.duration_s > 8.0 else []
            walk = Walking(duration_s=spec.duration_s, speed_mps=1.0, cadence_spm=100.0, turns=turns)
            self._walks[p.index] = _Plan(p.index, walk, p.t0, p.t1, p.pose, p.trans_s, p.trans_next_s, p.activity_code)
        return self._walks[p.index]

    def channels(
        self, i0: int, i1: int, steps: _Steps | None = None, reps: _Reps | None = None
    ) -> tuple[FloatArray, Channels]:
        """Sample times and pelvis channels of samples ``i0:i1`` (truth rows appended to ``steps``/``reps``)."""
        plans = self.plans
        t = np.arange(i0, i1, dtype=np.float64) / self.fs
        n = t.size
        ch = Channels.zeros(n)
        first = plans[0].pose
        ch.pitch = ch.pitch + _baseline(t, plans, [p.pose.pitch_deg * DEG for p in plans], first.pitch_deg * DEG)
        ch.z = ch.z + _baseline(t, plans, [p.pose.z_m for p in plans], first.z_m)
        ch.speed = _baseline(t, plans, [p.pose.speed_mps for p in plans], 0.0)
        ch.roll = ch.roll + self.scenario.subject.standing_obliquity_deg * DEG
        prev = first
        for p in plans[1:]:
            if abs(p.pose.z_m - prev.z_m) > 0.2 and abs(p.pose.pitch_deg) < 45 and abs(prev.pitch_deg) < 45:
                a, b = _window(t, p.t0, p.t0 + p.trans_s)
                sj = smoothstep_jet(t[a:b], p.t0, p.trans_s)
                ch.pitch.add_at(a, sj * Jet(1.0 - sj.v, -sj.d1, -sj.d2) * (4.0 * TRANSITION_TILT_DEG * DEG))
            prev = p.pose
        for p in plans:
            spec = p.spec
            if isinstance(spec, Walking | Running):
                _gait(t, i0, p, self, ch, steps)
            elif isinstance(spec, Rest) and spec.mode == "walk":
                _gait(t, i0, self._walk_plan(p), self, ch, steps)
            elif isinstance(spec, ExerciseSet | Hold):
                _exercise(t, p, self, ch, reps)
            else:
                _still(t, p, self, ch)
        # lean into turns: atan(v * yaw_rate / g), toward the inside (left turn -> left side lower)
        if np.any(ch.heading_rate.v):
            lean = jatan(ch.speed * ch.heading_rate * (1.0 / G))
            ch.roll = ch.roll + (-lean)
        return t, ch

    def labels(self, t: FloatArray) -> tuple[NDArray[np.int8], NDArray[np.bool_]]:
        """Activity code and quiet-standing flag per sample."""
        activity = np.zeros(t.size, dtype=np.int8)
        quiet = np.zeros(t.size, dtype=bool)
        for p in self.plans:
            a, b = _window(t, p.t0, p.t1)
            activity[a:b] = p.activity_code
            if p.quiet:
                qa, qb = _window(t, p.t0 + p.trans_s, p.t1)
                quiet[qa:qb] = True
        return activity, quiet


def build(scenario: Scenario, seq: np.random.SeedSequence) -> Kinematics:
    """The whole run's pelvis trajectory and its event truth."""
    mm = MotionModel(scenario, seq)
    if mm.n_samples > MAX_BUILD_SAMPLES:
        raise ScenarioError(
            f"scenario {scenario.name!r} lasts {mm.plans[-1].t1:,.0f} s at {mm.fs:g} Hz = {mm.n_samples:,} samples, "
            f"more than the {MAX_BUILD_SAMPLES:,} a simulation holds in memory (about "
            f"{MAX_BUILD_SAMPLES * 500 / 1e9:.0f} GB); shorten its segments, lower sensor.sampling_rate_hz, or "
            "generate it window by window with simulate_stream()",
            key="segments",
        )
    steps = _Steps()
    reps = _Reps()
    t, ch = mm.channels(0, mm.n_samples, steps, reps)
    activity, quiet = mm.labels(t)
    roll_deg = ch.roll.v / DEG
    pitch_deg = ch.pitch.v / DEG
    yaw_deg = (ch.heading.v + ch.yaw_osc.v) / DEG
    steps_truth = _steps_truth(t, roll_deg, pitch_deg, yaw_deg, quiet, steps)
    reps_truth, sets_truth, holds_truth = _reps_truth(t, roll_deg, pitch_deg, ch.z.v, reps)
    segs = [SegmentTruth(p.index, p.spec.activity, p.t0, p.t1, p.trans_s, p.spec.label) for p in mm.plans]
    return Kinematics(t, ch, activity, quiet, steps_truth, reps_truth, sets_truth, holds_truth, segs)


def _quiet_runs(t: FloatArray, roll_deg: FloatArray, quiet: NDArray[np.bool_]) -> tuple[FloatArray, FloatArray]:
    """End time and mean obliquity of every quiet-standing run lasting at least 2 s (as in sensor.definitions)."""
    edges = np.diff(np.concatenate([[0], quiet.astype(np.int8), [0]]))
    starts = np.flatnonzero(edges == 1)
    stops = np.flatnonzero(edges == -1)
    ends, means = [], []
    for a, b in zip(starts, stops, strict=True):
        if t[b - 1] - t[a] >= 2.0:
            ends.append(t[b - 1])
            means.append(float(np.mean(roll_deg[a:b])))
    return np.asarray(ends, dtype=float), np.asarray(means, dtype=float)


def _step_ranges(t: FloatArray, x: FloatArray, start_s: FloatArray, stop_s: FloatArray) -> FloatArray:
    """max - min of ``x`` over ``[start, stop)`` per step (windows may overlap: one reduceat per parity)."""
    out = np.full(start_s.size, np.nan)
    a = np.searchsorted(t, start_s, "left")
    b = np.maximum(np.searchsorted(t, stop_s, "left"), a + 1)
    xs = np.append(x, x[-1])
    for parity in (0, 1):  # consecutive steps share their boundary only: every other step is disjoint
        sel = np.arange(parity, start_s.size, 2)
        if sel.size == 0:
            continue
        bounds = np.stack([a[sel], b[sel]], axis=1).ravel()
        out[sel] = np.maximum.reduceat(xs, bounds)[::2] - np.minimum.reduceat(xs, bounds)[::2]
    return out


def _steps_truth(
    t: FloatArray,
    roll_deg: FloatArray,
    pitch_deg: FloatArray,
    yaw_deg: FloatArray,
    quiet: NDArray[np.bool_],
    s: _Steps,
) -> StepsTruth:
    def cat(parts: list[FloatArray]) -> FloatArray:
        return np.concatenate(parts) if parts else np.zeros(0)

    t_ic = cat(s.t_ic)
    t_to = cat(s.t_to)
    segment = np.asarray(s.segment, dtype=np.int64)
    ends, means = _quiet_runs(t, roll_deg, quiet)
    j = np.searchsorted(ends, t_ic, "right") - 1
    neutral = np.full(t_ic.size, np.nan)
    source = ["standing"] * t_ic.size
    has = j >= 0
    neutral[has] = means[j[has]]
    if not has.all():
        for seg in np.unique(segment[~has]):
            sel = np.flatnonzero((segment == seg) & ~has)
            all_in_seg = np.flatnonzero(segment == seg)
            stride = stride_neutral_deg(t, roll_deg, t_ic[all_in_seg])
            pos = np.searchsorted(all_in_seg, sel)
            neutral[sel] = stride[pos]
            for i in sel:
                source[i] = "stride"
    sides: list[Side] = ["left" if x == "left" else "right" for x in s.side]
    drop = pelvic_drop_deg(t, roll_deg, t_ic, t_to, sides, neutral) if t_ic.size else np.zeros(0)
    step_time = cat(s.step_time)
    contact = cat(s.contact)
    running = np.asarray(s.activity) == "running"
    return StepsTruth(
        t_ic_s=t_ic,
        t_to_s=t_to,
        side=list(s.side),
        pelvic_drop_deg=drop,
        target_drop_deg=cat(s.target),
        neutral_deg=neutral,
        neutral_source=source,
        in_turn=np.concatenate(s.in_turn) if s.in_turn else np.zeros(0, bool),
        steady=np.concatenate(s.steady) if s.steady else np.zeros(0, bool),
        step_time_s=step_time,
        contact_time_s=contact,
        flight_time_s=np.where(running, np.maximum(step_time - contact, 0.0), np.nan),
        vertical_oscillation_m=cat(s.vo),
        obliquity_range_deg=_step_ranges(t, roll_deg, t_ic, t_ic + step_time),
        tilt_range_deg=_step_ranges(t, pitch_deg, t_ic, t_ic + step_time),
        rotation_range_deg=_step_ranges(t, yaw_deg, t_ic, t_ic + step_time),
        activity=list(s.activity),
        segment=segment,
    )


def _reps_truth(
    t: FloatArray, roll_deg: FloatArray, pitch_deg: FloatArray, z_m: FloatArray, r: _Reps
) -> tuple[RepsTruth, SetsTruth, HoldsTruth]:
    rows = r.rows

    def col(name: str, dtype: type = float) -> NDArray[np.float64]:
        return np.asarray([row[name] for row in rows], dtype=dtype)

    vt, tr, lt = [], [], []
    for row in rows:
        a, b = _window(t, float(row["t_start_s"]), float(row["t_end_s"]))  # type: ignore[arg-type]
        b = max(b, a + 1)
        vt.append(float(np.ptp(z_m[a:b])))
        tr.append(float(np.ptp(pitch_deg[a:b])))
        side = row["side"]
        sg = SIDE_SIGN[str(side)] if side is not None else 0.0
        lt.append(float(np.max(sg * (roll_deg[a:b] - roll_deg[a]))) if sg else 0.0)
    reps = RepsTruth(
        t_start_s=col("t_start_s"),
        t_far_s=col("t_far_s"),
        t_return_s=col("t_return_s"),
        t_end_s=col("t_end_s"),
        eccentric_s=col("eccentric_s"),
        concentric_s=col("concentric_s"),
        pause_s=col("pause_s"),
        exercise=[str(row["exercise"]) for row in rows],
        side=[None if row["side"] is None else str(row["side"]) for row in rows],
        index_in_set=col("index_in_set", int).astype(np.int64),
        set_index=col("set_index", int).astype(np.int64),
        rom=col("rom"),
        vertical_travel_m=np.asarray(vt, dtype=float),
        tilt_range_deg=np.asarray(tr, dtype=float),
        lateral_tilt_deg=np.asarray(lt, dtype=float),
    )
    sets = SetsTruth(
        t_start_s=np.asarray([s["t_start_s"] for s in r.sets], dtype=float),
        t_end_s=np.asarray([s["t_end_s"] for s in r.sets], dtype=float),
        exercise=[str(s["exercise"]) for s in r.sets],
        reps=np.asarray([s["reps"] for s in r.sets], dtype=np.int64),
        side=[None if s["side"] is None else str(s["side"]) for s in r.sets],
        segment=np.asarray([s["segment"] for s in r.sets], dtype=np.int64),
    )
    holds = HoldsTruth(
        t_start_s=np.asarray([h["t_start_s"] for h in r.holds], dtype=float),
        t_end_s=np.asarray([h["t_end_s"] for h in r.holds], dtype=float),
        exercise=[str(h["exercise"]) for h in r.holds],
        segment=np.asarray([h["segment"] for h in r.holds], dtype=np.int64),
    )
    return reps, sets, holds


def scenario_duration_s(scenario: Scenario) -> float:
    """Total length of a scenario in seconds (exercise sets included)."""
    return plan(scenario)[-1].t1


def truncate(scenario: Scenario, duration_s: float) -> Scenario:
    """The scenario cut to its first ``duration_s`` seconds.

    Segments that end by then are kept; the one running at ``duration_s`` is shortened if it is a timed segment
    (standing, sitting, walking, running, rest) and long enough after its transition, else dropped.
    """
    if duration_s <= 0:
        raise ScenarioError(f"duration_s must be > 0, got {duration_s}", key="duration_s")
    kept: list[Segment] = []
    for p in plan(scenario):
        if p.t1 <= duration_s + 1e-9:
            kept.append(p.spec)
            continue
        remaining = duration_s - p.t0
        timed = not isinstance(p.spec, ExerciseSet | Hold)
        if timed and remaining > p.trans_s + 0.5:
            update: dict[str, object] = {"duration_s": remaining}
            if isinstance(p.spec, Walking | Running):  # keep the turns and hills that still fit
                update["turns"] = [x for x in p.spec.turns if x.at_s + x.duration_s <= remaining]
                update["hills"] = [x for x in p.spec.hills if x.at_s + x.duration_s <= remaining]
            kept.append(p.spec.model_copy(update=update))
        break
    if not kept:
        first = plan(scenario)[0]
        raise ScenarioError(
            f"duration {duration_s:g} s is shorter than the first segment's transition and minimum "
            f"({first.trans_s + 0.5:.1f} s); give a longer duration",
            key="duration_s",
        )
    data = scenario.model_dump(mode="json")
    data["segments"] = [k.model_dump(mode="json") for k in kept]
    return Scenario.from_dict(data, source=f"{scenario.name} cut to {duration_s:g} s")
