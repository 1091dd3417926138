"""Pelvic obliquity and pelvic drop, defined once for the simulator's truth and the analysis.

Conventions are in :mod:`sensor.frames`. Both ``sensor.sim`` (ground truth) and ``sensor.pipeline`` (the
estimate) call these functions, so "drop" means exactly the same thing on both sides of every accuracy figure.

References: Bramah et al. 2018, AJSM 46:3023 (contralateral pelvic drop in injured runners); the obliquity
definition is the one optical motion capture reports from the line between the hip joint centres.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np
from numpy.typing import NDArray

from sensor.errors import DataValidationError
from sensor.frames import SIDE_SIGN, Side

FloatArray = NDArray[np.float64]

QUIET_STANDING_MIN_S: Final = 2.0
"""A standing period must last at least this long to set the neutral obliquity."""


def obliquity_deg_from_rotation(r_world_from_pelvis: FloatArray) -> FloatArray:
    """Obliquity in degrees, ``asin(ML . up)``, from rotation matrices of shape ``(n, 3, 3)``.

    Column 1 of ``R`` is the pelvis ML axis in world coordinates; its Z component is ``ML . up``.
    Positive when the pelvis' left side is higher.
    """
    return np.degrees(np.arcsin(np.clip(r_world_from_pelvis[..., 2, 1], -1.0, 1.0)))


def quiet_standing_neutral_deg(t_s: FloatArray, obliquity_deg: FloatArray, standing: NDArray[np.bool_]) -> float | None:
    """Mean obliquity of the latest quiet standing period of at least 2 s, or ``None`` if there is none.

    Args:
        t_s: sample times, s.
        obliquity_deg: obliquity per sample.
        standing: True where the subject stands quietly.
    """
    if t_s.shape != obliquity_deg.shape or t_s.shape != standing.shape:
        raise DataValidationError("t_s, obliquity_deg and standing must have the same shape", field="standing")
    if not standing.any():
        return None
    edges = np.diff(np.concatenate([[0], standing.astype(np.int8), [0]]))
    starts = np.flatnonzero(edges == 1)
    stops = np.flatnonzero(edges == -1)  # exclusive
    for a, b in zip(starts[::-1], stops[::-1], strict=True):
        if t_s[b - 1] - t_s[a] >= QUIET_STANDING_MIN_S:
            return float(np.mean(obliquity_deg[a:b]))
    return None


def stride_window_s(t_ic_s: FloatArray) -> tuple[FloatArray, FloatArray]:
    """The "surrounding stride" of every step: from the previous initial contact to the next one.

    At the ends, where a neighbour is missing, the window is one stride long starting (first step) or ending
    (last step) at the nearest known contact, using the adjacent step time for the missing contact.

    Returns:
        ``(start_s, stop_s)`` per step; the window is ``start_s <= t < stop_s``.
    """
    ic = np.asarray(t_ic_s, dtype=np.float64)
    n = ic.size
    if n < 2:
        return ic - 1.0, ic + 1.0  # one isolated step: a 2 s window, the longest plausible stride
    prev = np.empty(n)
    nxt = np.empty(n)
    prev[1:] = ic[:-1]
    prev[0] = ic[0] - (ic[1] - ic[0])
    nxt[:-1] = ic[1:]
    nxt[-1] = ic[-1] + (ic[-1] - ic[-2])
    return prev, nxt


def stride_neutral_deg(t_s: FloatArray, obliquity_deg: FloatArray, t_ic_s: FloatArray) -> FloatArray:
    """Neutral per step when there is no standing period: mean obliquity over the surrounding stride."""
    start, stop = stride_window_s(t_ic_s)
    a = np.searchsorted(t_s, start, side="left")
    b = np.searchsorted(t_s, stop, side="left")
    csum = np.concatenate([[0.0], np.cumsum(obliquity_deg)])
    count = np.maximum(b - a, 1)
    out: FloatArray = (csum[b] - csum[a]) / count
    return out


def pelvic_drop_deg(
    t_s: FloatArray,
    obliquity_deg: FloatArray,
    t_ic_s: FloatArray,
    t_to_s: FloatArray,
    side: Sequence[Side],
    neutral_deg: float | FloatArray,
) -> FloatArray:
    """Pelvic drop of every step, degrees, positive when the swing side is lower than in neutral.

    For step ``k`` with stance from initial contact ``t_ic_s[k]`` to toe-off ``t_to_s[k]`` (inclusive) on
    stance side ``side[k]``::

        drop_k = max over stance of  SIDE_SIGN[side_k] * (obliquity(t) - neutral_k)

    with ``SIDE_SIGN = {"left": +1, "right": -1}`` because obliquity is positive when the left side is higher.
    A stance that holds no sample gives ``nan``.

    Args:
        t_s: sample times, s, increasing.
        obliquity_deg: obliquity per sample (see :mod:`sensor.frames`).
        t_ic_s, t_to_s: initial contact and toe-off per step, s.
        side: stance side per step.
        neutral_deg: one neutral for all steps (quiet standing) or one per step (stride neutral).
    """
    ic = np.asarray(t_ic_s, dtype=np.float64)
    to = np.asarray(t_to_s, dtype=np.float64)
    if ic.shape != to.shape or ic.size != len(side):
        raise DataValidationError(
            f"t_ic_s ({ic.size}), t_to_s ({to.size}) and side ({len(side)}) must have one entry per step",
            field="side",
        )
    sign = np.array([SIDE_SIGN[s] for s in side], dtype=np.float64)
    neutral = np.broadcast_to(np.asarray(neutral_deg, dtype=np.float64), ic.shape)
    a = np.searchsorted(t_s, ic, side="left")
    b = np.searchsorted(t_s, to, side="right")
    out = np.full(ic.size, np.nan)
    has = np.flatnonzero(b > a)
    if has.size == 0:
        return out
    # Vectorised over steps (stances may overlap in walking's double support): gather every stance sample once
    # per step it belongs to, then one maximum per step with reduceat.
    length = (b - a)[has]
    offsets = np.concatenate([[0], np.cumsum(length)[:-1]])
    idx = np.arange(int(length.sum())) - np.repeat(offsets, length) + np.repeat(a[has], length)
    vals = np.repeat(sign[has], length) * (obliquity_deg[idx] - np.repeat(neutral[has], length))
    out[has] = np.maximum.reduceat(vals, offsets)
    return out
