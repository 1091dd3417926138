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
from sensor.pipeline.filters import einsum as _einsum

FloatArray = NDArray[np.float64]

DEFAULT_TAU_S: Final = 1.0
DEFAULT_ORDER: Final = 3
DEFAULT_ITERATIONS: Final = 3
# samples per piece of a long input (GravityFilter.feed), so that its ~25 working rows stay in the 2 MB L2 cache
# (the filter alone on the speed bench's hour, 10 interleaved runs: 32,768 0.234 / 0.251 s best / median, 24,000
# 0.160 / 0.204 s, 16,000 0.175 / 0.227 s; session 8, 4 x 48,000 samples, 7 interleaved runs: 24,000 / 12,000 /
# 8,000 / 6,000 / 4,000 0.0559 / 0.0531 / 0.0517 / 0.0565 / 0.0640 s best)
_CHUNK: Final = 8000
_BLOCK_S: Final = 8.0 / 208.0  # the low-pass's block duration (8 samples at 208 Hz)
_FEW_BLOCKS: Final = 64  # up to this many blocks per call, running sums over j by np.cumsum (see _BlockIntegrator)


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

    Implementation note: ``L(y) + G(c) = I(c) + L(y - I(c))`` with ``I`` the trapezoidal integrator. ``L`` passes
    nothing above ~0.2 Hz, so it runs on the means of blocks of ``block`` samples (``L`` discretised at the block
    rate; blocks of ~38 ms on the absolute sample grid: 8 samples at 208 Hz) and is carried back to the samples
    by causal quadratic extrapolation from the last three complete blocks (a sample's value depends only on
    samples before its own block). The samples are held block-major, ``(3, block, blocks)`` (sample ``b * block +
    j`` at ``[:, j, b]``), so the per-block work is one whole-array operation per position ``j``; the integrator
    is a sum within each block plus a running sum over the block totals. Compared with ``L`` at the full rate
    (before: one recursive filter per row and sample, 7 passes of them) the up vector differs by < 0.01 deg
    (docs/running.md), at less than half the cost. Every step runs on the absolute block grid with carried
    partial sums, so the result is the same, bit for bit, for any chunk sizes.

    Args:
        sampling_rate_hz: nominal sampling rate.
        tau_s: time constant of each low-pass stage.
        order: number of stages ``m``.
        iterations: fixed-point iterations for the implicit transport term.
        block: samples per block of the low-pass (default: ~38 ms of samples; 1 runs ``L`` at the full rate).
    """

    def __init__(
        self,
        sampling_rate_hz: float,
        *,
        tau_s: float = DEFAULT_TAU_S,
        order: int = DEFAULT_ORDER,
        iterations: int = DEFAULT_ITERATIONS,
        block: int | None = None,
    ) -> None:
        d = max(1, round(sampling_rate_hz * _BLOCK_S)) if block is None else int(block)
        (b_l, a_l), _ = complementary_pair(sampling_rate_hz / d, tau_s, order)
        self._d = d
        self._b_l, self._a_l = b_l, a_l
        self._zi_unit: FloatArray = np.asarray(signal.lfilter_zi(b_l, a_l), dtype=np.float64)
        self._half_dt = 0.5 / sampling_rate_hz
        self._iterations = iterations
        self.reset()

    def reset(self) -> None:
        """Forget the state: the next sample starts the filter as if the sensor had been still before it."""
        self._r = 0  # samples of the current (incomplete) block already seen
        self._lp = _BlockLowpass(self._b_l, self._a_l, self._zi_unit, self._d)
        self._lp_iter = [_BlockLowpass(self._b_l, self._a_l, self._zi_unit, self._d) for _ in range(self._iterations)]
        self._int = [_BlockIntegrator() for _ in range(self._iterations)]

    def feed(self, acc_mps2: FloatArray, gyr_radps: FloatArray | None) -> FloatArray:
        """Unit up vectors ``(n, 3)`` in the sensor frame for ``acc`` and bias-corrected ``gyr`` (``(n, 3)``).

        Without gyroscope the estimate is the low-pass of the acceleration alone (sensor-frame average).
        """
        n = acc_mps2.shape[0]
        if n == 0:
            return np.zeros((0, 3))
        if n > _CHUNK:
            # long inputs in pieces whose working arrays stay in cache; the filter is chunk-size invariant, so the
            # result is the same
            out = np.empty((n, 3))
            for a in range(0, n, _CHUNK):
                b = min(n, a + _CHUNK)
                out[a:b] = self._feed(acc_mps2[a:b], None if gyr_radps is None else gyr_radps[a:b])
            return out
        return self._feed(acc_mps2, gyr_radps)

    def _feed(self, acc_mps2: FloatArray, gyr_radps: FloatArray | None) -> FloatArray:
        n = acc_mps2.shape[0]
        d, r = self._d, self._r
        geo = _Grid(d, r, r + n)
        blocks = geo.blocks
        a0 = geo.to_blocks(acc_mps2, 1.0 / STANDARD_GRAVITY_MPS2, np.empty((3, d, blocks)))  # pads zero
        s1 = np.empty((d, blocks))  # work row
        t3 = np.empty((3, d, blocks))  # work rows
        # u in rows 0-2, rows 3-4 a copy of rows 0-1: u[1:4] is (u1, u2, u0) and u[2:5] (u2, u0, u1) as views
        u5 = np.empty((5, d, blocks))
        u = u5[:3]
        work = np.empty((3, d))
        _normalize_rows(self._lp(a0, geo, None, work, u), s1, t3)
        if gyr_radps is not None:
            # the rate scaled by dt / 2: the cross product below is then the trapezoid's half increment
            w5 = np.empty((5, d, blocks))
            geo.to_blocks(gyr_radps, self._half_dt, w5[:3])
            w5[3:] = w5[:2]
            y = np.empty((3, d, blocks))
            c = np.empty((3, d, blocks))
            mul, sub = np.multiply, np.subtract
            for lp, integ in zip(self._lp_iter, self._int, strict=True):
                # remove the vertical part of the linear acceleration (|f_v| swings 0-3 g in running) with the
                # previous iterate's up: what is left is gravity plus the much smaller horizontal acceleration.
                # y = a0 - ((a0 . u) - 1) u
                _dot_rows(a0, u, s1, t3)
                sub(s1, 1.0, out=s1)
                mul(s1, u, out=t3)
                sub(a0, t3, out=y)
                # the cross product u x w row-wise: c0 = u1 w2 - u2 w1, c1 = u2 w0 - u0 w2, c2 = u0 w1 - u1 w0
                u5[3:] = u5[:2]
                mul(u5[1:4], w5[2:5], out=c)
                mul(u5[2:5], w5[1:4], out=t3)
                sub(c, t3, out=c)
                # I(c) = p + before: p the running sum within each block, before (per block) the sum up to it
                p, before = integ(c, geo)
                sub(y, p, out=y)
                lp(y, geo, before, work, u)  # u = before + L(y - p - before)
                np.add(p, u, out=u)
                _normalize_rows(u, s1, t3)
        self._r = geo.end % d
        return geo.from_blocks(u, n)


class _Grid:
    """Where a chunk falls on the block grid: ``r`` samples of its first block came before it, ``end = r + n``
    positions in ``blocks`` blocks of ``d``; ``complete`` blocks end inside the chunk (the last may be partial)."""

    __slots__ = ("blocks", "complete", "d", "end", "r")

    def __init__(self, d: int, r: int, end: int) -> None:
        self.d, self.r, self.end = d, r, end
        self.blocks = -(-end // d)
        self.complete = end // d

    def to_blocks(self, x: FloatArray, scale: float, out: FloatArray) -> FloatArray:
        """``x`` ``(n, 3)`` times ``scale``, block-major ``(3, d, blocks)`` into ``out``; the positions outside the
        chunk zero."""
        d, r, end, blocks = self.d, self.r, self.end, self.blocks
        first = 1 if r else 0
        if self.complete > first:  # the whole blocks: one transposing copy
            src = x[first * d - r : self.complete * d - r].reshape(self.complete - first, d, 3)
            np.multiply(src.transpose(2, 1, 0), scale, out=out[:, :, first : self.complete])
        for b in {0, blocks - 1}:  # the partial blocks at either end (one block: both)
            lo, hi = max(0, r - b * d), min(d, end - b * d)
            if lo == 0 and hi == d:
                continue
            out[:, :lo, b] = 0.0
            np.multiply(x[b * d + lo - r : b * d + hi - r].T, scale, out=out[:, lo:hi, b])
            out[:, hi:, b] = 0.0
        return out

    def from_blocks(self, u: FloatArray, n: int) -> FloatArray:
        """The chunk's samples ``(n, 3)`` of a block-major ``(3, d, blocks)`` array."""
        d, r, end, blocks = self.d, self.r, self.end, self.blocks
        out = np.empty((n, 3))
        first = 1 if r else 0
        whole = self.complete - first
        if whole > 0:
            dst = out[first * d - r : self.complete * d - r]
            if whole <= _FEW_BLOCKS:  # one transposing copy
                dst.reshape(whole, d, 3)[...] = u[:, :, first : self.complete].transpose(2, 1, 0)
            else:  # per position j, the rows j * 3 .. j * 3 + 2 of (d * 3, blocks): contiguous reads
                dst_t = dst.reshape(whole, d * 3).T
                for j in range(d):
                    dst_t[3 * j : 3 * j + 3] = u[:, j, first : self.complete]
        for b in {0, blocks - 1}:
            lo, hi = max(0, r - b * d), min(d, end - b * d)
            if lo == 0 and hi == d:
                continue
            out[b * d + lo - r : b * d + hi - r] = u[:, lo:hi, b].T
        return out


class _BlockLowpass:
    """``L`` on block means (steady start), extrapolated to the samples of the next block from the last three
    block outputs ``Y`` (Newton's backward quadratic, at the block's samples' times), block-major arrays."""

    __slots__ = ("_a", "_b", "_d", "_f", "_g", "_hist", "_part", "_zi", "_zi_unit")

    def __init__(self, b: FloatArray, a: FloatArray, zi_unit: FloatArray, d: int) -> None:
        self._b, self._a, self._zi_unit, self._d = b, a, zi_unit, d
        self._zi: FloatArray | None = None
        self._hist = np.zeros((3, 3))  # Y of the last three complete blocks, oldest first
        self._part = np.zeros(3)  # the sum so far of the incomplete block
        # sample j of a block lies f_j = (j + (d + 1) / 2) / d blocks after the centre of the previous block:
        # q(f) = Y1 + f A + f (f + 1) / 2 B (A, B the backward differences), f and f (f + 1) / 2 per position
        f = (np.arange(d) + (d + 1) / 2) / d
        self._f = f[None, :, None]
        self._g = (f * (f + 1.0) / 2.0)[None, :, None]

    def __call__(
        self, x: FloatArray, geo: _Grid, offset: FloatArray | None, work: FloatArray, out: FloatArray
    ) -> FloatArray:
        """``L(x)`` at the samples into ``out`` (``(3, d, blocks)``); with ``offset`` (one value per block, ``(3, >=
        blocks)``): ``offset + L(x - offset)``, the offset taken off the block means and added back to the output.
        ``work``: a ``(3, d)`` work array; the positions of ``x`` outside the chunk are overwritten."""
        d, r, complete = self._d, geo.r, geo.complete
        if self._zi is None:  # steady start at the first sample
            x0 = x[:, r, 0] - (0.0 if offset is None else offset[:, 0])
            self._zi = np.outer(x0, self._zi_unit)
            self._hist = np.repeat(x0[:, None], 3, axis=1)
        # block sums, the samples of a block added in order: a partial first block continues the carried sum (it
        # goes in at position 0, then -0.0 up to the chunk's first sample: x + -0.0 == x for every x, signed zeros
        # included), the positions after the chunk are -0.0 too, so the sums over all positions j of every block
        # are the complete blocks' sums and the incomplete block's sum so far
        tail = geo.end - complete * d
        if r:
            x[:, 0, 0] = self._part
            x[:, 1:r, 0] = -0.0
        if tail:
            x[:, tail:, complete] = -0.0
        sums = _sum_over_j(x, work)
        if complete:
            means = sums[:, :complete] / d
            if offset is not None:
                means -= offset[:, :complete]
            y, self._zi = lfilter_zi_call(self._b, self._a, means, 1, self._zi)
            ys = np.concatenate([self._hist, y], axis=1)
            self._hist = ys[:, -3:]
        else:
            ys = self._hist
        if tail:
            self._part = sums[:, complete].copy()
        blocks = geo.blocks
        y1 = ys[:, 2 : blocks + 2]
        # the backward differences of the three outputs before each block: slope = y1 - y0, curv = slope - (y0 -
        # ym), from the one row of differences of consecutive outputs
        dy = np.subtract(ys[:, 1 : blocks + 2], ys[:, : blocks + 1])
        slope = dy[:, 1:]
        curv = slope - dy[:, :-1]
        base = y1 if offset is None else y1 + offset[:, :blocks]
        # every position j of every block at once (broadcast over j)
        np.multiply(self._f, slope[:, None, :], out=out)
        out += self._g * curv[:, None, :]
        out += base[:, None, :]
        return out


class _BlockIntegrator:
    """The trapezoid ``I[i] = I[i - 1] + c[i] + c[i - 1]`` from zero (``c`` already times ``dt / 2``), block-major:
    a running sum within each block plus the running sum of the block totals before it."""

    __slots__ = ("_before", "_c_last", "_part")

    def __init__(self) -> None:
        self._before = np.zeros(3)  # I at the end of the last complete block
        self._part = np.zeros(3)  # the sum within the incomplete block so far
        self._c_last = np.zeros(3)  # c at the last sample

    def __call__(self, c: FloatArray, geo: _Grid) -> tuple[FloatArray, FloatArray]:
        """``(p, before)``: the running sums within the blocks ``(3, d, blocks)`` and per block the sum of all
        blocks before it ``(3, complete + 1)``: ``I[:, j, b] = p[:, j, b] + before[:, b]``."""
        d, r, end, complete = geo.d, geo.r, geo.end, geo.complete
        e = np.empty(c.shape)
        if d > 1:
            np.add(c[:, 1:], c[:, :-1], out=e[:, 1:])
        np.add(c[:, 0, 1:], c[:, d - 1, :-1], out=e[:, 0, 1:])
        e[:, r, 0] = c[:, r, 0] + self._c_last
        if r:  # the block began in an earlier chunk: continue its running sum
            e[:, : r - 1, 0] = 0.0
            e[:, r - 1, 0] = self._part
        if geo.blocks <= _FEW_BLOCKS:  # a running sum over j: one call for few blocks (numpy's accumulate runs
            np.add.accumulate(e, axis=1, out=e)  # along j per block), one operation per j for many; the same sums
        else:
            for j in range(1, d):
                np.add(e[:, j - 1], e[:, j], out=e[:, j])
        before = np.empty((3, complete + 1))
        before[:, 0] = self._before
        before[:, 1:] = e[:, d - 1, :complete]
        np.add.accumulate(before, axis=1, out=before)
        last = end - 1
        self._c_last = c[:, last % d, last // d].copy()
        self._before = before[:, complete].copy()
        if end % d:
            self._part = e[:, end % d - 1, complete].copy()
        return e, before


def _sum_over_j(x: FloatArray, work: FloatArray) -> FloatArray:
    """``x[:, 0, :] + x[:, 1, :] + ...`` added in that order, for a block-major ``(3, d, blocks)`` array: einsum
    adds them in order in one call for two or more blocks (for a single block it may sum in another order: that
    case by a running sum over j into ``work``, ``(3, d)``)."""
    if x.shape[2] >= 2:
        res: FloatArray = _einsum("ijk->ik", x)
        return res
    np.add.accumulate(x[:, :, 0], axis=1, out=work)
    return work[:, -1:]


def _dot_rows(a: FloatArray, b: FloatArray, out: FloatArray, work: FloatArray) -> FloatArray:
    """``(a0 b0 + a1 b1) + a2 b2`` elementwise over the rows ``a[k]``, ``b[k]`` of ``(3, ...)`` arrays, into ``out``
    (``work``: ``(3, ...)``; whole-row operations: the same numbers for any shape)."""
    np.multiply(a, b, out=work)
    np.add(work[0], work[1], out=out)
    np.add(out, work[2], out=out)
    return out


def _normalize_rows(v: FloatArray, s1: FloatArray, work: FloatArray) -> FloatArray:
    """``v * (1 / max(|v|, 1e-12))`` over the rows of a ``(3, ...)`` array, in place (``s1``: a work row, ``work``:
    ``(3, ...)``); ``|v|`` is ``sqrt(v0^2 + v1^2 + v2^2)`` added in that order."""
    _dot_rows(v, v, s1, work)
    np.sqrt(s1, out=s1)
    np.maximum(s1, 1e-12, out=s1)
    np.divide(1.0, s1, out=s1)
    np.multiply(v, s1, out=v)
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
