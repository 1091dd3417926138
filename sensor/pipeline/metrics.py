"""Per-step metrics, computed for a batch of completed steps at once.

* ``pelvic_drop_deg``: exactly :func:`sensor.definitions.pelvic_drop_deg` (largest obliquity toward the swing
  side from IC to TO, from neutral). Neutral is the mean obliquity of the latest quiet standing period of at
  least 2 s that ended before the step (``neutral="standing"``), else the mean over the surrounding stride,
  previous IC to next IC (``neutral="stride"``, :func:`sensor.definitions.stride_neutral_deg`).
* ``obliquity_range_deg``, ``tilt_range_deg``: max - min of roll / pitch over the surrounding stride (previous IC
  to next IC: one full gait cycle). ``rotation_range_deg``: the same for yaw after removing the straight line
  between the stride's end points (the heading change of a turn or the gyro drift).
* ``step_time_s`` IC to next IC, ``cadence_spm = 60 / step_time_s``; ``contact_time_s`` IC to TO;
  ``flight_time_s`` TO to next IC (running only).
* ``vertical_oscillation_m``: max - min over the step of the pelvis height from the world-vertical acceleration
  integrated twice through a drift-free band-pass ``s^2 / (s^2 + 2 zeta w0 s + w0^2)^2 / s^2`` (w0 = 2 pi 0.2
  Hz, zeta = 0.7: below 0.5 % amplitude error above 1.3 Hz).
* ``in_turn``: the stride's mean heading rate ``w`` gives the lean a runner needs, ``atan(v w / g)``
  (definitions.md) with ``v`` the configured running or walking speed; above ``turn_lean_deg`` the step is in a
  turn, kept out of drop summaries and trends.
* ``confidence``: mounting confidence x side-evidence margin x edge availability.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from scipy import signal

from sensor.definitions import pelvic_drop_deg
from sensor.events import NeutralSource, StepEvent
from sensor.frames import STANDARD_GRAVITY_MPS2, Side
from sensor.pipeline.buffer import SignalBuffer
from sensor.pipeline.filters import StatefulFilter
from sensor.pipeline.gait import Step

FloatArray = NDArray[np.float64]


def height_filter(sampling_rate_hz: float, f0_hz: float = 0.2, zeta: float = 0.7) -> StatefulFilter:
    """Vertical acceleration (m/s^2) -> drift-free vertical position (m)."""
    w0 = 2 * math.pi * f0_hz
    den = np.polymul([1.0, 2 * zeta * w0, w0**2], [1.0, 2 * zeta * w0, w0**2])
    b, a = signal.bilinear([1.0, 0.0, 0.0], den, fs=sampling_rate_hz)
    return StatefulFilter(np.asarray(b), np.asarray(a), steady_start=False)


def _interp_t(buf: SignalBuffer, x: float) -> float:
    i = math.floor(x)
    f = x - i
    t0 = buf.value("t_s", i)
    if f == 0.0:
        return t0
    return t0 + f * (buf.value("t_s", i + 1) - t0)


def step_events(
    steps: Sequence[Step],
    buf: SignalBuffer,
    *,
    has_gyr: bool,
    neutral_before: list[float | None],
    mounting_confidence: float,
    running_speed_mps: float,
    walking_speed_mps: float,
    turn_lean_deg: float,
) -> list[StepEvent]:
    """The :class:`StepEvent` of each completed step (``neutral_before[k]``: standing neutral or None)."""
    out: list[StepEvent] = []
    if not steps:
        return out
    t_ic = np.array([_interp_t(buf, s.ic) for s in steps])
    t_next = np.array([np.nan if s.next_ic is None else _interp_t(buf, s.next_ic) for s in steps])
    t_prev = np.array([np.nan if s.prev_ic is None else _interp_t(buf, s.prev_ic) for s in steps])
    t_to = np.array([np.nan if s.to is None else _interp_t(buf, s.to) for s in steps])
    # the stride around each step: previous IC to next IC, a missing end extrapolated by one step as in
    # sensor.definitions.stride_window_s (an isolated step gets +-1 s)
    span_fwd = np.where(np.isnan(t_next), t_ic - t_prev, t_next - t_ic)
    span_back = np.where(np.isnan(t_prev), t_next - t_ic, t_ic - t_prev)
    start_s = np.where(np.isnan(t_prev), t_ic - np.nan_to_num(span_back, nan=1.0), t_prev)
    stop_s = np.where(np.isnan(t_next), t_ic + np.nan_to_num(span_fwd, nan=1.0), t_next)
    lo = buf.start
    hi = buf.complete_end
    t = buf.get("t_s", lo, hi)
    roll = buf.get("roll", lo, hi) if has_gyr else None
    pitch = buf.get("pitch", lo, hi) if has_gyr else None
    yaw = buf.get("yaw", lo, hi) if has_gyr else None
    height = buf.get("height", lo, hi)
    ia = np.searchsorted(t, start_s, side="left")
    ib = np.searchsorted(t, stop_s, side="left")
    i_ic = np.searchsorted(t, t_ic, side="left")
    i_nx = np.searchsorted(t, np.where(np.isnan(t_next), stop_s, t_next), side="left")

    sides: list[Side] = [s.side if s.side is not None else "left" for s in steps]
    drop = np.full(len(steps), np.nan)
    neutral_src: list[NeutralSource | None] = [None] * len(steps)
    if roll is not None:
        stride_neutral = np.array([float(roll[ia[k] : max(ib[k], ia[k] + 1)].mean()) for k in range(len(steps))])
        neutral = np.array(
            [nb if nb is not None else stride_neutral[k] for k, nb in enumerate(neutral_before)], dtype=np.float64
        )
        neutral_src = ["standing" if nb is not None else "stride" for nb in neutral_before]
        has_to = ~np.isnan(t_to)
        if has_to.any():
            sel = np.flatnonzero(has_to)
            drop[sel] = pelvic_drop_deg(t, roll, t_ic[sel], t_to[sel], [sides[k] for k in sel], neutral[sel])
    for k, st in enumerate(steps):
        a, b = int(ia[k]), max(int(ib[k]), int(ia[k]) + 2)
        obl_r = tilt_r = rot_r = None
        in_turn = False
        if roll is not None and pitch is not None and yaw is not None:
            obl_r = float(np.ptp(roll[a:b]))
            tilt_r = float(np.ptp(pitch[a:b]))
            yw = yaw[a:b]
            ramp = np.linspace(float(yw[0]), float(yw[-1]), yw.size)
            rot_r = float(np.ptp(yw - ramp))
            dur = float(t[b - 1] - t[a])
            rate = math.radians(abs(float(yw[-1] - yw[0]))) / dur if dur > 0 else 0.0
            v = running_speed_mps if st.running else walking_speed_mps
            in_turn = math.degrees(math.atan(v * rate / STANDARD_GRAVITY_MPS2)) > turn_lean_deg
        h = height[int(i_ic[k]) : max(int(i_nx[k]), int(i_ic[k]) + 2)]
        vo = float(np.ptp(h)) if h.size >= 2 else None
        step_time = None if np.isnan(t_next[k]) else float(t_next[k] - t_ic[k])
        contact = None if np.isnan(t_to[k]) else float(t_to[k] - t_ic[k])
        flight = None
        if st.running and step_time is not None and contact is not None:
            flight = max(0.0, step_time - contact)
        conf = mounting_confidence * (0.5 + 0.5 * math.tanh(st.side_margin)) * (1.0 if contact is not None else 0.7)
        d = float(drop[k])
        out.append(
            StepEvent(
                t_s=float(t_ic[k]),
                side=sides[k],
                t_toe_off_s=None if np.isnan(t_to[k]) else float(t_to[k]),
                pelvic_drop_deg=None if math.isnan(d) else d,
                neutral=neutral_src[k] if not math.isnan(d) else None,
                obliquity_range_deg=obl_r,
                tilt_range_deg=tilt_r,
                rotation_range_deg=rot_r,
                step_time_s=step_time,
                contact_time_s=contact,
                flight_time_s=flight,
                cadence_spm=None if step_time is None or step_time <= 0 else 60.0 / step_time,
                vertical_oscillation_m=vo,
                in_turn=in_turn,
                activity="running" if st.running else "walking",
                confidence=float(min(1.0, max(0.0, conf))),
            )
        )
    return out
