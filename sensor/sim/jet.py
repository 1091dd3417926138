"""Second-order jets: arrays of a signal's value and its first two time derivatives, propagated exactly.

Every trajectory channel of the simulator (pelvis angles, positions, speed) is a :class:`Jet`. Sums, products and
smooth functions of jets follow the chain and product rules, so velocities, accelerations and angular rates are
exact derivatives of the positions and angles (no numerical differentiation anywhere).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


@dataclass(slots=True)
class Jet:
    """Value ``v`` and derivatives ``d1 = dv/dt``, ``d2 = d2v/dt2`` on a time grid (same shapes)."""

    v: FloatArray
    d1: FloatArray
    d2: FloatArray

    @classmethod
    def zeros(cls, n: int) -> Jet:
        return cls(np.zeros(n), np.zeros(n), np.zeros(n))

    @classmethod
    def const(cls, value: float, n: int) -> Jet:
        return cls(np.full(n, float(value)), np.zeros(n), np.zeros(n))

    def __add__(self, other: Jet | float) -> Jet:
        if isinstance(other, Jet):
            return Jet(self.v + other.v, self.d1 + other.d1, self.d2 + other.d2)
        return Jet(self.v + other, self.d1, self.d2)

    __radd__ = __add__

    def __neg__(self) -> Jet:
        return Jet(-self.v, -self.d1, -self.d2)

    def __sub__(self, other: Jet | float) -> Jet:
        return self + (-other)

    def __mul__(self, other: Jet | float | FloatArray) -> Jet:
        if isinstance(other, Jet):
            return Jet(
                self.v * other.v,
                self.d1 * other.v + self.v * other.d1,
                self.d2 * other.v + 2.0 * self.d1 * other.d1 + self.v * other.d2,
            )
        # a constant (scalar, or per-sample piecewise constant whose jumps fall where the jet is flat)
        return Jet(self.v * other, self.d1 * other, self.d2 * other)

    __rmul__ = __mul__

    def slice(self, start: int, stop: int) -> Jet:
        return Jet(self.v[start:stop], self.d1[start:stop], self.d2[start:stop])

    def add_at(self, start: int, other: Jet) -> None:
        """Add ``other`` in place to samples ``start : start + len(other)``."""
        stop = start + other.v.shape[0]
        self.v[start:stop] += other.v
        self.d1[start:stop] += other.d1
        self.d2[start:stop] += other.d2


def compose(f: FloatArray, f1: FloatArray, f2: FloatArray, x: Jet) -> Jet:
    """``f(x(t))`` given ``f, f', f''`` evaluated at ``x.v`` (chain rule)."""
    return Jet(f, f1 * x.d1, f2 * x.d1 * x.d1 + f1 * x.d2)


def jsin(x: Jet) -> Jet:
    s, c = np.sin(x.v), np.cos(x.v)
    return compose(s, c, -s, x)


def jcos(x: Jet) -> Jet:
    s, c = np.sin(x.v), np.cos(x.v)
    return compose(c, -s, -c, x)


def jatan(x: Jet) -> Jet:
    d = 1.0 / (1.0 + x.v * x.v)
    return compose(np.arctan(x.v), d, -2.0 * x.v * d * d, x)


def smoothstep(u: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """C3 smoothstep ``S(u) = 35u^4 - 84u^5 + 70u^6 - 20u^7`` clipped to [0, 1], with ``S', S'', S'''``.

    S goes from 0 to 1 with its first three derivatives zero at both ends, so pieces glued with it are C3.
    """
    x = np.clip(u, 0.0, 1.0)
    x2 = x * x
    x3 = x2 * x
    s = x3 * x * (35.0 + x * (-84.0 + x * (70.0 - 20.0 * x)))
    s1 = 140.0 * x3 * (1.0 - x) ** 3
    s2 = 420.0 * x2 * (1.0 - x) ** 2 * (1.0 - 2.0 * x)
    s3 = 840.0 * x * (1.0 - x) * (1.0 - 5.0 * x + 5.0 * x2)
    return s, s1, s2, s3


def smoothstep_jet(t_s: FloatArray, t0_s: float, duration_s: float) -> Jet:
    """Jet of ``S((t - t0) / duration)``: 0 before ``t0``, 1 after ``t0 + duration``."""
    s, s1, s2, _ = smoothstep((t_s - t0_s) / duration_s)
    return Jet(s, s1 / duration_s, s2 / duration_s**2)


def bump(u: FloatArray, peak: float) -> tuple[FloatArray, FloatArray, FloatArray]:
    """A C2 bump on ``u`` in [0, 1]: ``sin^3(pi w(u))``, ``w(u) = u + c u (1 - u)`` placing the peak (=1) at ``peak``.

    Zero with zero first and second derivatives at ``u = 0`` and ``u = 1``. Returns value and d/du, d2/du2.
    """
    c = (0.5 - peak) / (peak * (1.0 - peak))
    x = np.clip(u, 0.0, 1.0)
    w = x + c * x * (1.0 - x)
    w1 = 1.0 + c * (1.0 - 2.0 * x)
    w2 = -2.0 * c
    s, co = np.sin(np.pi * w), np.cos(np.pi * w)
    f = s**3
    fw = 3.0 * np.pi * s * s * co
    fww = 3.0 * np.pi**2 * s * (2.0 * co * co - s * s)
    return f, fw * w1, fww * w1 * w1 + fw * w2
