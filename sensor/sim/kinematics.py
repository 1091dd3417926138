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

import itertools
from dataclasses import dataclass, field
from typing import Final

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
G: Final = STANDARD_GRAVITY_MPS2
DEG: Final = np.pi / 180.0

HILL_LEAN_DEG_PER_PCT: Final = 0.35
"""Extra anterior tilt per percent of uphill grade (forward lean on hills)."""

DROP_PEAK_PHASE: Final = 0.35
"""Where in the step (fraction of the step time from initial contact) the obliquity bump peaks."""

TRANSITION_TILT_DEG: Final = 25.0
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

    @classmethod
    def zeros(cls, n: int) -> Channels:
        return cls(n, *(Jet.zeros(n) for _ in range(9)))


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
        if dur <= trans + 0.5:
            raise ScenarioError(
                f"segment {i} ({spec.activity}): duration_s={dur:g} leaves no time after its {trans:.1f} s "
                f"transition; make it longer than {trans + 0.5:.1f} s or set a shorter transition_s",
                segment=i,
                key="duration_s",
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


def _smooth_noise(t: FloatArray, rng: np.random.Generator, knot_s: float, sd: float) -> Jet:
    """C2 random signal: a natural cubic spline through normal knots every ``knot_s``."""
    if t.size == 0 or sd == 0:
        return Jet.zeros(t.size)
    knots = np.arange(t[0] - knot_s, t[-1] + 2 * knot_s, knot_s)
    cs = CubicSpline(knots, rng.normal(0.0, sd, knots.size), bc_type="natural")
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


def _gait(t: FloatArray, p: _Plan, ch: Channels, rng: np.random.Generator, steps: _Steps) -> None:
    spec = p.spec
    assert isinstance(spec, Walking | Running)
    t_end = p.t1 + p.trans_next_s
    a, b = _window(t, p.t0, t_end)
    if b <= a:
        return
    tw = t[a:b]
    t_ic = _step_times(p, spec, rng, t_end)
    n_steps = t_ic.size - 1  # the last entry only closes the previous step
    step_t = np.diff(t_ic)
    k_all = np.arange(t_ic.size)
    first = 0 if spec.first_side == "left" else 1
    sides = np.where((k_all[:n_steps] + first) % 2 == 0, "left", "right")
    sign = np.array([SIDE_SIGN[s] for s in sides])
    s0 = sign[0]
    elapsed = np.maximum(t_ic[:n_steps] - p.t0, 0.0) / 600.0
    drop = np.where(
        sides == "left",
        spec.drop_left_deg + spec.fatigue_left_deg_per_10min * elapsed,
        spec.drop_right_deg + spec.fatigue_right_deg_per_10min * elapsed,
    ) + rng.normal(0.0, spec.drop_sd_deg, n_steps)

    # phase: C2 spline through (t_ic[k], k); it is monotone because step times vary by a few percent only
    cs = CubicSpline(t_ic, k_all.astype(float))
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
    pitch = _harmonic(phase, c2, s2, 2.0, 0.6) * (spec.tilt_amplitude_deg * DEG)
    yaw = _harmonic(phase, c1, s1, 1.0, 0.0) * (-s0 * spec.rotation_amplitude_deg * DEG)
    sway = _harmonic(phase, c1, s1, 1.0, 0.4)

    if isinstance(spec, Running):
        contact = spec.contact_time_s * (1.0 + spec.contact_time_cv * np.clip(rng.normal(size=n_steps), -3, 3))
        contact = np.minimum(contact, 0.9 * step_t)
        z, s_ap = _running_vertical_ap(tau, k, step_t, contact, spec.braking_mps2, spec.contact_time_s)
        sway = sway * (s0 * 0.005)
    else:
        contact = spec.stance_fraction * 2.0 * step_t
        z = _harmonic(phase, c2, s2, 2.0, 0.05) * (-spec.vertical_amplitude_m)
        s_ap = _harmonic(phase, c2, s2, 2.0, 0.0) * 0.012
        sway = sway * (s0 * 0.02)

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
    for hill in spec.hills:
        h0 = p.t0 + hill.at_s
        ha, hb = _window(t, h0, h0 + hill.duration_s)
        th = t[ha:hb]
        grade = smoothstep_jet(th, h0, hill.ramp_s) - smoothstep_jet(
            th, h0 + hill.duration_s - hill.ramp_s, hill.ramp_s
        )
        grade = grade * (hill.grade_pct / 100.0)
        ch.pitch.add_at(ha, grade * (HILL_LEAN_DEG_PER_PCT * 100.0 * DEG))
        speed = ch.speed.slice(ha, hb)
        dz = speed.v * grade.v
        d2z = speed.d1 * grade.v + speed.v * grade.d1
        dt = np.diff(th, prepend=th[0])
        zval = np.cumsum(0.5 * (dz + np.concatenate([dz[:1], dz[:-1]])) * dt)
        ch.z.add_at(ha, Jet(zval, dz, d2z))
        if zval.size:  # the climb stays climbed
            ch.z.v[hb:] += float(zval[-1])

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


def _running_vertical_ap(
    tau: FloatArray, k: NDArray[np.int64], step_t: FloatArray, contact: FloatArray, braking: float, contact0: float
) -> tuple[Jet, Jet]:
    """Spring-mass vertical motion and stance-only fore-aft oscillation, exact per step.

    Vertical: in stance ``z'' = A_k sin(pi tau / tc_k) - g``, in flight ``z'' = -g``. Each flight is a symmetric
    parabola (take-off speed ``g tf/2``), and ``A_k`` makes the stance impulse turn the landing speed of the
    previous flight into the take-off speed of the next, so velocity is continuous.
    Fore-aft: ``x'' = -B_k sin(2 pi tau / tc_k)`` in stance (braking, then propulsion), zero in flight, plus a
    constant velocity offset that makes the displacement periodic; ``B_k`` scales so that offset is the same for
    every step (no velocity jumps).
    """
    flight = np.maximum(step_t - contact, 0.0)
    v_to = G * flight / 2.0
    v_ic = -G * np.concatenate([flight[:1], flight[:-1]]) / 2.0
    amp = (v_to - v_ic + G * contact) * np.pi / (2.0 * contact)
    dz_stance = contact * (v_ic + v_to) / 2.0
    z_ic = np.concatenate([[0.0], np.cumsum(dz_stance)[:-1]])

    tc = contact[k]
    in_stance = tau < tc
    w = np.pi / tc
    tau_c = np.minimum(tau, tc)
    sw, cw = np.sin(w * tau_c), np.cos(w * tau_c)
    a_k, vi, vt = amp[k], v_ic[k], v_to[k]
    z_st = z_ic[k] + vi * tau_c + a_k / w * (tau_c - sw / w) - 0.5 * G * tau_c**2
    tf = tau - tc
    z = np.where(in_stance, z_st, z_ic[k] + dz_stance[k] + vt * tf - 0.5 * G * tf**2)
    dz = np.where(in_stance, vi + a_k / w * (1.0 - cw) - G * tau_c, vt - G * tf)
    d2z = np.where(in_stance, a_k * sw - G, -G)
    z = z - float(np.mean(z))

    t_step0 = float(np.median(step_t))
    b_k = braking * (step_t / t_step0) * (contact0 / contact) ** 2
    off = braking * contact0**2 / (2.0 * np.pi * t_step0)  # the constant velocity offset
    bk = b_k[k]
    w2 = 2.0 * np.pi / tc
    s2, c2 = np.sin(w2 * tau_c), np.cos(w2 * tau_c)
    x = np.where(in_stance, bk / w2 * (s2 / w2 - tau_c), -bk * tc / w2) + off * tau
    dx = np.where(in_stance, bk / w2 * (c2 - 1.0), 0.0) + off
    d2x = np.where(in_stance, -bk * s2, 0.0)
    return Jet(z, dz, d2z), Jet(x - float(np.mean(x)), dx, d2x)


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


def _exercise(t: FloatArray, p: _Plan, ch: Channels, rng: np.random.Generator, out: _Reps) -> None:
    spec = p.spec
    assert isinstance(spec, ExerciseSet | Hold)
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
    t_end = ts + m1 + pause + m2

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

    a, b = _window(t, p.t0, p.t1)
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
def _still(t: FloatArray, p: _Plan, ch: Channels, rng: np.random.Generator, sway: float) -> None:
    """Quiet sway (``fidget=False``) or fidgeting: weight shifts, small turns, shuffles."""
    spec = p.spec
    fidget = isinstance(spec, Standing | Sitting) and spec.fidget
    fidget = fidget or (isinstance(spec, Rest) and spec.mode == "fidget")
    a, b = _window(t, p.t0, p.t1 + p.trans_next_s)
    tw = t[a:b]
    if tw.size == 0:
        return
    env = _Env.of(tw, p)
    sitting = isinstance(spec, Sitting) or (isinstance(spec, Rest) and spec.posture != "standing")
    if fidget:
        knot = 0.8
        sd = {"roll": 1.2, "pitch": 1.5, "yaw": 6.0, "ap": 0.02, "ml": 0.02, "z": 0.008}
        if sitting:
            sd = {"roll": 0.8, "pitch": 2.0, "yaw": 3.0, "ap": 0.005, "ml": 0.005, "z": 0.004}
    else:
        knot = 1.5
        sd = {
            k: v * sway
            for k, v in {"roll": 0.12, "pitch": 0.2, "yaw": 0.3, "ap": 0.003, "ml": 0.003, "z": 0.001}.items()
        }
        if sitting:
            sd = {k: v * 0.5 for k, v in sd.items()}
    ch.roll.add_at(a, env.apply(_smooth_noise(tw, rng, knot, sd["roll"] * DEG)))
    ch.pitch.add_at(a, env.apply(_smooth_noise(tw, rng, knot, sd["pitch"] * DEG)))
    ch.yaw_osc.add_at(a, env.apply(_smooth_noise(tw, rng, knot * 2, sd["yaw"] * DEG)))
    ch.s_ap.add_at(a, env.apply(_smooth_noise(tw, rng, knot, sd["ap"])))
    ch.s_ml.add_at(a, env.apply(_smooth_noise(tw, rng, knot, sd["ml"])))
    ch.z.add_at(a, env.apply(_smooth_noise(tw, rng, knot, sd["z"])))


# ---------------------------------------------------------------------------------------------- assembly
def build(scenario: Scenario, rng: np.random.Generator) -> Kinematics:
    """Build the pelvis trajectory and the event truth for a scenario."""
    fs = scenario.sensor.sampling_rate_hz
    plans = plan(scenario)
    n = round(plans[-1].t1 * fs)
    t = np.arange(n, dtype=np.float64) / fs
    ch = Channels.zeros(n)
    subj = scenario.subject

    first = plans[0].pose
    ch.pitch = ch.pitch + _baseline(t, plans, [p.pose.pitch_deg * DEG for p in plans], first.pitch_deg * DEG)
    ch.z = ch.z + _baseline(t, plans, [p.pose.z_m for p in plans], first.z_m)
    ch.speed = _baseline(t, plans, [p.pose.speed_mps for p in plans], 0.0)
    ch.roll = ch.roll + subj.standing_obliquity_deg * DEG
    prev = first
    for p in plans[1:]:
        if abs(p.pose.z_m - prev.z_m) > 0.2 and abs(p.pose.pitch_deg) < 45 and abs(prev.pitch_deg) < 45:
            a, b = _window(t, p.t0, p.t0 + p.trans_s)
            s = smoothstep_jet(t[a:b], p.t0, p.trans_s)
            ch.pitch.add_at(a, s * Jet(1.0 - s.v, -s.d1, -s.d2) * (4.0 * TRANSITION_TILT_DEG * DEG))
        prev = p.pose

    steps = _Steps()
    reps = _Reps()
    for p in plans:
        spec = p.spec
        if isinstance(spec, Walking | Running):
            _gait(t, p, ch, rng, steps)
        elif isinstance(spec, Rest) and spec.mode == "walk":
            half = max(spec.duration_s / 2.0 - 1.5, 0.0)
            turns = [Turn(at_s=half, angle_deg=180.0, duration_s=3.0)] if spec.duration_s > 8.0 else []
            walk = Walking(duration_s=spec.duration_s, speed_mps=1.0, cadence_spm=100.0, turns=turns)
            wp = _Plan(p.index, walk, p.t0, p.t1, p.pose, p.trans_s, p.trans_next_s, p.activity_code)
            _gait(t, wp, ch, rng, steps)
        elif isinstance(spec, ExerciseSet | Hold):
            _exercise(t, p, ch, rng, reps)
        else:
            _still(t, p, ch, rng, subj.sway)

    # lean into turns: atan(v * yaw_rate / g), toward the inside (left turn -> left side lower)
    lean = jatan(ch.speed * ch.heading_rate * (1.0 / G))
    ch.roll = ch.roll + (-lean)

    activity = np.zeros(n, dtype=np.int8)
    quiet = np.zeros(n, dtype=bool)
    for p in plans:
        a, b = _window(t, p.t0, p.t1)
        activity[a:b] = p.activity_code
        if p.quiet:
            qa, qb = _window(t, p.t0 + p.trans_s, p.t1)
            quiet[qa:qb] = True

    roll_deg = ch.roll.v / DEG
    steps_truth = _steps_truth(t, roll_deg, quiet, steps)
    pitch_deg = ch.pitch.v / DEG
    reps_truth, sets_truth, holds_truth = _reps_truth(t, roll_deg, pitch_deg, ch.z.v, reps)
    segs = [SegmentTruth(p.index, p.spec.activity, p.t0, p.t1, p.trans_s, p.spec.label) for p in plans]
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


def _steps_truth(t: FloatArray, roll_deg: FloatArray, quiet: NDArray[np.bool_], s: _Steps) -> StepsTruth:
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
        step_time_s=cat(s.step_time),
        contact_time_s=cat(s.contact),
        vertical_oscillation_m=cat(s.vo),
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
            kept.append(p.spec.model_copy(update={"duration_s": remaining}))
        break
    if not kept:
        first = plan(scenario)[0]
        raise ScenarioError(
            f"duration {duration_s:g} s is shorter than the first segment's transition and minimum "
            f"({first.trans_s + 0.5:.1f} s); give a longer duration",
            key="duration_s",
        )
    return scenario.model_copy(update={"segments": kept})
