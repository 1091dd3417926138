"""Gait events from the hip sensor alone: initial contact (IC), toe-off (TO) and the stance side of every step.

Signals (pelvis/world frame, from :mod:`sensor.pipeline.orientation`): the vertical specific force ``f_v``
(``acc . up``: about 0 in running flight, 2-3 g at mid-stance, oscillating around 1 g in walking), the ML
specific force and the roll rate ``gyr_ap``.

* **Steps**: one vertical-force peak per step. ``f_v`` is smoothed by a linear-phase Hann FIR (0.12 s; exact,
  known delay) and a sample is a step peak when it is the maximum of ``[i - 0.22 s, i + 0.25 s]`` (220 steps/min
  is one step every 0.27 s), exceeds 1.1 g and rises at least 0.25 g above the preceding minimum; a refractory
  period of 55 % of the recent median step time suppresses the second hump of a walking step. Slow walking
  steps (gait termination: the last steps before stopping load the pelvis by only 0.05-0.2 g) are weaker: a
  peak above 1.03 g that rises 0.05 g and falls 0.05 g again within 0.25 s (a bump, not settling into
  standing) continues an ongoing walking chain (two walking steps before it) when it comes 0.6-1.5 median step
  times after the previous peak (later, a step was skipped and the chain's alternation would give it the wrong
  side), the heading turned less than 20 deg per step (the yaw change over the last stride, two median step
  times, halved: the pelvis rotation that alternates with the stance side cancels; pivot turns add weight shifts
  without a heel strike; in a turn the peak must rise and fall ``TURN_PROMINENCE_G`` = 0.15 g, as the first
  steps into a pivot turn do) and it shows the forward-acceleration/braking pattern of a heel strike (below).
  The IC of such a weak step is its loading peak minus ``WEAK_IC_BEFORE_PEAK_S`` (60 ms): in slow steps the
  forward-acceleration peak at heel strike fades and its largest maximum is as often 70-130 ms early or late.
* **Running** (a flight phase: the smoothed ``f_v`` fell below 0.4 g since the previous peak): in flight the
  sensor is in free fall (``f_v`` ~ 0) and the ground reaction force of stance starts with a steep impact edge.
  IC is where the raw ``f_v`` (no smoothing: it would move the edge earlier) first rises through 10 % of the
  stance hump above the
  flight baseline; TO is the falling edge of the hump (gradual push-off) linearly extrapolated to the baseline
  from its 60 % and 30 % crossings (cf. the sacral-IMU methods validated against force plates, e.g. Lee et al.
  2010, Patoz et al. 2022).
* **Walking** (no flight): the vertical force peaks in the loading response after heel strike, but 20-150 ms
  after it depending on the person and the foot, so a fixed offset from it cannot fit both feet. IC is the peak
  forward (AP) acceleration before that loading peak (Zijlstra & Hof 2003: the pelvis is pulled forward until
  the new foot lands, then braked): the local maximum of the 0.05 s smoothed AP specific force in
  ``[peak - 0.25 s, peak + 0.05 s]`` with the largest height plus braking dip in the next 60 ms. Where there
  is no interior maximum (the simulator's walking model, whose AP acceleration is a plain sine peaking
  mid-step) IC falls back to the loading peak (0.12 s smoothed ``f_v``, parabolic refinement) minus 30 ms (the
  simulator's 29 ms). The toe-off of a walking step is not detected but estimated: IC k+1 plus a double
  support of 0.24 step times (12 % of the stride; measured 140 ms on the lower-back recordings of Voisard et
  al. 2023), and is reported as such.
* **Gait initiation**: the first step from standing is not shorter than the steady steps after it, so a walking
  chain whose first IC interval is below 0.85 of the median of the next four starts with the push-off of the
  anticipatory postural adjustment (a vertical peak ~0.35 s before the first heel strike on some persons), not a
  heel strike: that peak is dropped once the side look-ahead is complete.
* **Lead-in steps**: the first steps from standing, and the first after a turn, are weak and have no chain to
  continue; up to ``LEAD_MAX_STEPS`` weak walking peaks with a heel strike's forward-acceleration pattern that lead
  the strong peak starting a new chain by a walking step time each become its first steps (:meth:`_lead_in`).
* **Stance side**: per step, two cues whose sign is set by physics: the roll rate in early stance (the swing
  side drops: roll rises in left stance) and the ML acceleration in stance (the centre of mass is pushed toward
  the midline, to the right in left stance). Steps alternate, so each chain of consecutive steps gets one
  parity from the sum of the cues over a sliding window (``side_window_steps`` back, ``side_lookahead_steps``
  ahead): far more robust than any single-step rule (single-step sacral methods: ~82 % in running,
  PMC10255839). A gap longer than 1.7 median step times, or 1.5 s, breaks the chain.

All of it runs on absolute sample indices with fixed look-ahead, so it is chunk-size invariant.
"""

from __future__ import annotations

import functools
import math
import statistics
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from sensor.frames import STANDARD_GRAVITY_MPS2, Side
from sensor.pipeline.buffer import SignalBuffer
from sensor.pipeline.filters import StatefulFilter, clip, filled, minmax_filter1d, nan_to, window_rows

FloatArray = NDArray[np.float64]
G = STANDARD_GRAVITY_MPS2
_amin, _amax, _any = np.minimum.reduce, np.maximum.reduce, np.logical_or.reduce  # (the array methods' cores)
WALK_IC_BEFORE_PEAK_S = 0.030
RUN_IC_LEVEL = 0.10
START_EXTRA_LOOKAHEAD = 6
WALK_DOUBLE_SUPPORT_STEPS = 0.24
WALK_AP_SMOOTH_S = 0.05
WALK_AP_BEFORE_S = 0.25
WALK_AP_AFTER_S = 0.05
WALK_AP_DROP_S = 0.06
_MEASURE_BACK_S = 2.0  # margin before an open step's first contact that its measurement may read
TO_SEARCH_S = 0.45  # running toe-off: the raw force after the loading peak is searched this long
WEAK_PEAK_MIN_G = 1.03
WEAK_PEAK_PROMINENCE_G = 0.05
WEAK_MIN_STEPS = 0.6
WEAK_MAX_TURN_DEG = 20.0  # per step, over the last stride (see GaitDetector._turn_per_step_deg)
# the heading change of a weak peak is measured over this many median step times (one stride: the pelvis rotation
# that alternates with the stance side cancels) and divided by it
TURN_STRIDE_STEPS = 2
# a weak peak continues a chain only within this many median step times of the last step: a longer gap skipped a
# step, and the chain's alternation would give the weak step the wrong side
WEAK_MAX_STEPS = 1.5
# a weak peak continuing a walking chain through a turn (heading turned >= WEAK_MAX_TURN_DEG): rising and falling
# this much (the first steps into a pivot turn rise 0.16-0.25 g on the lower-back recordings, just short of a strong
# peak; weaker turn peaks are as often weight shifts as heel strikes)
TURN_PROMINENCE_G = 0.15
# walking IC of a weak peak continuing a chain: the loading peak minus this (slow steps: the forward-acceleration
# peak at heel strike fades, the loading peak comes 40-130 ms after it on the lower-back recordings)
WEAK_IC_FROM_PEAK = True
WEAK_IC_BEFORE_PEAK_S = 0.06
STRONG_PEAK_G = 1.1
STRONG_PROMINENCE_G = 0.25
FIRST_STEP_MIN_RATIO = 0.85  # walking: a chain's first IC interval vs the median of the next four
LEAD_MIN_S = 0.5  # walking lead-in steps: spacing to the next step (walking step times 0.5-1.0 s)
LEAD_MAX_S = 1.0
LEAD_PROMINENCE_G = 0.1
LEAD_MAX_STEPS = 2


@functools.lru_cache(maxsize=16)  # the walking-IC search asks for the same window on every batch
def hann_fir(length_s: float, sampling_rate_hz: float) -> tuple[FloatArray, int]:
    """A unit-gain Hann FIR of about ``length_s`` and its delay in samples (odd length, exact delay)."""
    n = max(3, round(length_s * sampling_rate_hz) | 1)
    w = np.hanning(n + 2)[1:-1]
    taps = w / w.sum()
    taps.setflags(write=False)  # cached: shared by every caller
    return taps, (n - 1) // 2


@dataclass(slots=True)
class Step:
    """A detected step (indices are absolute, fractional sample positions)."""

    peak: int
    ic: float
    to: float | None
    running: bool
    peak_mps2: float
    cue_roll: float = 0.0
    cue_ml: float = 0.0
    chain: int = 0
    pos: int = 0
    side: Side | None = None
    side_margin: float = 0.0
    next_ic: float | None = None
    prev_ic: float | None = None
    done: bool = False
    med: float = 0.0  # the median step interval (samples) when the step was detected
    cue: float = 0.0  # combined side cue (normalised)
    cued: bool = False
    dropped: bool = False  # the anticipatory push-off before gait initiation, not a step


class GaitDetector:
    """Streaming step detection and side assignment over a shared :class:`SignalBuffer`.

    The pipeline writes raw columns ``f_v``, ``acc_ml``, ``gyr_ap`` (and the others it needs later); this
    class writes ``f_s`` (edge smoothing) and ``f_slow`` (peak finding), both aligned to the raw index.
    """

    def __init__(
        self,
        sampling_rate_hz: float,
        buf: SignalBuffer,
        *,
        has_gyr: bool,
        lookahead_steps: int = 2,
        window_steps: int = 16,
    ) -> None:
        fs = float(sampling_rate_hz)
        self.fs = fs
        self.buf = buf
        self.has_gyr = has_gyr
        # edges on the raw force: the impact edge is one or two samples steep, smoothing would move it earlier
        self.d_edge = 0
        b2, self.d_slow = hann_fir(0.12, fs)
        self._f_slow = StatefulFilter(b2, np.array([1.0]))
        self.before = max(1, round(0.22 * fs))
        self.after = max(1, round(0.25 * fs))
        # the peak window is [i - before, i + win_after]: a centred max filter needs an odd length, so it reaches one
        # sample further after when before + after is odd; every chunking must see that sample before deciding
        self.win_after = self.after + (self.before + self.after) % 2
        # raw look-ahead: the running toe-off search reads the raw force up to TO_SEARCH_S after a peak
        self.raw_ahead = round(TO_SEARCH_S * fs)
        self.lookahead_samples = self.d_slow + self.after + self.raw_ahead
        self._next = 0  # next candidate index not yet examined
        self._last_peak: int | None = None
        self._recent_kind: deque[bool] = deque(maxlen=2)  # running flags of the last two steps
        self._last_ic = 0.0
        self._intervals: list[int] = []
        # median_interval() and _break_gap() of the current intervals, updated when a step adds one (read per peak)
        self._gap_max = 1.5 * fs
        self._median = 0.35 * fs
        self._break = self._gap_max
        self._steps: list[Step] = []  # open steps (not yet emitted)
        # weak walking peaks since the last step, (peak, value, IC), kept as possible lead-in steps of a new chain
        self._lead: list[tuple[int, float, float]] = []
        self._lead_steps: list[Step] = []  # lead-in steps made by the last examined peak, inserted before it
        self._chain = 0
        self._chain_pos = 0
        self._rms_roll = 0.0
        self._rms_ml = 0.0
        self._cue_n = 0
        self.lookahead_steps = lookahead_steps
        self.window_steps = window_steps
        # combined cues signed by chain parity: per chain, the values from position ``_hist_off[chain]`` on
        # (plain lists: the side window sums a slice, in position order)
        self._hist: dict[int, list[float]] = {}
        self._hist_off: dict[int, int] = {}
        self.peaks: list[tuple[int, bool]] = []  # recent (peak index, running) for activity labels

    # ------------------------------------------------------------------------------------------------
    def feed_filters(self, start: int, f_v: FloatArray) -> None:
        """Filter the new raw ``f_v`` samples ``[start, start+n)`` into the aligned smoothed columns."""
        fsl = self._f_slow(f_v)
        # the edge filter is the identity (one unit tap, no delay): its output is the raw force itself
        self._write_delayed("f_s", start, f_v, self.d_edge)
        self._write_delayed("f_slow", start, fsl, self.d_slow)

    def _write_delayed(self, col: str, start: int, y: FloatArray, d: int) -> None:
        # output sample j of a linear-phase FIR describes input j - d; the first d outputs describe the time
        # before the stream and are dropped
        first = start - d
        if first < 0:
            y = y[-first:]
            first = 0
        self.buf.write(col, first, y)

    def prune_peaks(self, before: int) -> None:
        """Forget peaks older than ``before`` (the activity labels no longer need them)."""
        k = 0
        while k < len(self.peaks) - 1 and self.peaks[k + 1][0] < before:
            k += 1
        if k:
            del self.peaks[:k]

    def _break_gap(self) -> float:
        """Longest gap (samples) between two peaks of one chain: 1.5 s, or 1.7 median intervals once there are
        two."""
        return self._break

    def _weak_max_gap(self) -> float:
        """Longest gap (samples) after which a weak peak still continues the chain."""
        lim = WEAK_MAX_STEPS * self._median
        return lim if lim < self._break else self._break

    def median_interval(self) -> float:
        """Median of the last 9 step intervals (samples; 0.35 s before the first)."""
        return self._median

    def _add_interval(self, gap: int) -> None:
        intervals = self._intervals
        intervals.append(gap)
        if len(intervals) > 9:
            del intervals[0]
        # statistics.median's value (sorted middle, or the mean of the two middle ints) without its overhead
        s = sorted(intervals)
        m = len(s) // 2
        med = self._median = float(s[m]) if len(s) % 2 else (s[m - 1] + s[m]) / 2
        if len(s) >= 2:
            lim = 1.7 * med
            self._break = lim if lim < self._gap_max else self._gap_max  # min(1.5 fs, 1.7 median)

    def detect(self, final: bool = False) -> list[Step]:
        """Find new steps whose look-ahead is complete; returns steps whose side is now decided."""
        buf = self.buf
        end_slow = buf.end("f_slow")
        limit = end_slow if final else end_slow - self.win_after
        limit = min(limit, buf.end("f_s") - (0 if final else self.raw_ahead))
        new_steps: list[Step] = []
        if limit > self._next:
            a = max(buf.start, self._next - self.before)
            seg = buf.get("f_slow", a, min(end_slow, limit + self.win_after))
            if seg.size:
                mx = _window_max(seg, self.before, self.win_after)
                idx = ((seg == mx) & (seg > WEAK_PEAK_MIN_G * G)).nonzero()[0] + a  # (np.flatnonzero of 1-D)
                idx = idx[(idx >= self._next) & (idx < limit)]
                if idx.size:
                    feats = [f.tolist() for f in self._features(idx)]  # Python floats, as float(f[k])
                    examine, make_step, isnan = self._examine, self._make_step, math.isnan
                    strong_pk, strong_prom = STRONG_PEAK_G * G, STRONG_PROMINENCE_G * G
                    for i, pk, prom, fall, run, ic, to, ap, ic_pk in zip(idx.tolist(), *feats, strict=True):
                        if run > 0 and pk > strong_pk and prom >= strong_prom:
                            # a strong running peak (most of a run): what _examine decides for it, in short
                            if not isnan(ic):
                                if self._lead:
                                    self._lead = []
                                new_steps.append(make_step(i, pk, ic, to, True))
                            continue
                        st = examine(i, pk, prom, fall, run, ic, to, ap, ic_pk)
                        if st is not None:
                            new_steps.append(st)
                            if self._lead_steps:
                                new_steps[-1:-1] = self._lead_steps
                                self._lead_steps = []
            self._next = limit
        self._steps.extend(new_steps)
        # chain breaks: a long gap since the last peak ends the chain
        if self._last_peak is not None:
            gap = self._next - self._last_peak
            if final or gap > self._break_gap():
                self._close_chain()
        return self._decide(final)

    def _features(self, idx: NDArray[np.int64]) -> tuple[FloatArray, ...]:
        """Per candidate peak (vectorised): peak value, prominence, fall, running, IC and TO (nan if none), whether the
        walking IC came from the forward acceleration, and the weak-step IC from the loading peak (walking peaks
        only: nan for all when every peak is a running one)."""
        buf, fs = self.buf, self.fs
        idx_lo, idx_hi = int(_amin(idx)), int(_amax(idx))
        lo_a = idx_lo - round(0.6 * fs)
        slow = buf.get("f_slow", lo_a, idx_hi + self.after + 1)
        base_slow = max(lo_a, buf.start)
        pk = slow[idx - base_slow]
        w6, w_run = round(0.6 * fs), round(0.4 * fs)
        # the three windows below from the minima of their disjoint parts (a minimum is exact in any grouping):
        # [i - w6, i - w_run), [i - w_run, i) and [i, i + after], column ranges of one window matrix
        rel = idx - base_slow
        around = _win(slow, rel - w6, w6 + self.after + 1, np.inf)
        min_near = np.minimum.reduce(around[:, w6 - w_run : w6], axis=1)
        min_after = np.minimum.reduce(around[:, w6:], axis=1)
        before_min = min_near
        if w6 > w_run:
            before_min = np.minimum(np.minimum.reduce(around[:, : w6 - w_run], axis=1), min_near)
        prominence = pk - before_min
        # fall within the look-ahead: a loading peak is a bump (weak steps must fall back, not settle at 1 g)
        fall = pk - min_after
        # flight (free fall) before or after this stance: running (the first step from standing has flight after)
        around_min = np.minimum(min_near, min_after)
        running = (around_min < 0.4 * G).astype(np.float64)
        if _amax(running) > 0:  # some running peak: the running edges on the raw force
            ic_run, to_run = self._running_edges(idx, idx_lo, idx_hi)
        else:  # (no running peak reads them)
            ic_run = to_run = filled(idx.size, np.nan)
        if _amin(running) > 0:
            # every peak a running one (most live batches of a run): IC and TO are the raw edges; the walking ICs
            # are not computed (a running peak never reads the weak-step IC: nan) and none has a forward-
            # acceleration IC
            return pk, prominence, fall, running, ic_run, to_run, np.zeros(idx.size), filled(idx.size, np.nan)
        # walking: the vertical force peaks in the loading response, just after heel strike; the peak of the
        # 0.12 s smoothed f_v (parabolic refinement) minus a fixed offset
        inside = (rel >= 1) & (rel + 1 < slow.size)  # a peak at the very end of the stream: no refinement
        y0 = slow[clip(rel - 1, 0, slow.size - 1)]
        y2 = slow[clip(rel + 1, 0, slow.size - 1)]
        den = y0 - 2 * pk + y2
        with np.errstate(divide="ignore", invalid="ignore"):
            frac = np.where(inside & (den < 0), 0.5 * (y0 - y2) / den, 0.0)
        ic_walk = idx + frac - WALK_IC_BEFORE_PEAK_S * fs
        ic_weak = (idx + frac - WEAK_IC_BEFORE_PEAK_S * fs).astype(np.float64)
        # preferred: the peak forward acceleration (Zijlstra & Hof 2003), where the pelvis stops being pulled
        # forward and the braking of the new stance starts; nan where there is no clear one (fallback above)
        ic_ap = filled(idx.size, np.nan)
        walk = (running == 0).nonzero()[0]
        if walk.size:  # a running peak uses neither (its IC is the raw edge), and each row is its own window
            ic_ap[walk] = self._walk_ic_ap(idx[walk])
        ic_walk = np.where(np.isnan(ic_ap), ic_walk, ic_ap)
        ic = np.where(running > 0, ic_run, ic_walk)
        to = np.where(running > 0, to_run, np.nan)
        ap_ok = (~np.isnan(ic_ap)).astype(np.float64)
        return pk, prominence, fall, running, ic, to, ap_ok, ic_weak

    def _running_edges(self, idx: NDArray[np.int64], idx_lo: int, idx_hi: int) -> tuple[FloatArray, FloatArray]:
        """Running IC and TO per peak ``idx`` (between ``idx_lo`` and ``idx_hi``) from the raw force (see the
        module docstring), nan where there is none."""
        buf, fs = self.buf, self.fs
        w_pre = round(0.45 * fs)
        n_pk = max(3, round(0.08 * fs))
        fsa = max(buf.start, idx_lo - w_pre)
        raw = buf.get("f_s", fsa, idx_hi + w_pre + 1)
        pre = _win(raw, idx - fsa - w_pre, w_pre + 1, np.nan)
        k_pk = nan_to(pre[:, -n_pk:], -np.inf).argmax(axis=1) + (w_pre + 1 - n_pk)
        rows = np.arange(idx.size)
        peak_v = pre[rows, k_pk]
        cols = np.arange(w_pre + 1)[None, :]
        upto = cols <= k_pk[:, None]
        # (np.minimum.reduce etc.: the values of the array methods .min etc., without their Python wrappers)
        base = np.minimum.reduce(np.where(upto & ~np.isnan(pre), pre, np.inf), axis=1)
        level = base + RUN_IC_LEVEL * (peak_v - base)
        below = upto & (pre < level[:, None])
        jb = np.maximum.reduce(np.where(below, cols, -1), axis=1)
        ok_ic = (jb >= 0) & (jb + 1 <= k_pk)
        jb_c = clip(jb, 0, w_pre - 1)
        x0, x1 = pre[rows, jb_c], pre[rows, jb_c + 1]
        with np.errstate(divide="ignore", invalid="ignore"):
            ic_run = np.where(ok_ic, (idx - w_pre) + jb_c + (level - x0) / (x1 - x0), np.nan)
        w_post = self.raw_ahead
        post_start = idx - w_pre + k_pk
        post = _win(raw, post_start - fsa, w_post, np.nan)
        valid = ~np.isnan(post)
        base2 = np.minimum.reduce(np.where(valid, post, np.inf), axis=1)
        amp = peak_v - base2
        levels = np.empty((2, idx.size))
        np.add(base2, 0.3 * amp, out=levels[0])
        np.add(base2, 0.6 * amp, out=levels[1])
        t30, t60 = _first_down(post, levels)  # both crossings at once
        enough = np.add.reduce(valid, axis=1) > 2
        to_run = np.where(enough & (amp > 0), post_start + t30 - (t60 - t30), np.nan)
        return ic_run, to_run

    def _walk_ic_ap(self, idx: NDArray[np.int64]) -> FloatArray:
        """Walking IC per vertical-force peak ``idx``: the forward-acceleration peak that the heel strike ends.

        The AP specific force (0.05 s Hann) is searched in ``[peak - 0.25 s, peak + 0.05 s]`` (the loading peak
        comes 20-150 ms after heel strike). Until the new foot lands the pelvis is pulled forward; at heel strike
        the new stance starts braking it, abruptly (Zijlstra & Hof 2003). So IC is the local maximum with the
        largest height above the window minimum plus braking dip within the next ``WALK_AP_DROP_S`` (60 ms): a
        high peak followed at once by a deep fall. (The latest high peak alone picked the push-off peak of the
        previous step on some persons, or a second peak after a soft contact: 95 vs 98 % of the lower-back
        recordings' heel strikes within 60 ms.) Parabolic refinement. nan when no local maximum lies at least
        20 ms inside the window (no interior peak: the forward acceleration is still rising or falling there) or
        the window is not fully buffered.
        """
        buf, fs = self.buf, self.fs
        hw, h = hann_fir(WALK_AP_SMOOTH_S, fs)
        w_b = round(WALK_AP_BEFORE_S * fs)
        w_a = round(WALK_AP_AFTER_S * fs)
        m_drop = max(1, round(WALK_AP_DROP_S * fs))
        width = w_b + w_a + 1
        a0 = max(buf.start, int(_amin(idx)) - w_b - h)
        ap = buf.get("acc_ap", a0, int(_amax(idx)) + w_a + m_drop + h + 1)
        sm = filled(ap.size, np.nan)
        if ap.size >= hw.size:
            sm[h : ap.size - h] = np.convolve(ap, hw, mode="valid")
        wext = _win(sm, idx - a0 - w_b, width + m_drop, np.nan)  # the window plus the braking look-ahead
        full = ~_any(np.isnan(wext), axis=1)
        wx = np.where(np.isnan(wext), 0.0, wext)
        wz = wx[:, :width]
        lo = _amin(wz, axis=1)
        # minimum over the next m_drop samples (inclusive) of every window position
        dip = minmax_filter1d(wx, m_drop + 1, minimum=True, axis=1, origin=-((m_drop + 1) // 2), mode="nearest")
        dip = dip[:, :width]
        lm = np.zeros(wz.shape, dtype=bool)
        lm[:, 1:-1] = (wz[:, 1:-1] >= wz[:, :-2]) & (wz[:, 1:-1] > wz[:, 2:])
        mg = max(1, round(0.02 * fs))
        lm[:, :mg] = False
        lm[:, width - mg :] = False
        score = np.where(lm, (wz - lo[:, None]) + (wz - dip), -np.inf)
        k = np.argmax(score, axis=1)
        ok = full & _any(lm, axis=1)
        rows = np.arange(idx.size)
        kc = clip(k, 1, width - 2)
        y0, y1, y2 = wz[rows, kc - 1], wz[rows, kc], wz[rows, kc + 1]
        den = y0 - 2 * y1 + y2
        with np.errstate(divide="ignore", invalid="ignore"):
            frac = np.where(den < 0, 0.5 * (y0 - y2) / den, 0.0)
        out: FloatArray = np.where(ok, idx - w_b + kc + nan_to(frac, 0.0), np.nan)  # frac is finite where den < 0
        return out

    def _examine(
        self,
        i: int,
        pk: float,
        prominence: float,
        fall: float,
        running_f: float,
        ic: float,
        to_f: float,
        ap_ok: float,
        ic_weak: float,
    ) -> Step | None:
        prev = self._last_peak
        running = running_f > 0
        strong = pk > STRONG_PEAK_G * G and prominence >= STRONG_PROMINENCE_G * G
        if not strong:
            # a weak peak continues an ongoing walking chain only (slow steps of gait termination and turns); in a
            # turn only when it is nearly strong (pivot turns add weight shifts without a heel strike)
            weak_ok = (
                not running
                and ap_ok > 0
                and min(prominence, fall) >= WEAK_PEAK_PROMINENCE_G * G
                and prev is not None
                and len(self._recent_kind) == 2
                and not any(self._recent_kind)  # a walking chain (a runner's stop is no slow walking step)
                and WEAK_MIN_STEPS * self.median_interval() <= i - prev <= self._weak_max_gap()
                and (self._turn_per_step_deg(i) < WEAK_MAX_TURN_DEG or min(prominence, fall) >= TURN_PROMINENCE_G * G)
            )
            if not weak_ok:
                if (
                    not running
                    and ap_ok > 0
                    and min(prominence, fall) >= LEAD_PROMINENCE_G * G
                    and (prev is None or i - prev >= WEAK_MIN_STEPS * self.median_interval())
                ):
                    self._lead.append((i, pk, ic))
                    if len(self._lead) > LEAD_MAX_STEPS:
                        del self._lead[: len(self._lead) - LEAD_MAX_STEPS]
                return None
            if WEAK_IC_FROM_PEAK:
                ic = ic_weak
        # walking: suppress a second hump of the same step, at most 0.3 s after it. Capped so that a missed step
        # cannot lock the detector into counting strides (the median interval would double)
        if prev is not None and not running and i - prev < min(0.3 * self.fs, 0.55 * self.median_interval()):
            return None
        if math.isnan(ic):
            return None
        lead, self._lead = self._lead, []
        if strong and not running and lead and (prev is None or i - prev > self._break_gap()):
            self._lead_in(i, lead)
        return self._make_step(i, pk, ic, to_f, running)

    def _turn_per_step_deg(self, i: int) -> float:
        """Heading change per step at peak ``i`` (deg): the yaw change over the last stride, halved.

        The stride is ``TURN_STRIDE_STEPS`` median step times back from ``i``, not the time since the last accepted
        step: the pelvis rotates about the vertical with every stride, alternating with the stance side, which a
        one-step difference adds at full amplitude and a one-stride difference cancels (straight walking on the
        lower-back recordings: median 8 deg, 95th percentile 16 deg from one step to the next; over a stride,
        halved, 0.8 and 4.5 deg; U-turn steps median 28 deg). And after a step that was not detected, the time
        since the last accepted step spans two steps, twice the turn of one.
        """
        yaw = self.buf.value
        back = max(self.buf.start, i - round(TURN_STRIDE_STEPS * self._median))
        return abs(yaw("yaw", i) - yaw("yaw", back)) / TURN_STRIDE_STEPS

    def _lead_in(self, i: int, lead: list[tuple[int, float, float]]) -> None:
        """Weak walking peaks just before the strong peak ``i`` that starts a new chain, in its rhythm: steps.

        The first steps from standing, and the first after a turn, load the pelvis less than the steady ones
        (vertical peak 1.1-1.2 g, rising only 0.1-0.25 g on the lower-back recordings), too little for a strong
        peak and, with no chain before them, not continuing one either. A weak peak with the forward-acceleration
        pattern of a heel strike (see :meth:`_walk_ic_ap`) that precedes the chain's first strong peak by a walking
        step time (``LEAD_MIN_S``-``LEAD_MAX_S``), and so on backwards for up to ``LEAD_MAX_STEPS`` peaks, starts
        the chain instead. Decided when ``i`` is examined (at most ``LEAD_MAX_STEPS * LEAD_MAX_S`` after the
        earliest), so chunk invariant; the peaks are not shown to the activity labels, which must stay causal.
        """
        take: list[tuple[int, float, float]] = []
        nxt = i
        for w in reversed(lead):
            if not LEAD_MIN_S * self.fs <= nxt - w[0] <= LEAD_MAX_S * self.fs:
                break
            take.append(w)
            nxt = w[0]
        if take:
            self._close_chain()
            self._lead_steps = [self._make_step(w, pk, ic, math.nan, False, labelled=False) for w, pk, ic in take[::-1]]

    def _make_step(self, i: int, pk: float, ic: float, to_f: float, running: bool, *, labelled: bool = True) -> Step:
        """The step of peak ``i``, appended to the current chain (or starting a new one after a long gap)."""
        prev = self._last_peak
        to = None if math.isnan(to_f) else to_f
        same_chain = False
        if prev is not None:
            gap = i - prev
            if gap <= self._break:
                self._add_interval(gap)
                self._chain_pos += 1
                same_chain = True
            else:
                self._close_chain()
        self._last_peak = i
        step = Step(
            peak=i,
            ic=ic,
            to=to,
            running=running,
            peak_mps2=pk,
            chain=self._chain,
            pos=self._chain_pos,
            prev_ic=self._last_ic if same_chain else None,
            med=self._median,  # at detection: the same for any chunking
        )
        self._last_ic = ic
        if labelled:
            self.peaks.append((i, running))
        self._recent_kind.append(running)
        return step

    # ------------------------------------------------------------------------------------------------
    def _close_chain(self) -> None:
        if self._last_peak is not None:
            self._chain += 1
            self._chain_pos = 0
            self._last_peak = None

    def open_from(self, done: Sequence[Step]) -> int | None:
        """The first sample that the measurement of a not-yet-measured step reads (``done``: steps just returned by
        :meth:`detect`; the open ones are held here), or None if there is none.

        A step's stride window starts at its previous initial contact, else one step (at most ~1 s) before it.
        """
        firsts = [st.ic if st.prev_ic is None else st.prev_ic for st in (*done, *self._steps)]
        if not firsts:
            return None
        return math.floor(min(firsts)) - round(_MEASURE_BACK_S * self.fs)

    def _decide(self, final: bool) -> list[Step]:
        """Fill cues, next-IC links and sides of open steps; return those that are complete, in order."""
        steps = self._steps
        n = len(steps)
        for k in range(n):
            st = steps[k]
            if st.next_ic is None and k + 1 < n and steps[k + 1].chain == st.chain:
                st.next_ic = steps[k + 1].ic
                if not st.running and st.to is None:
                    # walking: the stance foot leaves the ground at the end of the double support that follows
                    # the other foot's contact; double support ~12 % of the stride (0.24 step times)
                    st.to = st.next_ic + WALK_DOUBLE_SUPPORT_STEPS * (st.next_ic - st.ic)
        cur_chain = self._chain  # a step of an older chain: its chain has ended
        to_cue = [st for st in steps if not st.cued and (st.next_ic is not None or st.chain < cur_chain or final)]
        if to_cue:
            self._cue_batch(to_cue)
        done = 0
        base_need = self.lookahead_steps
        window_steps = self.window_steps
        hist, hist_off = self._hist, self._hist_off
        side_chain = -1  # the chain whose older chains' cues are already forgotten
        sqrt = math.sqrt
        while done < n:
            st = steps[done]
            if not st.cued:
                break
            pos, chain = st.pos, st.chain
            # look-ahead (steps) for the side decision: longer at the start of a chain, where little evidence exists
            need = base_need + (START_EXTRA_LOOKAHEAD - pos if pos < START_EXTRA_LOOKAHEAD else 0)
            stop = done + 1 + need
            stop = n if stop > n else stop  # min(n, stop) without the builtin call
            j = done + 1
            while j < stop:
                nx = steps[j]
                if nx.chain != chain or not nx.cued:
                    break
                j += 1
            n_ahead = j - done - 1
            if n_ahead < need and not (chain < cur_chain or final):
                break
            if pos == 0 and self._anticipatory(st, steps[done + 1 : j]):
                st.dropped = True
                done += 1
                continue
            # the side: the sum of the chain's signed cues over the window (``window_steps`` back, the look-ahead
            # ahead); steps are decided in order, so older chains are done
            if chain != side_chain:
                for c in [c for c in hist if c < chain]:
                    del hist[c], hist_off[c]
                side_chain = chain
            vals, off = hist[chain], hist_off[chain]
            lo = pos - window_steps
            if lo < off:
                lo = off
            elif lo - off > 256:  # forget the cues left behind by the window (bounded memory in a long chain)
                del vals[: lo - off]
                off = hist_off[chain] = lo
            ev = 0.0
            window = vals[lo - off : pos + n_ahead - off + 1]
            for v in window:  # in position order (the same sum as step by step)
                ev += v
            n_win = len(window)
            # ev > 0: even chain positions are left stance
            left = (ev if pos % 2 == 0 else -ev) > 0
            st.side = "left" if left else "right"
            st.side_margin = abs(ev) / (sqrt(n_win) if n_win > 1 else 1.0)
            done += 1
        out = [st for st in steps[:done] if not st.dropped]
        self._steps = steps[done:]
        return out

    def _anticipatory(self, st: Step, ahead: list[Step]) -> bool:
        """Whether the first peak of a walking chain is the push-off before gait initiation, not a heel strike.

        Before the first step from standing, the anticipatory postural adjustment loads the stance limb and the
        trailing foot pushes off: a vertical-force peak ~0.35 s before the first heel strike on some persons. The
        first step from standing is not shorter than the steady steps that follow (gait initiation reaches steady
        step times within one or two steps, the first being as long or longer; measured 0.99-1.41 times the next
        steps' median on the lower-back recordings), so a first IC interval below ``FIRST_STEP_MIN_RATIO`` of the
        median of the next four is that push-off. Decided with the side look-ahead (>= 6 steps at a chain
        start), so it is chunk invariant. Its side cue is withdrawn from the chain's evidence.
        """
        if st.running or len(ahead) < 5 or ahead[0].running:
            return False
        nxt = [ahead[k + 1].ic - ahead[k].ic for k in range(4)]  # two strides: left/right asymmetry cancels
        if (ahead[0].ic - st.ic) >= FIRST_STEP_MIN_RATIO * statistics.median(nxt):
            return False
        vals = self._hist.get(st.chain)
        if vals is not None and 0 <= st.pos - self._hist_off[st.chain] < len(vals):
            vals[st.pos - self._hist_off[st.chain]] = 0.0
        ahead[0].prev_ic = None
        return True

    def _cue_batch(self, batch: list[Step]) -> None:
        """Side cues of a batch of steps (window means vectorised), then the order-dependent normalisation."""
        buf = self.buf
        ic = np.array([st.ic for st in batch])
        t_step = np.array([(st.next_ic - st.ic) if st.next_ic is not None else st.med for st in batch])
        a = np.floor(ic).astype(np.int64)
        # (np.rint: np.round's value for 0 decimals, without its Python wrapper)
        n_early = np.maximum(2, np.rint(0.4 * t_step)).astype(np.int64)
        n_stance = np.maximum(2, np.rint(0.6 * t_step)).astype(np.int64)
        lo = max(buf.start, int(_amin(a)))
        hi = int(_amax(a + n_stance))
        cue_ml = -_head_mean(buf.get("acc_ml", lo, hi), a - lo, n_stance)
        cue_roll = np.zeros(len(batch))
        if self.has_gyr:
            cue_roll = _head_mean(buf.get("gyr_ap", lo, hi), a - lo, n_early)
        # the running RMS normalisation (exponential, deterministic in step order), in plain floats
        has_gyr = self.has_gyr
        sqrt = math.sqrt
        hist, hist_off = self._hist, self._hist_off
        n_cue, rms_roll, rms_ml = self._cue_n, self._rms_roll, self._rms_ml
        vals: list[float] = []
        vals_chain = -1
        for st, c_roll, c_ml in zip(batch, cue_roll.tolist(), cue_ml.tolist(), strict=True):
            st.cue_roll, st.cue_ml = c_roll, c_ml
            n_cue += 1
            w = 1.0 / (n_cue if n_cue < 50 else 50)
            rms_roll = sqrt((1 - w) * rms_roll**2 + w * c_roll**2)
            rms_ml = sqrt((1 - w) * rms_ml**2 + w * c_ml**2)
            # max(rms, 1e-9) without the builtin call (the same value, nan included)
            comb = c_ml / (1e-9 if rms_ml < 1e-9 else rms_ml)
            if has_gyr:
                comb += 2.0 * c_roll / (1e-9 if rms_roll < 1e-9 else rms_roll)
            st.cue = comb
            st.cued = True
            if st.chain != vals_chain:
                vals_chain = st.chain
                got = hist.get(vals_chain)
                if got is None:
                    got = hist[vals_chain] = []
                    hist_off[vals_chain] = st.pos
                vals = got
            # steps are cued in order, so a chain's positions are consecutive from its first cued one
            vals.append(comb if st.pos % 2 == 0 else -comb)
        self._cue_n, self._rms_roll, self._rms_ml = n_cue, rms_roll, rms_ml


def _window_max(x: FloatArray, before: int, after: int) -> FloatArray:
    """``out[i] = max(x[i - before : i + after + 1])`` (window clipped at the edges; ``before + after`` even, so the
    centred filter's length is odd): the centred filter shifted by ``origin`` onto ``[i - before, i + after]``,
    -inf outside ``x`` (was: ``x`` padded with -inf on both sides, the same maxima)."""
    assert (before + after) % 2 == 0
    return minmax_filter1d(
        x, before + after + 1, minimum=False, mode="constant", cval=-np.inf, origin=(before - after) // 2
    )


def _win(x: FloatArray, starts: NDArray[np.int64], width: int, fill: float) -> FloatArray:
    """Rows ``x[s : s + width]`` for each start (``fill`` outside ``x``)."""
    if x.size and starts.size:
        # the usual case, every row inside ``x``: one gather, no mask (the same values)
        s_lo, s_hi = int(_amin(starts)), int(_amax(starts))
        if s_lo >= 0 and s_hi + width <= x.size:
            return window_rows(x, starts, width)
    j = starts[:, None] + np.arange(width)[None, :]
    ok = (j >= 0) & (j < x.size)
    out: FloatArray = np.where(ok, x[clip(j, 0, max(x.size - 1, 0))], fill) if x.size else np.full(j.shape, fill)
    return out


def _head_mean(x: FloatArray, starts: NDArray[np.int64], n: NDArray[np.int64]) -> FloatArray:
    """Per row the mean of ``x[s : s + n]`` without its nan (0 if none; samples outside ``x`` count as nan)."""
    w = _win(x, starts, int(_amax(n)), np.nan)
    head = np.arange(w.shape[1])[None, :] < n[:, None]
    # the usual case, no nan in the windows: the same sums as the nan-aware mean below (equal rows, zeros for the
    # samples left out), divided by the same counts
    out: FloatArray = np.add.reduce(np.where(head, w, 0.0), axis=1) / n
    if _any(np.isnan(out)):
        w[~head] = np.nan
        out = nan_to(_nanmean_rows(w), 0.0)
    return out


def _nanmean_rows(x: FloatArray) -> FloatArray:
    ok = ~np.isnan(x)
    cnt = ok.sum(axis=1)
    out: FloatArray = np.where(cnt > 0, np.where(ok, x, 0.0).sum(axis=1) / np.maximum(cnt, 1), np.nan)
    return out


def _first_down(post: FloatArray, level: FloatArray) -> FloatArray:
    """Per row: fractional index where ``post`` first falls below ``level`` (nan if never, or at index 0).

    ``level``: one per row ``(m,)``, or several per row ``(k, m)`` (then ``(k, m)`` out: the levels' crossings in
    one pass of whole-matrix operations)."""
    below = post < level[..., None]  # nan compares False
    has = np.logical_or.reduce(below, axis=-1)
    j = below.argmax(axis=-1)
    rows = np.arange(post.shape[0])
    jm = np.maximum(j - 1, 0)
    a, b = post[rows, jm], post[rows, j]
    with np.errstate(divide="ignore", invalid="ignore"):
        t = jm + (a - level) / (a - b)
    out: FloatArray = np.where(has & (j > 0), t, np.nan)
    return out


def _extrapolated_edge(x: FloatArray, base: float, peak: float, *, rising: bool) -> float | None:
    """Edge time (fractional index in ``x``) extrapolated to ``base`` from the 30 % and 60 % crossings.

    ``rising``: ``x`` ends at the peak, search the last up-crossings; else ``x`` starts at the peak.
    """
    amp = peak - base
    if amp <= 0:
        return None
    l30, l60 = base + 0.3 * amp, base + 0.6 * amp
    if rising:
        t30 = _last_up_crossing(x, l30)
        t60 = _last_up_crossing(x, l60)
    else:
        t30 = _first_down_crossing(x, l30)
        t60 = _first_down_crossing(x, l60)
    if t30 is None or t60 is None:
        return None
    return t30 - (t60 - t30)


def _last_up_crossing(x: FloatArray, level: float) -> float | None:
    below = (x < level).nonzero()[0]
    if below.size == 0:
        return None
    j = int(below[-1])
    if j + 1 >= x.size:
        return None
    return j + float((level - x[j]) / (x[j + 1] - x[j]))


def _first_down_crossing(x: FloatArray, level: float) -> float | None:
    below = (x < level).nonzero()[0]
    if below.size == 0:
        return None
    j = int(below[0])
    if j == 0:
        return None
    return j - 1 + float((x[j - 1] - level) / (x[j - 1] - x[j]))
