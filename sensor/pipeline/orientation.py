"""Orientation: the up vector in the sensor frame, then pelvis roll (obliquity), pitch (anterior tilt) and yaw.

Method: a world-frame low-pass complementary filter, solved with linear filters.

The up direction ``u`` expressed in the (rotating) sensor frame obeys ``du/dt = u x w`` with ``w`` the angular
rate. Running accelerations are huge (0-3 g, free fall in flight) but average out over a stride *in the world
frame*: the mean specific force over a stride is gravity. The estimator is therefore an m-th order low-pass taken
in the world frame and carried into the sensor frame by the gyroscope. For a cascade of m first-order stages
``dy_i/dt = y_i x w + K (y_{i-1} - y_i)`` with ``y_0 = acc / g`` this collapses (see docs/running.md) to::

    u = L(acc / g) + G(u x w),   L(s) = (K / (s + K))^m,   G(s) = (1 - L(s)) / s

a complementary pair: ``L`` keeps what the accelerometer knows (the stride-averaged gravity), ``G`` integrates
the gyroscope's transport term for everything faster. ``L`` and ``G`` are discretised with the bilinear transform
(``G`` as ``(1 - L_d(z))`` times the trapezoidal integrator, so that ``L_d + (1 - L_d) = 1`` holds exactly), and
the implicit ``u`` on the right is solved by a few fixed-point (Picard) iterations, each a causal linear filter
with its own state, so the result is independent of chunk sizes. The collapse to one ``u x w`` term is exact only
when every stage's output equals ``u``; the first stage still carries the 0-3 g vertical swing of running, and its
product with the stride-frequency roll rate would rectify into a roll offset of ~0.6 deg for an asymmetric runner.
Each iteration therefore first removes the vertical excess ``((acc/g) . u - 1) u`` with the previous iterate
``u`` (a world-vertical quantity, so the world-frame mean is unchanged), which brings that offset below 0.05 deg
in simulation. With ``tau = 1 s`` and ``m = 3`` a 1.4 Hz
stride oscillation of the linear acceleration is attenuated ~700x (0.03 deg for a 3 m/s^2 lateral sway), foot
impacts and flight phases do not disturb the estimate, and a residual gyroscope bias ``b`` only tilts it by
about ``m tau b`` (a constant offset that the drop's neutral removes). Compared with imufusion/Madgwick/Mahony
(a first-order correction of the body-frame acceleration with rejection heuristics) nothing is gated and the
stride harmonics are removed before they can tilt the estimate (compare the complementary-filter literature:
Mahony et al. 2008, IEEE TAC 53:1203; stride-averaged gravity as in Moe-Nilssen 1998, Clin Biomech 13:320).

Known limit: in a sustained turn the centripetal acceleration is a genuine low-frequency world-frame
acceleration; the estimate slowly follows the apparent vertical (time constant ~ m tau) and the runner's lean is
partly lost; it comes back within a few seconds after the turn. Steps in turns are flagged (see ``gait``).
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
from numpy.typing import NDArray
from scipy import signal

from sensor.frames import STANDARD_GRAVITY_MPS2
from sensor.pipeline.filters import StatefulFilter, clip, lfilter_zi_call, row_dot

FloatArray = NDArray[np.float64]

DEFAULT_TAU_S: Final = 1.0
DEFAULT_ORDER: Final = 3
DEFAULT_ITERATIONS: Final = 3
_BLOCK: Final = 32768  # samples per block of a long input (GravityFilter.feed)


def complementary_pair(
    sampling_rate_hz: float, tau_s: float = DEFAULT_TAU_S, order: int = DEFAULT_ORDER
) -> tuple[tuple[FloatArray, FloatArray], tuple[FloatArray, FloatArray]]:
    """Discrete ``(b, a)`` of the low-pass ``L`` and of the gyro branch ``G = (1 - L) * integrator``.

    Coefficients are polynomials in ``z^-1``. ``L`` is ``(K/(s+K))^order`` mapped by the bilinear transform.
    """
    k = 1.0 / tau_s
    num = np.array([k**order])
    den = np.poly1d([1.0, k]) ** order
    b_l, a_l = signal.bilinear(num, den.coeffs, fs=sampling_rate_hz)
    b_l = np.asarray(b_l, dtype=np.float64)
    a_l = np.asarray(a_l, dtype=np.float64)
    b_l = b_l * (a_l.sum() / b_l.sum())  # exact unit DC gain despite rounding
    m = max(a_l.size, b_l.size)
    diff = np.zeros(m)
    diff[: a_l.size] += a_l
    diff[: b_l.size] -= b_l  # numerator of 1 - L (in z^-1), has a root at z = 1
    # divide by (1 - z^-1): in powers of w = z^-1, coefficients low -> high; q_j = sum_{i<=j} diff_i
    q = np.cumsum(diff)[:-1]
    dt = 1.0 / sampling_rate_hz
    b_g = np.convolve(q, np.array([1.0, 1.0]) * dt / 2.0)  # trapezoid integrator numerator (1 + z^-1) dt/2
    return (b_l, a_l), (b_g, a_l.copy())


class GravityFilter:
    """Streaming estimate of the unit up vector in the sensor frame (see the module docstring).

    Implementation note: ``L(y) + G(c) = I(c) + L(y - I(c))`` with ``I`` the trapezoidal integrator, so each
    iteration costs one first-order and one m-th order recursive filter on component rows ``(3, n)``.

    Args:
        sampling_rate_hz: nominal sampling rate.
        tau_s: time constant of each low-pass stage.
        order: number of stages ``m``.
        iterations: fixed-point iterations for the implicit transport term.
    """

    def __init__(
        self,
        sampling_rate_hz: float,
        *,
        tau_s: float = DEFAULT_TAU_S,
        order: int = DEFAULT_ORDER,
        iterations: int = DEFAULT_ITERATIONS,
    ) -> None:
        (b_l, a_l), _ = complementary_pair(sampling_rate_hz, tau_s, order)
        dt = 1.0 / sampling_rate_hz
        self._b_l, self._a_l = b_l, a_l
        self._b_i, self._a_i = np.array([dt / 2.0, dt / 2.0]), np.array([1.0, -1.0])
        self._iterations = iterations
        self.reset()

    def reset(self) -> None:
        """Forget the state: the next sample starts the filter as if the sensor had been still before it."""
        self._lp = _RowFilter(self._b_l, self._a_l, steady=True)
        self._lp_iter = [_RowFilter(self._b_l, self._a_l, steady=True) for _ in range(self._iterations)]
        self._int = [_RowFilter(self._b_i, self._a_i, steady=False) for _ in range(self._iterations)]

    def feed(self, acc_mps2: FloatArray, gyr_radps: FloatArray | None) -> FloatArray:
        """Unit up vectors ``(n, 3)`` in the sensor frame for ``acc`` and bias-corrected ``gyr`` (``(n, 3)``).

        Without gyroscope the estimate is the low-pass of the acceleration alone (sensor-frame average).
        """
        n = acc_mps2.shape[0]
        if n == 0:
            return np.zeros((0, 3))
        if n > _BLOCK:
            # long inputs in blocks whose working arrays stay in cache (~15 % faster on an hour); the filter is
            # chunk-size invariant, so the result is the same
            out = np.empty((n, 3))
            for a in range(0, n, _BLOCK):
                b = min(n, a + _BLOCK)
                out[a:b] = self._feed(acc_mps2[a:b], None if gyr_radps is None else gyr_radps[a:b])
            return out
        return self._feed(acc_mps2, gyr_radps)

    def _feed(self, acc_mps2: FloatArray, gyr_radps: FloatArray | None) -> FloatArray:
        n = acc_mps2.shape[0]
        a0 = np.multiply(acc_mps2.T, 1.0 / STANDARD_GRAVITY_MPS2, out=np.empty((3, n)))  # rows (3, n), one pass
        sq = np.empty((3, n))  # work rows, reused by the steps below (no temporaries per operation)
        s1 = np.empty(n)
        u = _normalize_rows(self._lp(a0), s1)
        if gyr_radps is not None:
            w = np.ascontiguousarray(gyr_radps.T)
            # the cross product u x w row-wise: c0 = u1 w2 - u2 w1, c1 = u2 w0 - u0 w2, c2 = u0 w1 - u1 w0
            w0, w1, w2 = w[0], w[1], w[2]
            y = np.empty((3, n))
            c = np.empty((3, n))
            mul, add, sub = np.multiply, np.add, np.subtract
            for lp, integ in zip(self._lp_iter, self._int, strict=True):
                # remove the vertical part of the linear acceleration (|f_v| swings 0-3 g in running) with the
                # previous iterate's up: what is left is gravity plus the much smaller horizontal acceleration.
                # y = a0 - ((a0 . u) - 1) u, the dot product summed row 0 + row 1 + row 2
                _dot_rows(a0, u, s1)
                sub(s1, 1.0, out=s1)
                mul(s1, u, out=sq)
                sub(a0, sq, out=y)
                mul(u[1], w2, out=c[0])
                mul(u[2], w1, out=s1)
                sub(c[0], s1, out=c[0])
                mul(u[2], w0, out=c[1])
                mul(u[0], w2, out=s1)
                sub(c[1], s1, out=c[1])
                mul(u[0], w1, out=c[2])
                mul(u[1], w0, out=s1)
                sub(c[2], s1, out=c[2])
                ic = integ(c)
                sub(y, ic, out=y)
                v = lp(y)
                add(ic, v, out=v)
                u = _normalize_rows(v, s1)
        return np.ascontiguousarray(u.T)


class _RowFilter:
    """``lfilter`` along axis 1 of ``(3, n)`` rows with carried state (steady start or zero start)."""

    __slots__ = ("_a", "_b", "_steady", "_zi")

    def __init__(self, b: FloatArray, a: FloatArray, *, steady: bool) -> None:
        self._b, self._a, self._steady = b, a, steady
        self._zi: FloatArray | None = None

    def __call__(self, x: FloatArray) -> FloatArray:
        if self._zi is None:
            order = max(self._a.size, self._b.size) - 1
            if self._steady:
                self._zi = np.outer(x[:, 0], signal.lfilter_zi(self._b, self._a))
            else:
                self._zi = np.zeros((x.shape[0], order))
        y, self._zi = lfilter_zi_call(self._b, self._a, x, 1, self._zi)
        return y


def _dot_rows(a: FloatArray, b: FloatArray, out: FloatArray) -> FloatArray:
    """``(a0 b0 + a1 b1) + a2 b2`` per column of the rows ``(3, n)``, into ``out``. einsum adds a column's products
    in that order in one pass, except for a single column (n = 1), which it sums in another order: that one by
    hand (the same numbers for any chunk size)."""
    if a.shape[1] > 1:
        res: FloatArray = np.einsum("ij,ij->j", a, b, out=out)
        return res
    p = a * b
    np.add(p[0], p[1], out=out)
    np.add(out, p[2], out=out)
    return out


def _normalize_rows(v: FloatArray, s1: FloatArray) -> FloatArray:
    """``v / max(|v|, 1e-12)`` per column of the rows ``(3, n)``, in place (``s1``: a work row); ``|v|`` is
    ``sqrt(v0^2 + v1^2 + v2^2)`` added in that order."""
    _dot_rows(v, v, s1)
    np.sqrt(s1, out=s1)
    np.maximum(s1, 1e-12, out=s1)
    np.divide(v, s1, out=v)
    return v


def pelvis_angles_deg(up_pelvis: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Roll (obliquity) and pitch (anterior tilt) from the world up vector expressed in the pelvis frame.

    With ``R = Rz(yaw) Rx(roll) Ry(pitch)`` (see :mod:`sensor.frames`), ``R^T e_z = (-sin p cos r, sin r,
    cos p cos r)``, hence ``roll = asin(u_ml)`` and ``pitch = atan2(-u_ap, u_v)``.
    """
    roll = np.degrees(np.arcsin(clip(up_pelvis[:, 1], -1.0, 1.0)))
    pitch = np.degrees(np.arctan2(-up_pelvis[:, 0], up_pelvis[:, 2]))
    return roll, pitch


class YawIntegrator:
    """Heading (yaw) from the world-vertical angular rate ``u . w``, trapezoidal integration, degrees.

    The Euler-rate term ``-sin(roll) d(pitch)/dt`` of the Z-X-Y sequence is neglected (a few tenths of a
    degree of oscillation at running pelvis angles); yaw drifts with the residual vertical gyro bias.
    """

    def __init__(self, sampling_rate_hz: float) -> None:
        dt = 1.0 / sampling_rate_hz
        self._int = StatefulFilter(np.array([dt / 2.0, dt / 2.0]), np.array([1.0, -1.0]), steady_start=False)

    def feed(self, up_sensor: FloatArray, gyr_radps: FloatArray) -> FloatArray:
        return self.feed_rate(row_dot(up_sensor, gyr_radps))

    def feed_rate(self, rate_radps: FloatArray) -> FloatArray:
        """Yaw (deg) from the world-vertical rate ``u . w`` itself (``row_dot(up_sensor, gyr_radps)``)."""
        return np.degrees(self._int(rate_radps))


def rad(deg: float) -> float:
    return math.radians(deg)
