"""Automatic mounting calibration: the sensor-to-pelvis rotation and the gyroscope bias, refined over time.

The clip may sit at any angle. The pelvis frame (AP, ML, V; :mod:`sensor.frames`) is found from the data:

* **Vertical (V)**: the mean specific force of a quiet period (|acc| ~ g, small variance, small angular rate) of
  at least 2 s, i.e. the latest quiet standing, which is also what defines neutral. Without one, the long-term
  average of the orientation filter's up vector during gait (the mean running posture).
  Only quiet periods whose gravity direction is consistent with upright standing re-level: within
  ``upright_max_deg`` (35 deg) of the vertical in use (the latest accepted one, else a calibrated prior's; the
  first quiet period of at least 2 s is taken as is when neither exists, as a session starts standing). Rests
  lying (bridges, hip thrusts: gravity ~90 deg away in the pelvis frame), on all fours (donkey kicks) or
  leaning back on a chair are quiet too, but taking "vertical" from them would make the rep counter see every
  floor posture as upright (a bridge set then looks like step-ups); there the mounting is kept. Comparing with
  the vertical in use (not a fixed anchor) still follows a clip that slipped by up to 35 deg between rests. A
  quiet period ends where its 1 s mean gravity turns by more than ``posture_change_deg`` (10 deg) from its
  running mean, so that a slow roll from standing to lying with no motion detected cannot drag the vertical
  along in small accepted steps.
* **Gyroscope bias**: the mean angular rate of the latest still run: >= 2 s of quiet 1 s windows whose rate SD is
  below 0.02 rad/s and whose gravity turns by less than 0.01 rad/s against the previous window (updated at every
  rest). Slow exercise movements pass the quiet test but not this one. Until a still run was seen, the mean rate
  of the latest quiet period.
* **Forward (AP)**: the principal direction of the horizontal acceleration during gait. For a symmetric gait the
  AP acceleration repeats every step (even stride harmonics) and the ML acceleration every stride (odd
  harmonics), so their covariance vanishes and the principal axis is AP (Moe-Nilssen 1998; the horizontal AP
  variance exceeds the ML variance in walking and running).
* **Sign of forward** (otherwise left and right would swap), from physical evidence: gait initiation and
  termination (the horizontal velocity gained over the first 2 s after rest points forward, the one lost in the
  last 2 s before rest points forward too: ``Delta v = integral of a_h``; only next to an upright rest and at
  least 0.5 m/s, so that the 0.1-0.4 m/s steps of an exercise set, a step-up's way down, and getting down to the
  floor do not vote); turns (the centripetal acceleration
  ``w_up x v`` points to the inside of the turn, so ``mean(a_h) * mean(w_up)`` points to +ML for a
  forward-moving runner); and the collision at every initial contact: the new stance leg brakes the body
  abruptly (heel strike, or foot strike in running) while the forward acceleration builds up gradually in
  push-off, so the forward acceleration falls fast and rises slowly, and its time derivative (jerk) is
  negatively skewed along forward (cf. Zijlstra & Hof 2003). The collision evidence needs no standing start, so
  it decides where starts and stops are too weak (on the lower-back walking recordings of Voisard et al. 2023 it
  pointed forward in 27 of 28 trials and was about zero in the last). Gait statistics (axis, sign, gait vertical)
  come only from segments whose mean specific force is within ``upright_max_deg`` of the vertical in use: bridges
  and kicks on the floor move as much as walking but are not gait. A prior mounting (the clip's nominal
  orientation, or a stored ``hipsense calibrate`` result) adds a weak vote and is used until the data say more.

* **A clip that slips** during gait with no rest after it (``_slip_check``): every 10 grid points short-term
  statistics are compared with the mounting in use. A short-term forward axis (harmonic statistics with a 15-s
  memory) off by more than 6 deg, or a short-term mean gait obliquity off its reference by more than 4 deg, on three
  consecutive checks: the long-term harmonic statistics restart from the short-term ones (a turn about the
  vertical), or the standing vertical is turned about AP by the difference (a turn about AP). A turn about ML
  (anterior tilt) looks like a change of running posture and waits for the next rest.

Statistics are collected on a fixed grid of ``grid_s`` seconds of samples (absolute sample numbers), and the
mounting can only change at grid points: the calibration is a deterministic function of the sample stream,
whatever the chunk sizes. The confidence in [0, 1] combines how the vertical was found, how much gait was
seen, how elongated the horizontal acceleration is (eigenvalue ratio) and how strong the sign evidence is.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

import numpy as np
from numpy.typing import NDArray

from sensor.errors import DataValidationError
from sensor.frames import STANDARD_GRAVITY_MPS2
from sensor.pipeline.filters import einsum as _einsum
from sensor.pipeline.filters import lfilter_zi_call, minus_scaled, row_dot

FloatArray = NDArray[np.float64]
VerticalSource = Literal["prior", "standing", "gait"]
ForwardSource = Literal["prior", "gait"]
SignSource = Literal["prior", "gait_start_stop", "turns", "collision"]


@dataclass(frozen=True, slots=True, eq=False)
class Mounting:
    """The sensor-to-pelvis mounting.

    Attributes:
        r_pelvis_from_sensor: rotation ``(3, 3)``; its rows are the AP, ML and V axes in sensor coordinates,
            so ``v_pelvis = R @ v_sensor``.
        gyr_bias_radps: gyroscope bias in the sensor frame, rad/s.
        confidence: in [0, 1].
        vertical_source, forward_source, sign_source: where each part came from.
    """

    r_pelvis_from_sensor: FloatArray
    gyr_bias_radps: FloatArray
    confidence: float = 0.0
    vertical_source: VerticalSource = "prior"
    forward_source: ForwardSource = "prior"
    sign_source: SignSource = "prior"

    @classmethod
    def identity(cls) -> Mounting:
        return cls(np.eye(3), np.zeros(3))

    def to_dict(self) -> dict[str, Any]:
        """A JSON/TOML-friendly form (for the sensor's config entry)."""
        return {
            "r_pelvis_from_sensor": [[float(x) for x in row] for row in self.r_pelvis_from_sensor],
            "gyr_bias_radps": [float(x) for x in self.gyr_bias_radps],
            "confidence": float(self.confidence),
            "vertical_source": self.vertical_source,
            "forward_source": self.forward_source,
            "sign_source": self.sign_source,
        }

    @classmethod
    def from_dict(cls, d: Any) -> Mounting:
        """The inverse of :meth:`to_dict`; every field is checked (the dict may come from a file a user edited).

        Raises:
            DataValidationError: naming the field and the fix.
        """

        def bad(field: str, what: str) -> DataValidationError:
            return DataValidationError(f"mounting {field}: {what}; run `hipsense calibrate` again", field=field)

        if not isinstance(d, dict):
            raise bad("(top level)", f"expected a mapping, got {type(d).__name__}")
        if "r_pelvis_from_sensor" not in d:
            raise bad("r_pelvis_from_sensor", "missing")
        arrays = {}
        for name, shape, default in (
            ("r_pelvis_from_sensor", (3, 3), None),
            ("gyr_bias_radps", (3,), [0.0, 0.0, 0.0]),
        ):
            try:
                a = np.asarray(d.get(name, default), dtype=np.float64)
            except (ValueError, TypeError, OverflowError):
                a = np.zeros(0)
            if a.shape != shape or not np.isfinite(a).all():
                raise bad(name, f"expected {shape[0]}{f'x{shape[1]}' if len(shape) > 1 else ''} finite numbers")
            arrays[name] = a
        r = arrays["r_pelvis_from_sensor"]
        if not np.allclose(r @ r.T, np.eye(3), atol=1e-6) or np.linalg.det(r) < 0:
            raise bad("r_pelvis_from_sensor", f"{r.tolist()} is not a proper 3x3 rotation matrix")
        confidence = d.get("confidence", 0.0)
        if not isinstance(confidence, int | float) or isinstance(confidence, bool) or not 0.0 <= confidence <= 1.0:
            raise bad("confidence", f"{confidence!r} is not a number in [0, 1]")
        sources = {}
        for name, allowed in (
            ("vertical_source", VerticalSource),
            ("forward_source", ForwardSource),
            ("sign_source", SignSource),
        ):
            value = d.get(name, "prior")
            if value not in get_args(allowed):
                raise bad(name, f"{value!r} is not one of {', '.join(get_args(allowed))}")
            sources[name] = value
        return cls(
            r,
            arrays["gyr_bias_radps"],
            float(confidence),
            sources["vertical_source"],
            sources["forward_source"],
            sources["sign_source"],
        )


@dataclass(frozen=True, slots=True)
class CalibrationConfig:
    """Tunables of the automatic calibration (units in the names)."""

    grid_s: float = 1.0
    quiet_acc_std_mps2: float = 0.35
    quiet_gyr_std_radps: float = 0.06
    quiet_gyr_mean_radps: float = 0.15
    quiet_min_s: float = 2.0
    # gyroscope bias: only from runs of still windows (gyro SD below this, gravity turning slower than this
    # against the previous window) of at least still_min_s
    still_gyr_std_radps: float = 0.02
    still_turn_rad_per_s: float = 0.01
    still_min_s: float = 2.0
    gait_acc_std_mps2: float = 0.9
    forget_per_s: float = 0.995
    turn_rate_radps: float = 0.2
    turn_sign_weight: float = 0.5
    turn_sign_min_acc_std_mps2: float = 4.0
    collision_sign_weight: float = 1.0
    collision_full_s: float = 10.0
    start_window_s: float = 2.0
    prior_sign_weight: float = 0.3
    lock_confidence: float = 0.5
    max_warmup_s: float = 20.0
    update_angle_deg: float = 0.5
    upright_max_deg: float = 35.0
    posture_change_deg: float = 10.0


_NR = 12  # rest statistics: acc, acc^2, gyr, gyr^2
_NM = 20  # motion statistics: a_h a_h^T, a_h, up, w_up, f_v, horizontal gyro
_NO_PCA = 9  # the a_h a_h^T columns, left out with a gyroscope
_GAIT_SUMS = 50  # jerk m2 (9), jerk m3 (27), jerk count, a_h covariance (9), sample count, up (3)
_PAIR_ROW = np.array([[3, 4, 5], [4, 6, 7], [5, 7, 8]])  # row of (i, j) in the jerk product matrix
# After the lock the mounting moves slowly (a clip that slips), so the statistics are refined on samples of the gait:
_REFINE_EVERY = (10, 30)  # grid points between refinements after the lock: in the first _SETTLE_S of gait, then later
_SETTLE_S = 300.0  # (a quiet rest's new vertical or bias: at once)
_JERK_FULL = 60  # the first gait segments all add their jerk moments (the sign evidence builds up) ...
_JERK_EVERY = 3  # ... then every third, counting three times
_GAIT_DV_MPS = 0.5  # a gait start or stop gains or loses at least this horizontal speed within its 2 s window
_HARM = 38  # odd covariance (9), even covariance (9), weight; the same three short-term
# Slip detection (a clip that turns on the belt during a run, no rest after it): every _SLIP_EVERY grid points after
# the lock, with at least _SLIP_MIN_GAIT gait segments since the last check, the short-term statistics are compared
# with the mounting in use: the forward axis of the short-term harmonic statistics (memory _SLIP_TAU_FWD_S of gait,
# sampled on every third gait segment as the long-term ones), and the mean gait obliquity (short-term mean up,
# memory _SLIP_TAU_UP_S) against its own reference (the mean over agreeing checks, memory _SLIP_REF_CHECKS checks).
_SLIP_EVERY = 10
_SLIP_MIN_GAIT = 7
_SLIP_TAU_FWD_S = 15.0
_SLIP_TAU_UP_S = 10.0
_SLIP_REF_CHECKS = 10.0
_SLIP_FWD_DEG = 6.0  # forward axis: short-term off by more than this ...
_SLIP_FWD_RATIO = 3.0  # ... with its horizontal eigenvalue ratio above this ...
_SLIP_FWD_CHECKS = 3  # ... on this many checks in a row (those below the ratio: skipped): the long-term statistics
# restart from the short-term ones
_SLIP_V_DEG = 4.0  # obliquity: the short-term mean off its reference by more than this ...
_SLIP_V_CHECKS = 3  # ... on this many consecutive checks: the vertical turns about AP by the difference
_SLIP_FOLLOW = 3  # after a slip, this many checks follow it without a threshold
_SLIP_V_WAIT = 3  # checks after a new standing vertical before the obliquity reference is taken
# after the lock the mounting can change only at a refinement (every _REFINE_EVERY grid points, or a quiet segment
# with a gyroscope bias) or a slip check (every _SLIP_EVERY): grid points that are neither (see motion_can_wait)
_CHECK_EVERY = math.gcd(_SLIP_EVERY, *_REFINE_EVERY)


@dataclass(slots=True)
class _RestRecord:
    quiet: bool
    acc_std_mps2: float
    vertical: FloatArray | None
    bias: FloatArray | None
    upright: bool = False  # mean specific force within upright_max_deg of the vertical in use (or none yet)


@dataclass(slots=True)
class _State:
    rest_partial: list[FloatArray] = field(default_factory=list)
    rest_n: int = 0
    motion_partial: list[tuple[FloatArray, ...]] = field(default_factory=list)
    motion_n: int = 0
    rest_log: deque[_RestRecord] = field(default_factory=deque)
    quiet_acc: FloatArray = field(default_factory=lambda: np.zeros(3))
    quiet_gyr: FloatArray = field(default_factory=lambda: np.zeros(3))
    quiet_n: int = 0
    prev_quiet_rest: bool = False
    still_gyr: FloatArray = field(default_factory=lambda: np.zeros(3))
    still_n: int = 0
    still_bias: bool = False  # the bias in use comes from a still run
    prev_acc_mean: FloatArray | None = None
    prev_quiet: bool = False
    # the harmonic statistics, packed (see _HARM): odd/even covariances and their weight, long-term (the axis in
    # use) and short-term (the slip detector's), one linear recursion for all of them
    harm: FloatArray = field(default_factory=lambda: np.zeros(_HARM))
    step_n: float | None = None
    gait_segments: int = 0
    recent_rows: deque[_Seg] = field(default_factory=lambda: deque(maxlen=3))
    gait_s_total: float = 0.0
    sign_start: FloatArray = field(default_factory=lambda: np.zeros(3))
    sign_turn: FloatArray = field(default_factory=lambda: np.zeros(3))
    # the forgetting sums over gait segments, packed (see _GAIT_SUMS): one linear recursion for all of them
    gait_sums: FloatArray = field(default_factory=lambda: np.zeros(_GAIT_SUMS))
    start_left: int = 0
    start_dv: FloatArray = field(default_factory=lambda: np.zeros(3))  # the start window's velocity, pending
    quiet_upright: bool = False  # the latest quiet segment was upright
    quiet_s_before: float = 0.0
    recent_dv: deque[FloatArray] = field(default_factory=lambda: deque(maxlen=2))
    vertical: FloatArray | None = None
    bias: FloatArray | None = None
    bias_out: FloatArray | None = None
    segments: int = 0
    locked: bool = False
    # the slip detector (after the lock, every _SLIP_EVERY grid points)
    up_short: FloatArray = field(default_factory=lambda: np.zeros(3))  # short-term sum of the gait up vectors
    slip_gait_at: int = 0  # gait_segments at the last check
    slip_fwd_run: int = 0  # consecutive checks whose short-term forward axis disagrees
    slip_v_run: int = 0  # ... whose short-term obliquity disagrees
    slip_fwd_follow: int = 0  # checks left after a forward slip that copy the short-term statistics again
    slip_v_follow: int = 0  # checks left after a vertical slip that correct the obliquity again
    slip_v_wait: int = 0  # checks left before the obliquity reference is taken (after a new standing vertical)
    obl_ref_rad: float | None = None  # reference mean gait obliquity (short-term, averaged over agreeing checks)
    v_corr: FloatArray | None = None  # rotation applied to the standing vertical after a slip about AP
    v_corr_base: FloatArray | None = None  # the standing vertical it applies to (a new one drops it)
    v_corr_out: FloatArray | None = None  # v_corr @ v_corr_base

    # views of the packed harmonic statistics
    @property
    def odd_cov(self) -> FloatArray:
        return self.harm[0:9].reshape(3, 3)

    @property
    def even_cov(self) -> FloatArray:
        return self.harm[9:18].reshape(3, 3)

    @property
    def odd_n(self) -> float:
        return float(self.harm[18])

    # views of the packed gait sums: jerk moments (collision sign), the a_h covariance (PCA fallback), counts, up
    @property
    def jerk_m2(self) -> FloatArray:
        return self.gait_sums[0:9].reshape(3, 3)

    @property
    def jerk_m3(self) -> FloatArray:
        return self.gait_sums[9:36].reshape(3, 3, 3)

    @property
    def jerk_n(self) -> float:
        return float(self.gait_sums[36])

    @property
    def gait_cov(self) -> FloatArray:
        return self.gait_sums[37:46].reshape(3, 3)

    @property
    def gait_n(self) -> float:
        return float(self.gait_sums[46])

    @property
    def gait_up(self) -> FloatArray:
        return self.gait_sums[47:50]


_ONE = np.array([1.0])
_BLOCK = 256  # grid segments per vectorised block (a few MB: stays in cache)


def _seg_sum(x: FloatArray) -> FloatArray:
    """Column sums of each segment of ``x`` ``(segments, grid, c)``, sample after sample (as ``rows.sum(axis=0)``
    of one segment's C-contiguous rows; einsum's loop is several times faster than ``sum(axis=1)``)."""
    out: FloatArray = _einsum("bnk->bk", x)
    return out


def _rows_or_none(x: FloatArray | None, a: int, b: int) -> FloatArray | None:
    return None if x is None else x[a:b]


def _rest_rows(acc: FloatArray, gyr: FloatArray | None) -> FloatArray:
    """Pass-1 rows of a partial segment: acc, acc^2, gyr, gyr^2 (zeros without gyroscope)."""
    g = gyr if gyr is not None else np.zeros_like(acc)
    return np.concatenate([acc, acc * acc, g, g * g], axis=1)


@dataclass(slots=True)
class _Seg:
    """One grid segment's samples for the step period and the harmonic statistics (views, one chunk's or joined)."""

    a_up: FloatArray  # (grid,) vertical specific force
    w_up: FloatArray  # (grid,) world-vertical angular rate
    gyr: FloatArray  # (grid, 3)
    up: FloatArray  # (grid, 3)
    gh_cache: FloatArray | None = None

    def gh(self) -> FloatArray:
        """The horizontal angular rate ``gyr - w_up up`` (sensor frame)."""
        if self.gh_cache is None:
            self.gh_cache = minus_scaled(self.gyr, self.w_up, self.up)
        return self.gh_cache


class _Segs:
    """The grid segments of one :meth:`MountingCalibrator.feed_motion` call as :class:`_Seg` s, made when first
    asked for: ``seg_cols`` are the column tuples of a joined segment (optional) and of the whole segments."""

    __slots__ = ("_cols", "_first", "_gh", "_made")

    def __init__(self, seg_cols: list[tuple[FloatArray, ...]], gh_whole: FloatArray | None) -> None:
        self._cols = seg_cols
        self._gh = gh_whole
        self._first = 1 if len(seg_cols) > 1 else 0  # index of the first whole segment
        self._made: dict[int, _Seg] = {}

    def a_up(self, r: _Seg | int) -> FloatArray:
        """The vertical specific force of a segment (a carried :class:`_Seg` or this call's index)."""
        if isinstance(r, _Seg):
            return r.a_up
        c, j = (self._cols[0], r) if r < self._first else (self._cols[-1], r - self._first)
        out: FloatArray = c[3][j]
        return out

    def gh(self, r: _Seg | int) -> FloatArray:
        """The horizontal angular rate of a segment (see :meth:`_Seg.gh`)."""
        if isinstance(r, _Seg):
            return r.gh()
        if r >= self._first and self._gh is not None:
            out: FloatArray = self._gh[r - self._first]
            return out
        return self[r].gh()

    def __getitem__(self, i: int) -> _Seg:
        seg = self._made.get(i)
        if seg is None:
            if i < self._first:
                c, j, gh = self._cols[0], i, None
            else:
                c, j, gh = self._cols[-1], i - self._first, self._gh
            seg = _Seg(c[3][j], c[2][j], c[4][j], c[1][j], None if gh is None else gh[j])
            self._made[i] = seg
        return seg


@dataclass(slots=True)
class _SegmentStats:
    """Per grid segment of one :meth:`MountingCalibrator.feed_motion` call, computed for all segments at once."""

    ah_mean: FloatArray  # (segments, 3) mean horizontal acceleration
    ahh: FloatArray  # (segments, 3, 3) its covariance (the PCA fallback without gyroscope)
    up_mean: FloatArray  # (segments, 3)
    w_up: list[float]  # mean world-vertical angular rate
    dv: FloatArray  # (segments, 3) horizontal velocity change
    turn_dv: FloatArray  # (segments, 3) dv * w_up: the turn sign evidence


class MountingCalibrator:
    """Streaming mounting calibration on a fixed sample grid, in two passes over each chunk.

    1. :meth:`feed_rest` (raw samples): quiet periods -> vertical and gyroscope bias. Returns bias updates
       ``(first_sample_index, bias)`` so that the orientation filter can use them from that sample on.
    2. :meth:`feed_motion` (the same samples with the orientation filter's up vectors): the forward axis, its
       sign and the confidence. Returns mounting updates ``(first_sample_index, Mounting)``.

    Both passes cut the stream at the same absolute grid points, so the result does not depend on chunk sizes.
    """

    def __init__(
        self, sampling_rate_hz: float, config: CalibrationConfig | None = None, prior: Mounting | None = None
    ) -> None:
        self.cfg = config or CalibrationConfig()
        self.fs = float(sampling_rate_hz)
        self.grid = max(1, round(self.fs * self.cfg.grid_s))
        self.prior = prior or Mounting.identity()
        self.mounting = self.prior
        self._s = _State()
        self._n_rest = 0
        self._n_motion = 0
        self._has_gyr = True
        self.lock_index: int | None = None
        self.lock_mounting: Mounting | None = None
        self._frame: tuple[FloatArray, tuple[FloatArray, FloatArray, FloatArray]] | None = None
        self._slip_frame: tuple[Mounting, FloatArray, list[float]] | None = None  # (mounting, quadratic forms, ML)
        seg_s = self.grid / self.fs
        lam = self.cfg.forget_per_s**seg_s  # (as in feed_motion)
        # per sampled gait segment (every third): long-term lam, short-term over _SLIP_TAU_FWD_S of gait
        self._lam_harm = np.array([lam] * 19 + [math.exp(-3.0 * seg_s / _SLIP_TAU_FWD_S)] * 19)
        self._lam_up = math.exp(-seg_s / _SLIP_TAU_UP_S)  # per gait segment
        self._den_up = np.array([1.0, -self._lam_up])
        self.slip_events: list[tuple[int, str, float]] = []  # (sample index, "forward" | "vertical", angle deg)
        # set to a list to record every check: (time s, phi deg, eigenvalue ratio, obliquity deg, reference deg)
        self.slip_trace: list[tuple[float, float, float, float, float]] | None = None

    @property
    def locked(self) -> bool:
        """True once the confidence reached ``lock_confidence`` or ``max_warmup_s`` of data were seen."""
        return self._s.locked

    @property
    def standing_vertical(self) -> FloatArray | None:
        """The up vector (sensor frame) of the latest accepted upright quiet period, or None before one."""
        return self._s.vertical

    @property
    def samples_seen(self) -> int:
        return self._n_motion

    def motion_can_wait(self, n: int) -> bool:
        """Whether :meth:`feed_motion` of the next ``n`` samples (their :meth:`feed_rest` done) returns no update,
        whatever they hold, so that the caller may pass them later, joined with the samples after them.

        After the lock an update can only come at a grid point where the mounting is refined (every
        ``_REFINE_EVERY`` grid points, or a quiet segment with a gyroscope bias) or a slip is checked (every
        ``_SLIP_EVERY``), and which grid points those are is known before the motion pass: the segment count and
        the rest pass's records. The motion pass is chunk-size invariant, so passing the samples later in one call
        gives the same statistics and updates (a live stream then runs it once per ``_CHECK_EVERY`` grid points
        instead of once per micro-batch).
        """
        s = self._s
        if not s.locked:
            return False
        log = s.rest_log
        done = (s.motion_n + n) // self.grid  # grid segments that these samples complete
        if done > len(log):
            return False
        seg = s.segments
        for j in range(done):
            if (seg + j + 1) % _CHECK_EVERY == 0:
                return False
            rec = log[j]
            if rec.quiet and rec.bias is not None:
                return False
        return True

    def force_lock(self) -> None:
        """Lock with what is known (end of stream before the confidence was reached)."""
        if not self._s.locked:
            self._s.locked = True
            self.lock_index = self._n_motion
            self.lock_mounting = self.mounting

    @property
    def bias(self) -> FloatArray:
        """The gyroscope bias in use (prior until a quiet period was seen)."""
        b = self._s.bias_out
        return self.prior.gyr_bias_radps if b is None else b

    # -----------------------------------------------------------------------------------------------
    def _plan(self, n: int, have: int) -> tuple[int, int, int]:
        """How a chunk of ``n`` samples falls on the grid after ``have`` carried samples: ``(head, a0, nw)``.

        ``head`` samples complete the carried partial segment (0: none is completed), then ``nw`` whole segments
        start at offset ``a0``; the samples from ``a0 + nw * grid`` on are carried to the next chunk.
        """
        g = self.grid
        if have == 0:
            return 0, 0, n // g
        if have + n < g:
            return 0, 0, 0
        head = g - have
        return head, head, (n - head) // g

    def feed_rest(self, acc_mps2: FloatArray, gyr_radps: FloatArray | None) -> list[tuple[int, FloatArray]]:
        """Pass 1 on raw samples; returns gyroscope-bias updates ``(first_sample_index, bias_radps)``."""
        n = acc_mps2.shape[0]
        s, g, cfg = self._s, self.grid, self.cfg
        has_gyr = gyr_radps is not None
        head, a0, nw = self._plan(n, s.rest_n)
        sums: list[FloatArray] = []
        ends: list[int] = []
        if head:
            rows = np.concatenate([*s.rest_partial, _rest_rows(acc_mps2[:head], _rows_or_none(gyr_radps, 0, head))])
            s.rest_partial.clear()
            sums.append(np.add.reduce(rows, axis=0)[None])  # (rows.sum(axis=0) without its wrapper)
            ends.append(head)
        # whole segments: per-column sums of acc, acc^2, gyr, gyr^2 (the same sums, in the same order, as a
        # segment's rows summed one by one), in blocks of segments that stay in cache
        for b0 in range(0, nw, _BLOCK):
            b1 = min(nw, b0 + _BLOCK)
            a = acc_mps2[a0 + b0 * g : a0 + b1 * g].reshape(b1 - b0, g, 3)
            parts = [_seg_sum(a), _seg_sum(a * a)]
            if gyr_radps is not None:
                w = gyr_radps[a0 + b0 * g : a0 + b1 * g].reshape(b1 - b0, g, 3)
                parts += [_seg_sum(w), _seg_sum(w * w)]
            else:
                parts.append(np.zeros((b1 - b0, 6)))
            sums.append(np.concatenate(parts, axis=1))
        ends.extend(range(a0 + g, a0 + nw * g + 1, g))
        tail = a0 + nw * g
        if tail < n:
            s.rest_partial.append(_rest_rows(acc_mps2[tail:], _rows_or_none(gyr_radps, tail, n)))
        s.rest_n = (s.rest_n + n) % g
        out: list[tuple[int, FloatArray]] = []
        if ends:
            mean = (np.concatenate(sums) if len(sums) > 1 else sums[0]) / g
            add = np.add.reduce  # (.sum(axis=1) without its wrapper)
            acc_std = np.sqrt(add(np.maximum(mean[:, 3:6] - mean[:, 0:3] ** 2, 0.0), axis=1)).tolist()
            gyr_std = np.sqrt(add(np.maximum(mean[:, 9:12] - mean[:, 6:9] ** 2, 0.0), axis=1)).tolist()
            checked = s.bias  # the bias last compared with bias_out (only a new one can differ)
            for i, end in enumerate(ends):
                quiet = acc_std[i] < cfg.quiet_acc_std_mps2 and gyr_std[i] < cfg.quiet_gyr_std_radps
                if quiet:
                    rec = self._rest_segment(mean, i, g, acc_std[i], gyr_std[i], quiet, has_gyr=has_gyr)
                else:  # _rest_segment of a moving segment: no quiet or still run, the vertical and bias stay
                    if s.still_n:
                        s.still_gyr = np.zeros(3)
                        s.still_n = 0
                    s.prev_acc_mean = None
                    s.prev_quiet_rest = False
                    rec = _RestRecord(False, acc_std[i], s.vertical, s.bias, self._upright(mean[i, 0:3]))
                s.rest_log.append(rec)
                if rec.bias is not None and (
                    s.bias_out is None
                    or (rec.bias is not checked and float(np.max(np.abs(rec.bias - s.bias_out))) > 2e-4)
                ):
                    s.bias_out = rec.bias
                    out.append((self._n_rest + end, rec.bias))
                checked = rec.bias
        self._n_rest += n
        return out

    def feed_motion(
        self,
        acc_mps2: FloatArray,
        gyr_radps: FloatArray | None,
        up_sensor: FloatArray,
        *,
        acc_up_mps2: FloatArray | None = None,
        gyr_up_radps: FloatArray | None = None,
    ) -> list[tuple[int, Mounting]]:
        """Pass 2 on the same samples with their up vectors; returns mounting updates.

        ``acc_up_mps2``/``gyr_up_radps``: ``row_dot(acc_mps2, up_sensor)`` and ``row_dot(gyr_radps, up_sensor)``
        when the caller has them already (the same numbers; computed here otherwise).
        """
        n = acc_mps2.shape[0]
        s, g, cfg = self._s, self.grid, self.cfg
        gyr = gyr_radps if gyr_radps is not None else np.zeros_like(acc_mps2)
        self._has_gyr = gyr_radps is not None
        up = np.ascontiguousarray(up_sensor)
        a_up = row_dot(acc_mps2, up) if acc_up_mps2 is None else acc_up_mps2
        a_h = minus_scaled(acc_mps2, a_up, up)  # acc - a_up up
        w_up = row_dot(gyr, up) if gyr_up_radps is None or gyr_radps is None else gyr_up_radps
        cols = (a_h, up, w_up, a_up, gyr)
        # the grid segments
        head, a0, nw = self._plan(n, s.motion_n)
        joined: tuple[FloatArray, ...] | None = None
        if head:
            parts = [*s.motion_partial, tuple(c[:head] for c in cols)]
            joined = tuple(np.concatenate([p[j] for p in parts]) for j in range(len(cols)))
            s.motion_partial.clear()
        tail = a0 + nw * g
        if tail < n:
            s.motion_partial.append(tuple(c[tail:] for c in cols))
        s.motion_n = (s.motion_n + n) % g
        n_seg = int(joined is not None) + nw
        if n_seg == 0:
            self._n_motion += n
            return []
        # per-segment sums (each column summed sample by sample, as the rows of a segment one after the other):
        # a_h, up, w_up (cumsum: sequential), and a_h a_h^T without gyroscope
        seg_cols: list[tuple[FloatArray, ...]] = []
        if joined is not None:
            seg_cols.append(tuple(c[None] for c in joined))
        if nw:
            seg_cols.append(tuple(c[a0:tail].reshape(nw, g, *c.shape[1:]) for c in cols))
        ah_seg = np.concatenate([c[0] for c in seg_cols]) if len(seg_cols) > 1 else seg_cols[0][0]
        mean = np.zeros((n_seg, 16))
        sum_ah = np.concatenate([_seg_sum(c[0]) for c in seg_cols])
        sum_up = np.concatenate([_seg_sum(c[1]) for c in seg_cols])
        sum_w = np.concatenate([np.cumsum(c[2], axis=1)[:, -1] for c in seg_cols])
        if not self._has_gyr:
            aa = (ah_seg[:, :, :, None] * ah_seg[:, :, None, :]).reshape(n_seg, g, 9)
            mean[:, 0:9] = _seg_sum(aa) / g
        mean[:, 9:12] = sum_ah / g
        mean[:, 12:15] = sum_up / g
        mean[:, 15] = sum_w / g
        seg_s = g / self.fs
        ah_mean = mean[:, 9:12]
        st = _SegmentStats(
            ah_mean=ah_mean,
            ahh=(mean[:, 0:9].reshape(-1, 3, 3) - ah_mean[:, :, None] * ah_mean[:, None, :]),
            up_mean=mean[:, 12:15],
            w_up=mean[:, 15].tolist(),
            dv=ah_mean * seg_s,
            turn_dv=ah_mean * mean[:, 15:16] * seg_s,
        )
        # the horizontal angular rate of the whole segments in one operation (_Seg.gh)
        gh_all = minus_scaled(seg_cols[-1][4], seg_cols[-1][2], seg_cols[-1][1]) if nw and self._has_gyr else None
        segs = _Segs(seg_cols, gh_all)
        ends = ([head] if joined is not None else []) + list(range(a0 + g, tail + 1, g))
        recs = [s.rest_log.popleft() for _ in range(n_seg)]
        # gait segments (the same test as in _motion_segment) update the forgetting sums: the packed increments
        # of all of them at once, then the recursion ``x = lam x + v`` over them (one linear filter)
        is_gait = self._is_gait
        gait_flags = [is_gait(rec, w_up) for rec, w_up in zip(recs, st.w_up, strict=True)]
        gait_idx = [i for i, gait in enumerate(gait_flags) if gait]
        lam = cfg.forget_per_s**seg_s
        sums_after: FloatArray | None = None
        up_after: FloatArray | None = None
        if gait_idx:
            gi = np.asarray(gait_idx)
            v = np.empty((gi.size, _GAIT_SUMS))
            # the jerk moments of the first _JERK_FULL gait segments of the stream, then of every _JERK_EVERY-th
            # one (by its absolute count, whatever the chunks), weighted so that the sums keep their scale
            ordinal = s.gait_segments + np.arange(gi.size)
            if int(ordinal[-1]) < _JERK_FULL:
                v[:, 0:36] = self._jerk_moments(ah_seg if gi.size == n_seg else ah_seg[gi])  # (all: no copy)
                v[:, 36] = g - 1
            else:
                wj = np.where(ordinal < _JERK_FULL, 1.0, np.where(ordinal % _JERK_EVERY == 0, float(_JERK_EVERY), 0.0))
                keep = wj.nonzero()[0]
                v[:, 0:36] = 0.0
                if keep.size:
                    v[keep, 0:36] = self._jerk_moments(ah_seg[gi[keep]]) * wj[keep, None]
                v[:, 36] = (g - 1) * wj
            v[:, 37:46] = (st.ahh[gi] * g).reshape(-1, 9)
            v[:, 46] = g
            v[:, 47:50] = st.up_mean[gi] * g
            sums_after, _ = lfilter_zi_call(_ONE, np.array([1.0, -lam]), v, 0, lam * s.gait_sums[None])
            if self._has_gyr:  # the slip detector's short-term gait up
                lam_up = self._lam_up
                up_after, _ = lfilter_zi_call(_ONE, self._den_up, v[:, 47:50], 0, lam_up * s.up_short[None])
        # locked: which gait segments refine the harmonic statistics no longer depends on the updates below, so
        # their increments are computed first, all at once
        pre = self._harmonic_increments(segs, gait_flags) if s.locked and self._has_gyr else None
        out: list[tuple[int, Mounting]] = []
        n_gait = 0
        # after the lock, a gait segment away from rests changes little: inline (what _motion_segment does for
        # it), its _Seg made only if one of the last three (recent_rows, appended in order before a segment that
        # takes the full path and at the end)
        deferred: list[int] = []
        for i, end in enumerate(ends):
            rec = recs[i]
            was_locked = s.locked
            if pre is not None and gait_flags[i] and not s.prev_quiet and not s.start_left:
                s.segments += 1
                s.recent_dv.append(st.dv[i])
                deferred.append(i)
                if s.gait_segments % 3 == 0 and len(s.recent_rows) + len(deferred) >= 2:
                    self._take_harmonic(pre, i, lam, g)
                s.gait_segments += 1
                s.gait_s_total += seg_s
                n_gait += 1
            else:
                if deferred:
                    s.recent_rows.extend(segs[j] for j in deferred[-3:])
                    deferred.clear()
                if self._motion_segment(segs[i], rec, st, i, pre):
                    n_gait += 1
            slip = False
            if was_locked and s.segments % _SLIP_EVERY == 0 and self._has_gyr:
                up_now = s.up_short if up_after is None or not n_gait else up_after[n_gait - 1]
                slip = self._slip_check(rec, up_now, self._n_motion + end)
            if slip or self._wants_update(rec):
                if n_gait:
                    assert sums_after is not None
                    s.gait_sums = sums_after[n_gait - 1]
                m = self._update(rec)
                idx = self._n_motion + end
                if m is not None:
                    out.append((idx, m))
            if s.locked and not was_locked:
                self.lock_index = self._n_motion + end
                self.lock_mounting = self.mounting
        if deferred:
            s.recent_rows.extend(segs[j] for j in deferred[-3:])
        if sums_after is not None:
            s.gait_sums = sums_after[-1].copy()
        if up_after is not None:
            s.up_short = up_after[-1].copy()
        self._n_motion += n
        return out

    def _jerk_moments(self, ah: FloatArray) -> FloatArray:
        """Per segment of ``ah`` ``(segments, grid, 3)`` (horizontal acceleration, sensor frame), the moments
        ``sum j_i j_j`` (9) and ``sum j_i j_j j_k`` (27) of the jerk ``j = diff(a_h) * fs``, batched."""
        out = np.empty((ah.shape[0], 36))
        for b0 in range(0, ah.shape[0], _BLOCK):
            j = np.diff(ah[b0 : b0 + _BLOCK], axis=1) * self.fs  # (segments, grid - 1, 3)
            jc = np.ascontiguousarray(j.transpose(0, 2, 1))  # (segments, 3, grid - 1)
            p = np.empty((jc.shape[0], 9, jc.shape[2]))
            p[:, 0:3] = jc  # rows 0-2: j_k; rows 3-8: j_i j_j for i <= j (see _PAIR_ROW)
            p[:, 3:6] = jc[:, 0:1] * jc
            p[:, 6:8] = jc[:, 1:2] * jc[:, 1:3]
            p[:, 8] = jc[:, 2] * jc[:, 2]
            m = p @ j  # (segments, 9, 3)
            out[b0 : b0 + _BLOCK, 0:9] = m[:, 0:3].reshape(-1, 9)
            out[b0 : b0 + _BLOCK, 9:36] = m[:, _PAIR_ROW].reshape(-1, 27)
        return out

    def _rest_segment(
        self, means: FloatArray, i: int, k: int, acc_std: float, gyr_std: float, maybe_quiet: bool, *, has_gyr: bool
    ) -> _RestRecord:
        """Grid segment ``i`` of pass 1 from the segments' column means (``maybe_quiet``: its two standard
        deviations are below their limits)."""
        cfg, s = self.cfg, self._s
        quiet = upright = False
        acc_mean = means[i, 0:3]
        gyr_mean = means[i, 6:9]
        if maybe_quiet:
            quiet = _norm(gyr_mean) < cfg.quiet_gyr_mean_radps and abs(_norm(acc_mean) - STANDARD_GRAVITY_MPS2) < 0.6
        if quiet:
            upright = self._upright(acc_mean)
            if not s.prev_quiet_rest or (
                s.quiet_n > 0
                and float(acc_mean.dot(s.quiet_acc))
                < math.cos(math.radians(cfg.posture_change_deg)) * (_norm(acc_mean) * _norm(s.quiet_acc))
            ):  # a new quiet period (also after a posture change with no motion detected in between)
                s.quiet_acc = np.zeros(3)
                s.quiet_gyr = np.zeros(3)
                s.quiet_n = 0
            s.quiet_acc = s.quiet_acc + acc_mean * k
            s.quiet_gyr = s.quiet_gyr + gyr_mean * k
            s.quiet_n += k
            if s.quiet_n / self.fs >= cfg.quiet_min_s:
                cand = s.quiet_acc / np.linalg.norm(s.quiet_acc)
                ref = s.vertical
                if ref is None and self.prior.vertical_source != "prior":
                    ref = self.prior.r_pelvis_from_sensor[2]
                if ref is None or float(cand.dot(ref)) >= math.cos(math.radians(cfg.upright_max_deg)):
                    s.vertical = cand  # upright enough: re-level (lying, kneeling, reclining keep the mounting)
                if has_gyr and not s.still_bias:
                    s.bias = s.quiet_gyr / s.quiet_n  # until a still run gives a cleaner one
        # the gyroscope bias from still runs: a quiet window may be a slow movement (a slow bridge or donkey kick
        # passes the mean-rate test); still means a steady rate and gravity not turning against the last window
        still = False
        if quiet and has_gyr and gyr_std < cfg.still_gyr_std_radps and s.prev_acc_mean is not None:
            prev = s.prev_acc_mean
            cos_turn = float(acc_mean.dot(prev)) / (_norm(acc_mean) * _norm(prev))
            still = cos_turn > math.cos(cfg.still_turn_rad_per_s * k / self.fs)
        if still:
            s.still_gyr = s.still_gyr + gyr_mean * k
            s.still_n += k
            if s.still_n / self.fs >= cfg.still_min_s:
                s.bias = s.still_gyr / s.still_n
                s.still_bias = True
        else:
            s.still_gyr = np.zeros(3)
            s.still_n = 0
        s.prev_acc_mean = acc_mean if maybe_quiet else None
        s.prev_quiet_rest = quiet
        return _RestRecord(quiet, acc_std, s.vertical, s.bias, upright)

    def _upright(self, acc_mean: FloatArray) -> bool:
        """A segment's mean specific force within ``upright_max_deg`` of the vertical in use (the latest accepted
        one, else a calibrated prior's; True before either)."""
        s = self._s
        ref = s.vertical
        if ref is None and self.prior.vertical_source != "prior":
            ref = self.prior.r_pelvis_from_sensor[2]
        if ref is None:
            return True
        cos_max = math.cos(math.radians(self.cfg.upright_max_deg))
        return float(acc_mean.dot(ref)) >= cos_max * _norm(acc_mean)  # (np.linalg.norm's value, see _norm)

    def _is_gait(self, rec: _RestRecord, w_up: float) -> bool:
        """A gait segment for the axis statistics: upright, moving enough, not quiet, not turning."""
        cfg = self.cfg
        return (
            rec.upright
            and not rec.quiet
            and rec.acc_std_mps2 > cfg.gait_acc_std_mps2
            and not abs(w_up) > cfg.turn_rate_radps
        )

    def _harmonic_increments(self, segs: _Segs, gait_flags: list[bool]) -> _Harmonic:
        """After the lock: the step period and the odd/even harmonic increments of every segment of one call that
        :meth:`_motion_segment` samples (every third gait segment), batched. The same values as computed there
        one segment at a time (a dry run of its bookkeeping picks the segments and their step periods)."""
        s = self._s
        recent: list[_Seg | int] = list(s.recent_rows)  # the carried segments, then this call's by index
        n_gait, step_n = s.gait_segments, s.step_n
        steps: dict[int, float | None] = {}
        jobs: list[tuple[int, float, FloatArray, FloatArray]] = []  # (segment, step period, gh before, gh)
        a_up, gh_of = segs.a_up, segs.gh
        for i, gait in enumerate(gait_flags):
            recent.append(i)
            if len(recent) > 3:
                del recent[0]
            if gait and n_gait % 3 == 0 and len(recent) >= 2:
                if step_n is None or n_gait % 4 == 0:
                    step_n = self._step_period(np.concatenate([a_up(r) for r in recent]))
                steps[i] = step_n
                if step_n is not None and a_up(recent[-2]).shape[0] >= step_n + 1:
                    jobs.append((i, step_n, gh_of(recent[-2]), gh_of(i)))
            if gait:
                n_gait += 1
        inc: dict[int, FloatArray] = {}
        k = self.grid
        batch = [j for j in jobs if j[2].shape[0] == k and j[3].shape[0] == k]
        for i, step_n_i, prev_gh, gh_i in jobs:
            if prev_gh.shape[0] != k or gh_i.shape[0] != k:  # (segments are whole: never, in fact)
                inc[i] = _harm_row(*_odd_even(prev_gh, gh_i, step_n_i), k)
        if batch:
            hist = np.empty((len(batch), 2 * k, 3))
            for r, (_, _, prev_gh, gh_i) in enumerate(batch):
                hist[r, :k] = prev_gh
                hist[r, k:] = gh_i
            fr = np.array([j[1] - int(j[1]) for j in batch])[:, None]
            # per segment the k + 1 samples from one step and one sample back: win[:, 1:] one step (int part) back,
            # win[:, :-1] one sample more (slice copies: several times faster than a fancy index per sample)
            win = np.empty((len(batch), k + 1, 3))
            for r, j in enumerate(batch):
                a = k - int(j[1]) - 1
                win[r] = hist[r, a : a + k + 1]
            r3 = (len(batch), 3 * k)  # the fractions broadcast over whole rows, not over rows of three
            lagged = ((1.0 - fr) * win[:, 1:].reshape(r3) + fr * win[:, :-1].reshape(r3)).reshape(-1, k, 3)
            gh = hist[:, k:]
            odd = (gh - lagged) / 2.0
            even = (gh + lagged) / 2.0
            p_odd = np.matmul(odd.transpose(0, 2, 1), odd)  # per segment odd.T @ odd (the same BLAS product)
            p_even = np.matmul(even.transpose(0, 2, 1), even)
            rows = np.empty((len(batch), _HARM))  # the packed increments (_harm_row), all at once
            rows[:, 0:9] = p_odd.reshape(-1, 9)
            rows[:, 9:18] = p_even.reshape(-1, 9)
            rows[:, 18] = k
            rows[:, 19:38] = rows[:, 0:19]
            for r, j in enumerate(batch):
                inc[j[0]] = rows[r]
        return _Harmonic(steps, inc)

    def _motion_segment(
        self, seg: _Seg, rec: _RestRecord, st: _SegmentStats, i: int, pre: _Harmonic | None = None
    ) -> bool:
        """The sequential part of one grid segment of pass 2; True for a gait segment (the caller updates the
        forgetting sums). ``pre``: the harmonic increments, computed beforehand (after the lock)."""
        cfg, s = self.cfg, self._s
        k = seg.a_up.shape[0]
        w_up = st.w_up[i]
        seg_s = k / self.fs
        s.segments += 1
        quiet = rec.quiet
        gait = rec.upright and not quiet and rec.acc_std_mps2 > cfg.gait_acc_std_mps2
        # only starts and stops of gait from and to standing are evidence: next to an upright quiet period (getting
        # down to the floor moves any way) and gaining or losing walking speed (the steps of an exercise set, a
        # step-up's way down, change it by 0.1-0.4 m/s, backward as often as forward); both flipped the sign
        # (docs/training.md, round 6)
        if quiet:
            if not s.prev_quiet:
                s.quiet_s_before = 0.0
                lost = sum(s.recent_dv, np.zeros(3))
                if len(s.recent_dv) == s.recent_dv.maxlen and rec.upright and _norm(lost) >= _GAIT_DV_MPS:
                    # gait termination: the velocity lost points forward
                    s.sign_start = s.sign_start - lost
            s.quiet_s_before += seg_s
            s.quiet_upright = rec.upright
            s.recent_dv.clear()
            s.start_left = 0
        else:
            dv = st.dv[i]  # horizontal velocity change over the segment, m/s (sensor frame)
            if s.prev_quiet and s.quiet_s_before >= 1.0 and s.quiet_upright:
                s.start_left = max(1, round(cfg.start_window_s / cfg.grid_s))
                s.start_dv = np.zeros(3)
            if s.start_left > 0:
                s.start_dv = s.start_dv + dv
                s.start_left -= 1
                if s.start_left == 0 and _norm(s.start_dv) >= _GAIT_DV_MPS:
                    s.sign_start = s.sign_start + s.start_dv
            s.recent_dv.append(dv)
        s.prev_quiet = quiet
        lam = cfg.forget_per_s**seg_s
        turning = abs(w_up) > cfg.turn_rate_radps
        if gait and turning and rec.acc_std_mps2 > cfg.turn_sign_min_acc_std_mps2:
            # only running turns: walkers often pivot (small radius, little forward speed), where the lateral
            # acceleration does not follow w x v (on the real walking recordings it picked the wrong sign)
            s.sign_turn = s.sign_turn + st.turn_dv[i]
        gait = gait and not turning  # turns: the yaw rate leaks into every axis estimate
        s.recent_rows.append(seg)
        # after the lock, the harmonic statistics are refined on every third gait segment only (cheaper; the
        # axis moves slowly)
        sample_this = not s.locked or s.gait_segments % 3 == 0
        if gait and self._has_gyr and sample_this and len(s.recent_rows) >= 2:
            if pre is not None:
                self._take_harmonic(pre, i, lam, k)
            else:
                if s.step_n is None or s.gait_segments % 4 == 0:  # the step period changes slowly
                    s.step_n = self._step_period(np.concatenate([r.a_up for r in s.recent_rows]))
                step_n = s.step_n
                prev_gh = s.recent_rows[-2].gh()
                if step_n is not None and prev_gh.shape[0] >= step_n + 1:
                    # odd-harmonic part of the horizontal angular rate: half the difference to one step earlier.
                    # Obliquity repeats every stride (odd harmonics), tilt every step (even): its axis is AP.
                    p_odd, p_even = _odd_even(prev_gh, seg.gh(), step_n)
                    s.harm = self._lam_harm * s.harm + _harm_row(p_odd, p_even, k)
        if gait:
            s.gait_segments += 1
            s.gait_s_total += seg_s
        return gait

    def _take_harmonic(self, pre: _Harmonic, i: int, lam: float, k: int) -> None:
        """Segment ``i``'s step period and odd/even harmonic increments, computed beforehand (after the lock), into
        the forgetting sums (``k`` samples)."""
        s = self._s
        s.step_n = pre.step_n[i]
        inc = pre.inc.get(i)
        if inc is not None:
            s.harm = self._lam_harm * s.harm + inc

    def _slip_check(self, rec: _RestRecord, up_sum: FloatArray, index: int) -> bool:
        """Compare the short-term statistics with the mounting in use (see _SLIP_EVERY); True when the mounting
        must be refined now (a slip was found: the statistics or the vertical correction were changed)."""
        s = self._s
        n_new = s.gait_segments - s.slip_gait_at
        s.slip_gait_at = s.gait_segments
        m = self.mounting
        if n_new < _SLIP_MIN_GAIT or m.forward_source != "gait" or rec.quiet:
            s.slip_fwd_run = s.slip_v_run = 0
            return False
        # forward: the principal horizontal axis of the short-term odd + 90-deg-turned even statistics (as in
        # _update), as its angle phi from the forward axis in use, in the (AP, ML) plane
        h = s.harm
        if float(h[37]) / self.fs < _SLIP_TAU_FWD_S / 6.0:  # (half the steady-state weight: tau / 3 s sampled)
            return False
        frame = self._slip_frame
        if frame is None or frame[0] is not m:
            r = m.r_pelvis_from_sensor
            # rows: vec(f f^T), vec(f ml^T), vec(ml ml^T): x^T M y = vec(x y^T) . vec(M)
            q = np.stack([np.outer(r[0], r[0]).ravel(), np.outer(r[0], r[1]).ravel(), np.outer(r[1], r[1]).ravel()])
            frame = self._slip_frame = (m, q, r[1].tolist())
        _, q, ml = frame
        # (f^T O f, f^T E f), (f^T O ml, f^T E ml), (ml^T O ml, ml^T E ml) in one product
        (oo_ff, ee_ff), (oo_fl, ee_fl), (oo_ll, ee_ll) = (q @ h[19:37].reshape(2, 9).T).tolist()
        tr_o = oo_ff + oo_ll
        tr_e = ee_ff + ee_ll
        if tr_o <= 0.0 or tr_e <= 0.0:
            return False
        a = oo_ff / tr_o + ee_ll / tr_e
        c = oo_ll / tr_o + ee_ff / tr_e
        b = oo_fl / tr_o - ee_fl / tr_e
        phi = 0.5 * math.atan2(2.0 * b, a - c)
        disc = math.hypot(0.5 * (a - c), b)
        lam_lo = 0.5 * (a + c) - disc
        ratio = (0.5 * (a + c) + disc) / lam_lo if lam_lo > 1e-12 else math.inf
        # obliquity of the short-term mean gait up in the mounting in use
        u0, u1, u2 = up_sum.tolist()
        nu = math.sqrt(u0 * u0 + u1 * u1 + u2 * u2)
        obl = math.asin(max(-1.0, min(1.0, (ml[0] * u0 + ml[1] * u1 + ml[2] * u2) / nu)))
        if self.slip_trace is not None:
            ref_deg = math.nan if s.obl_ref_rad is None else math.degrees(s.obl_ref_rad)
            self.slip_trace.append((index / self.fs, math.degrees(phi), ratio, math.degrees(obl), ref_deg))
        if s.slip_fwd_follow:
            # after a forward slip: the short-term statistics hold less and less of the time before it
            s.slip_fwd_follow -= 1
            s.harm[0:19] = h[19:38]
            return True
        if ratio > _SLIP_FWD_RATIO:  # (else the short-term axis is not defined well enough: no evidence either way)
            if abs(phi) > math.radians(_SLIP_FWD_DEG):
                s.slip_fwd_run += 1
                if s.slip_fwd_run >= _SLIP_FWD_CHECKS:
                    # the long-term statistics restart from the short-term ones
                    s.harm[0:19] = h[19:38]
                    s.slip_fwd_run = 0
                    s.slip_fwd_follow = _SLIP_FOLLOW
                    self.slip_events.append((index, "forward", math.degrees(phi)))
                    return True
                return False
            s.slip_fwd_run = 0
        if s.slip_fwd_run:  # a forward disagreement under way: the frame of the obliquity may be off
            return False
        if rec.vertical is None:
            return False
        if s.v_corr_base is not rec.vertical:
            # a new standing vertical (a rest re-levelled): no correction, and a new reference once the short-term
            # mean holds little of the time before the rest (the clip may have been moved there)
            s.v_corr = s.v_corr_out = None
            s.v_corr_base = rec.vertical
            s.obl_ref_rad = None
            s.slip_v_wait = _SLIP_V_WAIT
            s.slip_v_run = s.slip_v_follow = 0
        if s.slip_v_wait:
            s.slip_v_wait -= 1
            return False
        ref = s.obl_ref_rad
        if ref is None:
            s.obl_ref_rad = obl
            return False
        d = obl - ref
        follow = s.slip_v_follow > 0
        if follow or abs(d) > math.radians(_SLIP_V_DEG):
            s.slip_v_run += 1
            if follow or s.slip_v_run >= _SLIP_V_CHECKS:
                # the clip turned about AP: turn the vertical about AP by -d (the obliquity back to its reference),
                # then again on the next _SLIP_FOLLOW checks (the short-term mean still held some of the time before)
                s.slip_v_run = 0
                if follow:
                    s.slip_v_follow -= 1
                else:
                    s.slip_v_follow = _SLIP_FOLLOW
                    self.slip_events.append((index, "vertical", math.degrees(d)))
                r = _rot_axis(m.r_pelvis_from_sensor[0], -d)
                s.v_corr = r if s.v_corr is None else r @ s.v_corr
                s.v_corr_out = s.v_corr @ rec.vertical
                return True
            return False
        s.slip_v_run = 0
        s.obl_ref_rad = ref + (obl - ref) / _SLIP_REF_CHECKS
        return False

    def _wants_update(self, rec: _RestRecord) -> bool:
        s = self._s
        # after the lock, refine every 10 grid points while the statistics settle, then every 30 (cheaper; the
        # estimate moves slowly then)
        every = _REFINE_EVERY[s.gait_s_total >= _SETTLE_S]
        return not (s.locked and s.segments % every and not (rec.quiet and rec.bias is not None))

    def _step_period(self, fv: FloatArray) -> float | None:
        """Step period in samples from the autocorrelation of the vertical specific force (last ~3 s)."""
        d = max(1, round(self.fs / 50.0))
        x = fv[::d]
        x = x - np.add.reduce(x) / x.size  # x.mean() (the same sum and division) without its wrapper
        fsd = self.fs / d
        lo, hi = max(2, int(0.25 * fsd)), int(0.8 * fsd)
        if x.size < hi + 10:
            return None
        den = float(x @ x)
        if den <= 0:
            return None
        # the autocorrelation at lags lo..hi (np.correlate: each lag one dot product, as x[:-lag] @ x[lag:])
        r = (np.correlate(x, x, "full")[x.size - 1 + lo : x.size + hi] / den).tolist()
        peaks = [i for i in range(1, len(r) - 1) if r[i] >= r[i - 1] and r[i] >= r[i + 1]]
        if not peaks:
            return None
        best = max(r[i] for i in peaks)
        if best < 0.2:
            return None
        i = next(i for i in peaks if r[i] >= 0.7 * best)
        # parabolic refinement of the peak
        den2 = r[i - 1] - 2 * r[i] + r[i + 1]
        off = 0.5 * (r[i - 1] - r[i + 1]) / den2 if den2 < 0 else 0.0
        return (lo + i + off) * d

    def _update(self, rec: _RestRecord) -> Mounting | None:
        cfg, s = self.cfg, self._s
        prior_r = self.prior.r_pelvis_from_sensor
        # vertical
        if rec.vertical is not None:
            v = rec.vertical
            if s.v_corr_out is not None and s.v_corr_base is v:  # turned after a slip about AP (_slip_check)
                v = s.v_corr_out
            c_vert = 1.0
            v_src: VerticalSource = "standing"
        elif s.gait_n > 0 and s.gait_s_total >= 5.0:
            v = s.gait_up / _norm(s.gait_up)
            c_vert = min(1.0, s.gait_s_total / 10.0) * 0.8
            v_src = "gait"
        else:
            v = prior_r[2]
            c_vert = 0.3 if self.prior.vertical_source == "prior" else 0.8
            v_src = "prior"
        # forward axis
        prior_ap, p, k90 = self._vertical_frame(v)
        f_src: ForwardSource = "prior"
        c_fwd = 0.2 if self.prior.forward_source == "prior" else 0.7
        f = prior_ap
        if s.odd_n > 0 and s.odd_n / self.fs >= 3.0:
            # AP from the odd harmonics (obliquity, about AP) and, turned by 90 deg about V, from the even
            # harmonics (tilt, about ML); each normalised by its trace so that both vote with their shape.
            # (Taking only the more elongated one was better in simulation, 0.1 vs 0.2 deg drop RMSE, where the
            # odd part is nearly ideal, but worse on the real walking recordings: 87 vs 93 % correct sides.)
            c_odd = p @ s.odd_cov @ p
            c_even = p @ s.even_cov @ p
            m_ap = c_odd / max(_trace(c_odd), 1e-12) + k90 @ c_even @ k90.T / max(_trace(c_even), 1e-12)
            w, vecs = np.linalg.eigh(m_ap)
            ratio = float(w[2] / max(w[1], 1e-12))
            cand = vecs[:, 2] / _norm(vecs[:, 2])
            f = cand
            f_src = "gait"
            c_fwd = max(c_fwd, min(1.0, s.odd_n / self.fs / 8.0) * min(max((ratio - 1.0) / 3.0, 0.0), 1.0))
        elif not self._has_gyr and s.gait_n > 0 and s.gait_s_total >= 3.0:
            c = p @ (s.gait_cov / s.gait_n) @ p
            w, vecs = np.linalg.eigh(c)
            ratio = float(w[2] / max(w[1], 1e-9))
            cand = vecs[:, 2] - vecs[:, 2].dot(v) * v
            cand = cand / _norm(cand)
            c_gait = min(1.0, s.gait_s_total / 8.0) * min(max((ratio - 1.0) / 1.5, 0.0), 1.0)
            if c_gait >= c_fwd * 0.5:
                f = cand
                f_src = "gait"
                c_fwd = max(c_fwd, c_gait)
        # sign of forward
        e_start = float(s.sign_start.dot(f))
        ml_turn = s.sign_turn - s.sign_turn.dot(v) * v
        e_turn = cfg.turn_sign_weight * float(_cross(ml_turn, v).dot(f))
        e_prior = cfg.prior_sign_weight * float(prior_ap.dot(f)) * (3.0 if self.prior.sign_source != "prior" else 1.0)
        e_coll = cfg.collision_sign_weight * self._collision_evidence(f)
        score = e_start + e_turn + e_prior + e_coll
        sign_src: SignSource = "prior"
        if abs(e_start) >= max(abs(e_turn), abs(e_prior), abs(e_coll)):
            sign_src = "gait_start_stop"
        elif abs(e_turn) >= max(abs(e_prior), abs(e_coll)):
            sign_src = "turns"
        elif abs(e_coll) >= abs(e_prior):
            sign_src = "collision"
        if score < 0:
            f = -f
        c_sign = float(1.0 - math.exp(-abs(score) / 0.5))
        ml = _cross(v, f)
        r = np.array([f, ml / _norm(ml), v])
        conf = min(max(c_vert * c_fwd * c_sign, 0.0), 1.0)
        bias = rec.bias if rec.bias is not None else self.prior.gyr_bias_radps
        if not s.locked and (conf >= cfg.lock_confidence or s.segments * cfg.grid_s >= cfg.max_warmup_s):
            s.locked = True
        old = self.mounting
        angle = _rotation_angle_deg(old.r_pelvis_from_sensor, r)
        changed = (
            angle > cfg.update_angle_deg
            or float(_norm(bias - old.gyr_bias_radps)) > 1e-3
            or (v_src, f_src, sign_src) != (old.vertical_source, old.forward_source, old.sign_source)
            or abs(conf - old.confidence) > 0.1
        )
        if not changed:
            return None
        self.mounting = Mounting(r, np.array(bias, dtype=np.float64), conf, v_src, f_src, sign_src)
        return self.mounting

    def _vertical_frame(self, v: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """For the vertical ``v``: the prior's forward axis made horizontal, the horizontal projector
        ``I - v v^T`` and the 90 deg rotation about ``v`` (cross-product matrix). Kept while the vertical is the
        same array (a standing vertical serves many updates)."""
        cached = self._frame
        if cached is not None and cached[0] is v:
            return cached[1]
        prior_r = self.prior.r_pelvis_from_sensor
        prior_ap = prior_r[0] - prior_r[0].dot(v) * v
        if _norm(prior_ap) < 1e-3:  # prior forward is vertical: any horizontal axis
            prior_ap = _cross(v, np.array([0.0, 0.0, 1.0]) if abs(v[2]) < 0.9 else np.array([1.0, 0.0, 0.0]))
        prior_ap = prior_ap / _norm(prior_ap)
        p = np.eye(3) - np.outer(v, v)
        k90 = np.array([[0.0, -v[2], v[1]], [v[2], 0.0, -v[0]], [-v[1], v[0], 0.0]])
        frame = (prior_ap, p, k90)
        self._frame = (v, frame)
        return frame

    def _collision_evidence(self, f: FloatArray) -> float:
        """Minus the skewness of the gait jerk along ``f`` (positive: ``f`` points forward), ramped in over
        ``collision_full_s`` seconds of gait."""
        s = self._s
        if s.jerk_n <= 0:
            return 0.0
        m2 = float(f @ s.jerk_m2 @ f) / s.jerk_n
        if m2 <= 0:
            return 0.0
        # sum_ijk m3_ijk f_i f_j f_k: the terms ((m3_ijk f_i) f_j) f_k added one after the other in (i, j, k)
        # order, as einsum("ijk,i,j,k->") does (the same number, without its set-up cost)
        terms = s.jerk_m3 * f[:, None, None] * f[None, :, None] * f[None, None, :]
        m3 = float(np.cumsum(terms.ravel())[-1]) / s.jerk_n
        ramp = min(1.0, s.gait_s_total / self.cfg.collision_full_s)
        return float(-ramp * m3 / m2**1.5)


@dataclass(slots=True)
class _Harmonic:
    """Per segment index: the step period after the segment (sampled segments) and the odd/even increments."""

    step_n: dict[int, float | None]
    inc: dict[int, FloatArray]  # packed increments (_harm_row)


def _harm_row(p_odd: FloatArray, p_even: FloatArray, k: int) -> FloatArray:
    """The increment of the packed harmonic statistics (``_State.harm``): odd, even, weight, twice."""
    row = np.empty(_HARM)
    row[0:9] = p_odd.reshape(9)
    row[9:18] = p_even.reshape(9)
    row[18] = k
    row[19:38] = row[0:19]
    return row


def _odd_even(prev_gh: FloatArray, gh: FloatArray, step_n: float) -> tuple[FloatArray, FloatArray]:
    """``odd.T @ odd`` and ``even.T @ even`` of one segment: ``odd``/``even`` = half the difference/sum of the
    horizontal angular rate ``gh`` and itself one step (``step_n`` samples, interpolated) earlier."""
    hist = np.concatenate([prev_gh, gh])
    k = gh.shape[0]
    i0 = int(step_n)
    fr = step_n - i0
    a0 = prev_gh.shape[0]
    lagged = (1.0 - fr) * hist[a0 - i0 : a0 - i0 + k] + fr * hist[a0 - i0 - 1 : a0 - i0 - 1 + k]
    odd = (gh - lagged) / 2.0
    even = (gh + lagged) / 2.0
    return odd.T @ odd, even.T @ even


def _rot_axis(k: FloatArray, angle_rad: float) -> FloatArray:
    """The rotation by ``angle_rad`` about the unit axis ``k`` (Rodrigues)."""
    kx = np.array([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]])
    out: FloatArray = np.eye(3) + math.sin(angle_rad) * kx + (1.0 - math.cos(angle_rad)) * (kx @ kx)
    return out


def _cross(a: FloatArray, b: FloatArray) -> FloatArray:
    """``np.cross`` of two 3-vectors (the same products and differences, without its axis handling)."""
    a0, a1, a2 = a.tolist()
    b0, b1, b2 = b.tolist()
    return np.array([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0])


def _trace(m: FloatArray) -> float:
    """``np.trace`` of a matrix."""
    return float(m.trace())


def _norm(v: FloatArray) -> float:
    """``np.linalg.norm`` of a vector (``sqrt(v . v)``, as it computes it)."""
    return math.sqrt(float(v.dot(v)))


def _rotation_angle_deg(r1: FloatArray, r2: FloatArray) -> float:
    c = (_trace(r1 @ r2.T) - 1.0) / 2.0
    return math.degrees(math.acos(max(-1.0, min(1.0, c))))


def rotation_angle_deg(r1: FloatArray, r2: FloatArray) -> float:
    """Angle of the rotation between two rotation matrices, degrees."""
    return _rotation_angle_deg(r1, r2)


@dataclass(frozen=True, slots=True, eq=False)
class CalibrationResult:
    """Outcome of a guided calibration recording (stand still >= 3 s, then walk >= 10 steps)."""

    mounting: Mounting
    quiet_s: float
    gait_s: float
    ok: bool
    message: str


def calibrate_recording(
    acc_mps2: FloatArray,
    gyr_radps: FloatArray | None,
    up_sensor: FloatArray,
    sampling_rate_hz: float,
    prior: Mounting | None = None,
) -> CalibrationResult:
    """The mounting from a guided recording (pure; the up vectors come from the orientation filter).

    The result is meant as the prior of later automatic calibrations (its sources are kept, so the automatic
    calibration gives it more weight than the clip's nominal orientation); it can only help them.
    """
    cal = MountingCalibrator(sampling_rate_hz, CalibrationConfig(max_warmup_s=1e9), prior=prior)
    cal.feed_rest(acc_mps2, gyr_radps)
    cal.feed_motion(acc_mps2, gyr_radps, up_sensor)
    s = cal._s
    m = cal._update(s.rest_log[-1] if s.rest_log else _RestRecord(False, 0.0, s.vertical, s.bias)) or cal.mounting
    quiet_ok = m.vertical_source == "standing"
    gait_ok = m.forward_source == "gait" and s.gait_s_total >= 4.0
    sign_ok = m.sign_source != "prior"
    problems = []
    if not quiet_ok:
        problems.append("no quiet standing of >= 2 s was found: stand still for 3 s at the start")
    if not gait_ok:
        problems.append("too little walking: walk at least 10 steps straight ahead")
    if not sign_ok:
        problems.append("the walking direction could not be told: start walking from standing still")
    ok = quiet_ok and gait_ok and sign_ok
    msg = "calibration ok" if ok else "; ".join(problems)
    return CalibrationResult(m, s.quiet_n / sampling_rate_hz, s.gait_s_total, ok, msg)
