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
from sensor.pipeline.filters import StatefulFilter, clip, filled, nan_to, window_rows
from sensor.pipeline.gait import Step

FloatArray = NDArray[np.float64]
_amin, _amax, _any = np.minimum.reduce, np.maximum.reduce, np.logical_or.reduce  # (the array methods' cores)
_ROWS = 256  # windows per padded block in _detrended_range (a few hundred kB: stays in cache)
# every field of a step event is set; one set for all of them (an event is frozen, so pydantic never changes its
# fields-set in place: copy/model_copy give the copy a copy of it). Half the long-lived objects per step: fewer
# full garbage collections while an hour of events accumulates
_FIELDS_SET: set[str] = set(StepEvent.model_fields)


def height_filter(sampling_rate_hz: float, f0_hz: float = 0.2, zeta: float = 0.7) -> StatefulFilter:
    """Vertical acceleration (m/s^2) -> drift-free vertical position (m)."""
    w0 = 2 * math.pi * f0_hz
    den = np.polymul([1.0, 2 * zeta * w0, w0**2], [1.0, 2 * zeta * w0, w0**2])
    b, a = signal.bilinear([1.0, 0.0, 0.0], den, fs=sampling_rate_hz)
    return StatefulFilter(np.asarray(b), np.asarray(a), steady_start=False)


def _windows(a: NDArray[np.int64], b: NDArray[np.int64], n: int) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    """Index matrix ``(steps, max_len)`` of the windows ``[a_k, b_k)`` (clipped to ``n``) and its validity mask."""
    length = np.maximum(b - a, 1)
    w = int(_amax(length))
    j = np.arange(w)
    idx = a[:, None] + j[None, :]
    mask = j[None, :] < length[:, None]
    return clip(idx, 0, n - 1), mask


def _range(x: FloatArray, a: NDArray[np.int64], b: NDArray[np.int64]) -> FloatArray:
    """``max - min`` of ``x`` over each window ``[a_k, b_k)`` as :func:`_windows` clips it (at least one sample,
    indices past the end read the last sample), by ``reduceat`` over the interleaved window bounds: no index
    matrix, the same values."""
    return _ranges((x,), a, b)[0]


def _ranges(xs: Sequence[FloatArray], a: NDArray[np.int64], b: NDArray[np.int64]) -> list[FloatArray]:
    """:func:`_range` of each signal of ``xs`` (of one length) over the same windows (their bounds made once)."""
    n = xs[0].size
    lo = np.minimum(a, n - 1)
    hi = np.maximum(np.minimum(b, n), lo + 1)
    at_end = hi >= n  # reduceat cannot take n as a bound: those windows (the last few) one by one
    bounds = np.empty(2 * lo.size, dtype=np.intp)
    bounds[0::2] = np.where(at_end, 0, lo)
    bounds[1::2] = np.where(at_end, 0, hi)
    last = at_end.nonzero()[0].tolist()
    outs: list[FloatArray] = []
    for x in xs:
        out: FloatArray = np.maximum.reduceat(x, bounds)[0::2] - np.minimum.reduceat(x, bounds)[0::2]
        for k in last:
            w = x[lo[k] :]
            out[k] = _amax(w) - _amin(w)
        outs.append(out)
    return outs


def _detrended_range(
    x: FloatArray, a: NDArray[np.int64], length: NDArray[np.int64], x0: FloatArray, x1: FloatArray
) -> FloatArray:
    """``max - min`` over each window ``[a_k, a_k + length_k)`` (``length_k >= 2``; indices clipped to ``x``, as
    :func:`_windows` does) of ``x`` minus the straight line from ``x0_k`` to ``x1_k``: ``x0 + (x1 - x0) j /
    (length - 1)`` at offset ``j``.

    The windows as rows of a padded matrix, ``_ROWS`` steps at a time (the working rows stay in cache; was one flat
    array of every window built by ``np.repeat`` and a fancy index per sample, ~3x slower): each row a slice copy
    (:func:`window_rows`), the line taken off in place, and the positions past a window's end set to its first
    value (so that they change neither its max nor its min). The same values per sample (the same operations), and
    max and min are exact in any order."""
    n = x.size
    w = int(_amax(length))
    lo_pad = max(0, -int(_amin(a)))
    hi_pad = max(0, int(_amax(a)) + w - n)
    if lo_pad or hi_pad:  # indices clipped to x: x extended by copies of its end samples
        x = np.concatenate([np.full(lo_pad, x[0]), x, np.full(hi_pad, x[-1])])
        a = a + lo_pad
    j = np.arange(w, dtype=np.float64)
    den = np.maximum(length - 1, 1).astype(np.float64)
    dx = x1 - x0
    out = np.empty(a.size)
    for s in range(0, a.size, _ROWS):
        e = s + _ROWS
        rows = window_rows(x, a[s:e], w)
        line = np.divide(j, den[s:e, None])  # j / (length - 1), as true division of the two floats
        np.multiply(line, dx[s:e, None], out=line)
        np.add(line, x0[s:e, None], out=line)
        np.subtract(rows, line, out=rows)
        if int(_amin(length[s:e])) < w:
            np.copyto(rows, rows[:, :1], where=j[None, :] >= length[s:e, None])
        out[s:e] = np.maximum.reduce(rows, axis=1)
        out[s:e] -= np.minimum.reduce(rows, axis=1)
    return out


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
    """The :class:`StepEvent` of each completed step (``neutral_before[k]``: standing neutral or None).

    Vectorised over the steps: every window is a row of an index matrix or a run of one flat array.
    """
    out: list[StepEvent] = []
    if not steps:
        return out
    lo = buf.start
    hi = buf.complete_end
    t = buf.get("t_s", lo, hi)
    n = t.size
    pos = np.arange(n, dtype=np.float64)

    # sample positions -> times, one interpolation for the four event kinds of every step
    nan = math.nan
    x = np.array(
        [st.ic - lo for st in steps]
        + [nan if st.next_ic is None else st.next_ic - lo for st in steps]
        + [nan if st.prev_ic is None else st.prev_ic - lo for st in steps]
        + [nan if st.to is None else st.to - lo for st in steps],
        dtype=np.float64,
    )
    t_ic, t_next, t_prev, t_to = np.interp(x, pos, t, left=np.nan, right=np.nan).reshape(4, len(steps))
    # the stride around each step: previous IC to next IC, a missing end extrapolated by one step as in
    # sensor.definitions.stride_window_s (an isolated step gets +-1 s)
    span_fwd = np.where(np.isnan(t_next), t_ic - t_prev, t_next - t_ic)
    span_back = np.where(np.isnan(t_prev), t_next - t_ic, t_ic - t_prev)
    start_s = np.where(np.isnan(t_prev), t_ic - nan_to(span_back, 1.0), t_prev)
    stop_s = np.where(np.isnan(t_next), t_ic + nan_to(span_fwd, 1.0), t_next)
    # the window bounds as sample indices, one binary search (side "left") for the four kinds of every step
    nx_s = np.where(np.isnan(t_next), stop_s, t_next)
    ia, ib, i_ic, i_nx = t.searchsorted(np.concatenate([start_s, stop_s, t_ic, nx_s])).reshape(4, len(steps))
    ib = np.maximum(ib, ia + 2)
    i_nx = np.maximum(i_nx, i_ic + 2)
    sides: list[Side] = [st.side if st.side is not None else "left" for st in steps]
    n_steps = len(steps)
    drop = filled(n_steps, np.nan)
    neutral_src: list[NeutralSource | None] = [None] * n_steps
    obl_r = tilt_r = rot_r = filled(n_steps, np.nan)
    in_turn = np.zeros(n_steps, dtype=bool)
    if has_gyr:
        roll = buf.get("roll", lo, hi)
        pitch = buf.get("pitch", lo, hi)
        yaw = buf.get("yaw", lo, hi)
        neutral = np.array([math.nan if nb is None else nb for nb in neutral_before], dtype=np.float64)
        no_standing = [k for k, nb in enumerate(neutral_before) if nb is None]
        if no_standing:  # the mean over the stride, for the steps without a standing neutral
            sw_idx, sw_mask = _windows(ia, ib, n)
            if len(no_standing) < n_steps:
                sw_idx, sw_mask = sw_idx[no_standing], sw_mask[no_standing]
            rw = roll[sw_idx]  # (every step: the matrices as they are, no copy of their rows)
            m = sw_mask
            neutral[no_standing] = np.where(m, rw, 0.0).sum(axis=1) / m.sum(axis=1)
        neutral_src = ["standing" if nb is not None else "stride" for nb in neutral_before]
        has_to = ~np.isnan(t_to)
        if _any(has_to):
            sel = has_to.nonzero()[0]
            drop[sel] = pelvic_drop_deg(t, roll, t_ic[sel], t_to[sel], [sides[k] for k in sel], neutral[sel])
        obl_r, tilt_r = _ranges((roll, pitch), ia, ib)
        # a step whose stride starts at the buffer's complete end (its window is empty) must not index past it
        ia_in = clip(ia, 0, n - 1)
        y0 = yaw[ia_in]
        y1 = yaw[clip(ib - 1, 0, n - 1)]
        rot_r = _detrended_range(yaw, ia, ib - ia, y0, y1)
        dur = t[clip(ib - 1, 0, n - 1)] - t[ia_in]
        rate = np.radians(np.abs(y1 - y0)) / np.where(dur > 0, dur, np.inf)
        v = np.array([running_speed_mps if st.running else walking_speed_mps for st in steps])
        in_turn = np.degrees(np.arctan(v * rate / STANDARD_GRAVITY_MPS2)) > turn_lean_deg
    vo = _range(buf.get("height", lo, hi), i_ic, i_nx)
    # per step in plain Python floats (``tolist``: the same values as ``float(arr[k])``, without a numpy scalar
    # per access)
    t_ic_l, t_next_l, t_to_l = t_ic.tolist(), t_next.tolist(), t_to.tolist()
    drop_l, vo_l, turn_l = drop.tolist(), vo.tolist(), in_turn.tolist()
    obl_l, tilt_l, rot_l = obl_r.tolist(), tilt_r.tolist(), rot_r.tolist()
    isnan = math.isnan
    tanh = math.tanh
    # the StepEvent of each step without pydantic's validation (values are computed here, in range by
    # construction; 10k steps an hour): ``StepEvent.model_construct(**values)`` walks the fields for aliases and
    # defaults; with every field given the result is the same object state: ``__dict__`` = the values, every
    # field counted as set
    new, set_attr, fields_set = StepEvent.__new__, object.__setattr__, _FIELDS_SET
    for st, ti, tn, tt, d, side, src, obl, tilt, rot, vo_k, turn in zip(
        steps, t_ic_l, t_next_l, t_to_l, drop_l, sides, neutral_src, obl_l, tilt_l, rot_l, vo_l, turn_l, strict=True
    ):
        step_time = None if isnan(tn) else tn - ti
        contact = None if isnan(tt) else tt - ti
        flight = None
        if st.running and step_time is not None and contact is not None:
            flight = step_time - contact
            flight = flight if flight > 0.0 else 0.0  # max(0.0, flight)
        conf = mounting_confidence * (0.5 + 0.5 * tanh(st.side_margin)) * (1.0 if contact is not None else 0.7)
        conf = conf if conf > 0.0 else 0.0  # min(1.0, max(0.0, conf)) without the builtin calls
        conf = conf if conf < 1.0 else 1.0
        ev = new(StepEvent)
        set_attr(
            ev,
            "__dict__",
            {
                "kind": "step",
                "t_s": ti,
                "side": side,
                "t_toe_off_s": None if contact is None else tt,
                "pelvic_drop_deg": None if isnan(d) else d,
                "neutral": src if not isnan(d) else None,
                "obliquity_range_deg": None if not has_gyr else obl,
                "tilt_range_deg": None if not has_gyr else tilt,
                "rotation_range_deg": None if not has_gyr else rot,
                "step_time_s": step_time,
                "contact_time_s": contact,
                "flight_time_s": flight,
                "cadence_spm": None if step_time is None or step_time <= 0 else 60.0 / step_time,
                "vertical_oscillation_m": vo_k,
                "in_turn": turn,
                "activity": "running" if st.running else "walking",
                "confidence": conf,
            },
        )
        set_attr(ev, "__pydantic_fields_set__", fields_set)
        set_attr(ev, "__pydantic_extra__", None)
        set_attr(ev, "__pydantic_private__", None)
        out.append(ev)
    return out
