"""The hip pipeline: sensor-frame IMU blocks in, steps, bouts, summaries, alerts (and extra stages' events) out.

``HipPipeline(sampling_rate_hz=208.0)`` implements :class:`sensor.interfaces.Analyzer`: ``feed(ImuBlock)`` any
chunk size, ``finish()`` at the end; the events are the same whatever the chunk sizes (tested with
hypothesis-chosen chunkings). Stages, in order (one module each):

1. :mod:`~sensor.pipeline.calibration`: mounting (sensor -> pelvis rotation) and gyroscope bias, on a 1 s grid.
   Until the mounting locks (confidence >= 0.5, or 20 s of data) the samples are held back (a bounded warm-up
   buffer), then processed with the locked mounting; later refinements apply from their grid point on.
2. :mod:`~sensor.pipeline.orientation`: up vector (world-frame low-pass complementary filter), roll, pitch, yaw.
3. :mod:`~sensor.pipeline.gait`: steps (IC, TO, stance side) with a fixed look-ahead.
4. :mod:`~sensor.pipeline.activity`: per-sample activity, quiet standing (neutral), bouts.
5. extra :class:`PelvisStage` s (e.g. the glute rep counter), fed the pelvis-frame chunk.
6. :mod:`~sensor.pipeline.metrics`: per-step metrics -> ``StepEvent``.
7. :mod:`~sensor.pipeline.summary` and :mod:`~sensor.pipeline.alerts`: rolling and per-bout summaries, alerts.

Latency: a step's metrics come out once the next step and ``side_lookahead_steps`` more steps have been seen
(about 1 s in running), plus the warm-up hold-back at the very start, plus up to one micro-batch
(``micro_batch_s``, 2 s) for live input fed in small chunks. A stage may shorten the micro-batch while it needs
prompt input (``max_hold_s``: the rep counter during exercise, the live tilt view).

The extra-stage protocol (:mod:`sensor.pipeline.stage`)
-------------------------------------------------------
Register stages with ``HipPipeline(..., stages=[...])`` or :meth:`HipPipeline.add_stage`. A stage is any
object with::

    def feed(self, chunk: PelvisChunk) -> list[Event]: ...
    def finish(self) -> list[Event]: ...

``PelvisChunk`` carries, per sample: ``t_s`` (input time base), ``sample_index``, ``acc_ap_mps2``,
``acc_ml_mps2``, ``acc_v_mps2`` (specific force in the pelvis frame, gravity included), ``lin_acc_up_mps2``
(world-vertical linear acceleration), ``gyr_ap_radps``/``gyr_ml_radps``/``gyr_v_radps`` (bias-corrected),
``roll_deg``/``pitch_deg``/``yaw_deg`` (``None`` for accelerometer-only input) and ``activity`` (int8 codes into
``ACTIVITY_LABELS = ("standing", "walking", "running", "other")``, causal), plus ``mounting_confidence``.
Chunks arrive in order, contiguous, of any size; a stage must itself give the same events for any chunking
and must not keep the arrays. Its events are returned from the pipeline's ``feed``/``finish`` with the
pipeline's own.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from sensor.errors import DataValidationError
from sensor.events import Event, RollingSummary, StepEvent
from sensor.frames import STANDARD_GRAVITY_MPS2
from sensor.model import ImuBlock
from sensor.pipeline.activity import BoutTracker, QuietDetector, StandingTracker, label_samples
from sensor.pipeline.alerts import AlertTracker
from sensor.pipeline.buffer import NO_PIN, SignalBuffer
from sensor.pipeline.calibration import Mounting, MountingCalibrator
from sensor.pipeline.config import PipelineConfig
from sensor.pipeline.filters import minus_row, row_dot
from sensor.pipeline.gait import GaitDetector, Step
from sensor.pipeline.metrics import height_filter, step_events
from sensor.pipeline.orientation import GravityFilter, YawIntegrator, pelvis_angles_deg
from sensor.pipeline.stage import ACTIVITY_LABELS, PelvisChunk, PelvisStage
from sensor.pipeline.summary import BoutSummary, RollingWindow, StepColumns

FloatArray = NDArray[np.float64]

__all__ = [
    "ACTIVITY_LABELS",
    "AutoRatePipeline",
    "HipPipeline",
    "PelvisChunk",
    "PelvisStage",
    "PipelineConfig",
    "analyzer_factory",
]

_RESET_BIAS_RADPS = 1e-3
_TURN_RECOVERY_S = 5.0
_OPEN_STEP_MAX_S = 30.0  # an open step older than this is not measured (see _emit_steps)
_SUB_BLOCK = 144000  # samples per sub-block of a long input (see HipPipeline._feed)
_BLAS_COLS = 48000  # columns per (3, 3) x (3, n) product (see _rotate)
_COLUMNS = ("t_s", "f_v", "acc_ap", "acc_ml", "gyr_ap", "roll", "pitch", "yaw", "height", "f_s", "f_slow")


@dataclass(frozen=True, slots=True, eq=False)
class _Filtered:
    """A block with its bias-corrected gyro, up vectors (sensor frame), vertical specific force ``acc . up`` and
    yaw; waits here during warm-up."""

    start: int
    block: ImuBlock
    gyr: FloatArray | None
    up: FloatArray
    f_v: FloatArray
    yaw: FloatArray | None
    resets: tuple[int, ...] = ()

    def slice(self, a: int, b: int) -> _Filtered:
        return _Filtered(
            self.start + a,
            _view(self.block, a, b),
            None if self.gyr is None else self.gyr[a:b],
            self.up[a:b],
            self.f_v[a:b],
            None if self.yaw is None else self.yaw[a:b],
            tuple(i for i in self.resets if self.start + a <= i < self.start + b),
        )


def _mixed_input() -> DataValidationError:
    return DataValidationError(
        "a block without gyroscope after blocks with one (or the reverse); feed one kind per pipeline",
        field="gyr_radps",
    )


def _view(block: ImuBlock, a: int, b: int) -> ImuBlock:
    """``block.slice(a, b)`` without validating the samples again (views of a block that was checked when made)."""
    out = object.__new__(ImuBlock)  # frozen dataclass: set the slots directly (views of read-only arrays)
    object.__setattr__(out, "sensor_id", block.sensor_id)
    object.__setattr__(out, "t_s", block.t_s[a:b])
    object.__setattr__(out, "acc_mps2", block.acc_mps2[a:b])
    object.__setattr__(out, "gyr_radps", None if block.gyr_radps is None else block.gyr_radps[a:b])
    object.__setattr__(out, "sample_index", block.sample_index[a:b])
    object.__setattr__(out, "missing_before", block.missing_before[a:b])
    return out


def _rotate(r: FloatArray, x: FloatArray) -> FloatArray:
    """``r @ x.T`` (``(3, n)``) for ``x`` ``(n, 3)``: one BLAS product per ``_BLAS_COLS`` columns, below the size
    where OpenBLAS splits a product over threads (m n k >= 2 * 262,144, n >= 58,255; on a shared 2-core machine
    its spinning helper threads cost far more CPU time than they save). Each output element is the same sum of
    three products whatever the number of columns (every chunking of a live stream gives the same numbers)."""
    n = x.shape[0]
    if n <= _BLAS_COLS:
        out: FloatArray = r @ x.T
        return out
    out = np.empty((3, n))
    for a in range(0, n, _BLAS_COLS):
        b = min(n, a + _BLAS_COLS)
        np.matmul(r, x[a:b].T, out=out[:, a:b])
    return out


def _concat(blocks: list[ImuBlock]) -> ImuBlock:
    """The micro-batch: consecutive blocks that were each validated when made, joined without validating again.

    (The pipeline never checks the order of times across the blocks it is fed, so neither does the batch.)
    """
    if len(blocks) == 1:
        return blocks[0]
    return ImuBlock.concat(blocks, validate=False)


class HipPipeline:
    """All running-analysis stages behind one :class:`~sensor.interfaces.Analyzer`.

    Args:
        sampling_rate_hz: the nominal sampling rate of the input.
        config: tunables (:class:`PipelineConfig`).
        mounting: a prior mounting (e.g. from ``hipsense calibrate``); the automatic calibration refines it.
        stages: extra :class:`PelvisStage` s.
    """

    def __init__(
        self,
        sampling_rate_hz: float,
        config: PipelineConfig | None = None,
        *,
        mounting: Mounting | None = None,
        stages: Sequence[PelvisStage] = (),
    ) -> None:
        if not (math.isfinite(sampling_rate_hz) and 10.0 <= sampling_rate_hz <= 2000.0):
            raise DataValidationError(
                f"sampling_rate_hz={sampling_rate_hz!r} is outside 10-2000 Hz; pass the sensor's output rate",
                field="sampling_rate_hz",
            )
        self.fs = float(sampling_rate_hz)
        self.cfg = config or PipelineConfig()
        self.calibrator = MountingCalibrator(self.fs, self.cfg.calibration(), prior=mounting)
        self.stages: list[PelvisStage] = list(stages)
        self._has_gyr: bool | None = None
        self._sensor_id = ""
        self._pending: list[_Filtered] = []
        self._n_in = 0
        self._bias = self.calibrator.bias
        self._last_bias_idx = -(10**12)
        self._resets: list[int] = []
        self._released = False
        self._schedule: list[tuple[int, Mounting]] = []
        self._mounting: Mounting = self.calibrator.mounting
        self._gravity = GravityFilter(
            self.fs, tau_s=self.cfg.tau_s, order=self.cfg.filter_order, iterations=self.cfg.filter_iterations
        )
        self._yaw = YawIntegrator(self.fs)
        self._height = height_filter(self.fs)
        self._quiet = QuietDetector(self.fs)
        self._standing = StandingTracker(self.fs)
        self._buf = SignalBuffer(_COLUMNS, keep=round(8.0 * self.fs))
        self._gait: GaitDetector | None = None
        self._bouts = BoutTracker(self.fs, self.cfg.min_bout_s)
        self._rolling = RollingWindow(self.cfg.rolling_window_s, self.cfg.drop_threshold_deg)
        self._bout_sum = BoutSummary(self.cfg.drop_threshold_deg, self.cfg.fatigue_baseline_s)
        self._session = BoutSummary(self.cfg.drop_threshold_deg, self.cfg.fatigue_baseline_s)
        self._alerts = AlertTracker(
            self.cfg.drop_threshold_deg, self.cfg.alert_steps, self.cfg.asymmetry_limit_pct, self.cfg.alert_cooldown_s
        )
        self._next_summary_t: float | None = None
        self._turn_until_s = -math.inf
        self._finished = False
        self._small: list[ImuBlock] = []
        self._small_n = 0
        # the calibration's motion pass, postponed while it cannot change the mounting (see _feed_motion)
        self._motion: list[tuple[FloatArray, FloatArray | None, FloatArray, FloatArray, FloatArray | None]] = []
        self._motion_n = 0
        self._batch_n = max(1, round(self.cfg.micro_batch_s * self.fs))

    # public ------------------------------------------------------------------------------------------
    def add_stage(self, stage: PelvisStage) -> None:
        self.stages.append(stage)

    @property
    def mounting(self) -> Mounting:
        """The mounting currently applied."""
        return self._mounting

    def feed(self, block: ImuBlock) -> list[Event]:
        if self._finished:
            raise DataValidationError("feed() after finish(); create a new HipPipeline per stream", field="block")
        n = len(block)
        if n == 0:
            return []
        # micro-batching: every stage is chunk-size invariant, so collecting small live chunks into batches of
        # at least micro_batch_s changes no result, only when it comes out (a fixed cost per call dominates
        # 20-sample chunks). A stage with a latency budget (``max_hold_s``, see sensor.pipeline.stage) shortens
        # the batch while it needs prompt input (the rep counter during exercise)
        # one kind of input per pipeline: checked on arrival, not only once the micro-batch is processed
        known = self._has_gyr if self._has_gyr is not None else (self._small[0].has_gyr if self._small else None)
        if known is not None and block.has_gyr != known:
            raise _mixed_input()
        need = self._batch_need()
        if self._small:
            self._small.append(block)
            self._small_n += n
            if self._small_n < need:
                return []
            block = _concat(self._small)
            self._small, self._small_n = [], 0
            n = len(block)
        elif n < need:
            self._small, self._small_n = [block], n
            return []
        return self._feed(block)

    def _batch_need(self) -> int:
        """Samples to collect before processing: ``micro_batch_s``, or less while a stage asks for prompt input."""
        need = self._batch_n
        for st in self.stages:
            hold = getattr(st, "max_hold_s", None)
            if hold is not None:
                hold_s = float(hold)
                if hold_s < self.cfg.micro_batch_s:
                    need = min(need, max(1, round(hold_s * self.fs)))
        return need

    def _feed(self, block: ImuBlock) -> list[Event]:
        n = len(block)
        if n > _SUB_BLOCK:
            # a long input (a recording analysed offline) in sub-blocks: every stage is chunk-size invariant, so
            # the events are the same; each stage's fixed cost per call is paid once per sub-block (144,000
            # samples: 6 per hour; 48,000 saved 7 % against 24,000, 144,000 another ~5 %; 288,000 and more are
            # slower again, their working arrays leave the cache), the rotations in products of at most
            # _BLAS_COLS columns (_rotate)
            out: list[Event] = []
            for a in range(0, n, _SUB_BLOCK):
                out.extend(self._feed_one(_view(block, a, min(n, a + _SUB_BLOCK))))
            return out
        return self._feed_one(block)

    def _feed_one(self, block: ImuBlock) -> list[Event]:
        n = len(block)
        if self._has_gyr is None:
            self._has_gyr = block.has_gyr
            self._sensor_id = block.sensor_id
            self._gait = GaitDetector(
                self.fs,
                self._buf,
                has_gyr=block.has_gyr,
                lookahead_steps=self.cfg.side_lookahead_steps,
                window_steps=self.cfg.side_window_steps,
            )
        elif block.has_gyr != self._has_gyr:
            raise _mixed_input()
        start = self._n_in
        self._n_in += n
        fc, w_up = self._filter(block, start)
        updates = self._feed_motion((block.acc_mps2, fc.gyr, fc.up, fc.f_v, w_up))
        if not self._released:
            self._pending.append(fc)
            if not self.calibrator.locked:
                return []
            return self._release(updates)
        self._schedule.extend(updates)
        return self._process(fc)

    def _feed_motion(
        self, cols: tuple[FloatArray, FloatArray | None, FloatArray, FloatArray, FloatArray | None] | None
    ) -> list[tuple[int, Mounting]]:
        """The calibration's motion pass of the samples ``cols`` (acc, gyr, up, and the vertical specific force and
        angular rate ``f_v``, ``w_up``: the calibrator's same products), with those postponed before them; None:
        only those postponed.

        After the release, samples whose motion pass cannot change the mounting (``motion_can_wait``: no
        refinement or slip check at the grid points they complete) wait and go in with later ones. The pass is
        chunk-size invariant, so the statistics and updates are the same; a live stream (2-s micro-batches) pays
        its fixed cost per call once per 10 grid points instead of once per batch.
        """
        held = self._motion
        if cols is not None:
            n = cols[0].shape[0]
            if self._released and self.calibrator.motion_can_wait(self._motion_n + n):
                held.append(cols)
                self._motion_n += n
                return []
            if not held:
                acc, gyr, up, f_v, w_up = cols
                return self.calibrator.feed_motion(acc, gyr, up, acc_up_mps2=f_v, gyr_up_radps=w_up)
            held.append(cols)
        if not held:
            return []
        self._motion, self._motion_n = [], 0
        cat = np.concatenate
        acc, up, f_v = cat([c[0] for c in held]), cat([c[2] for c in held]), cat([c[3] for c in held])
        gyr = None if held[0][1] is None else cat([c[1] for c in held])
        w_up = None if held[0][4] is None else cat([c[4] for c in held])
        return self.calibrator.feed_motion(acc, gyr, up, acc_up_mps2=f_v, gyr_up_radps=w_up)

    def _filter(self, block: ImuBlock, start: int) -> tuple[_Filtered, FloatArray | None]:
        """Gyro bias (from quiet periods), up vectors and yaw: the mounting-independent part, never held back;
        and the world-vertical angular rate ``up . gyr`` (None without gyroscope)."""
        acc, gyr_raw = block.acc_mps2, block.gyr_radps
        bias_updates = self.calibrator.feed_rest(acc, gyr_raw)
        if gyr_raw is None:
            up = self._gravity.feed(acc, None)
            return _Filtered(start, block, None, up, row_dot(acc, up), None), None
        n = len(block)
        gyr = np.empty_like(gyr_raw)
        # the bias-corrected gyro, each bias from its sample on; the orientation filter restarts where a new bias
        # from a quiet period differs (cuts): it runs once per piece between restarts, not per bias update (a rest
        # between exercise sets brings one every grid segment; the filter is chunk-size invariant)
        cuts: list[int] = []
        a = 0
        marks = [(idx, bias, True) for idx, bias in bias_updates] + [(start + n, self._bias, False)]
        for idx, bias, real in marks:
            b = idx - start
            if b > a:
                gyr[a:b] = minus_row(gyr_raw[a:b], self._bias)
                a = b
            if not real:
                continue
            first_of_period = idx - self._last_bias_idx > self.calibrator.grid
            self._last_bias_idx = idx
            if first_of_period and float(np.max(np.abs(bias - self._bias))) > _RESET_BIAS_RADPS:
                # a new bias from a quiet period: restart the filter from the (quiet) accelerometer instead
                # of letting the old bias' tilt decay over several seconds (it would bias the neutral)
                cuts.append(b)
                self._resets.append(idx)
            self._bias = bias
        ups: list[FloatArray] = []
        a = 0
        for b in cuts:
            if b > a:
                ups.append(self._gravity.feed(acc[a:b], gyr[a:b]))
                a = b
            self._gravity.reset()
        if n > a:
            ups.append(self._gravity.feed(acc[a:], gyr[a:]))
        resets = tuple(i for i in self._resets if i < start + n)
        self._resets = [i for i in self._resets if i >= start + n]
        up = ups[0] if len(ups) == 1 else np.concatenate(ups)
        w_up = row_dot(up, gyr)
        yaw = self._yaw.feed_rate(w_up)
        return _Filtered(start, block, gyr, up, row_dot(acc, up), yaw, resets), w_up

    def finish(self) -> list[Event]:
        if self._finished:
            return []
        out: list[Event] = []
        if self._small:
            blk = _concat(self._small)
            self._small, self._small_n = [], 0
            out.extend(self._feed(blk))
        if not self._released and self._has_gyr is not None:
            self.calibrator.force_lock()
            out.extend(self._release([]))
        self._feed_motion(None)  # (the postponed samples: their statistics, no update by construction)
        self._finished = True
        if self._gait is not None:
            out.extend(self._emit_steps(self._gait.detect(final=True)))
        for b in self._bouts.finish():
            out.append(b)
        out.extend(self._close_bout_summary(math.inf))
        for st in self.stages:
            out.extend(st.finish())
        return out

    def session_summary(self) -> RollingSummary:
        """Summary over every step so far (window ``None``)."""
        return self._session.summary(self._session.t_last, None)

    # internals ---------------------------------------------------------------------------------------
    def _release(self, updates: list[tuple[int, Mounting]]) -> list[Event]:
        self._released = True
        lock_i = self.calibrator.lock_index or 0
        self._mounting = self.calibrator.lock_mounting or self.calibrator.mounting
        self._schedule = [(i, u) for i, u in updates if i > lock_i]
        pending, self._pending = self._pending, []
        out: list[Event] = []
        for fc in pending:
            out.extend(self._process(fc))
        return out

    def _process(self, fc: _Filtered) -> list[Event]:
        n = len(fc.block)
        out: list[Event] = []
        a = 0
        while a < n:
            # split where a scheduled mounting update takes effect: where its rotation or confidence differs (the
            # only parts of it that _run uses; an update with a new gyro bias alone changes nothing there)
            while self._schedule and self._schedule[0][0] <= fc.start + a:
                self._mounting = self._schedule.pop(0)[1]
            b = n
            m = self._mounting
            for idx, upd in self._schedule:
                if idx - fc.start >= n:
                    break
                r_new, r_now = upd.r_pelvis_from_sensor, m.r_pelvis_from_sensor
                if upd.confidence != m.confidence or not np.array_equal(r_new, r_now):
                    b = idx - fc.start
                    break
            out.extend(self._run(fc if (a, b) == (0, n) else fc.slice(a, b)))
            a = b
        while self._schedule and self._schedule[0][0] < fc.start + n:  # the updates inside the last piece
            self._mounting = self._schedule.pop(0)[1]
        return out

    def _run(self, fc: _Filtered) -> list[Event]:
        assert self._gait is not None
        m = self._mounting
        r = m.r_pelvis_from_sensor
        blk, start, gyr, u = fc.block, fc.start, fc.gyr, fc.up
        acc = blk.acc_mps2
        f_v = fc.f_v
        # (3, n) products ``r @ x.T``: the same numbers as ``x @ r.T`` (one BLAS product either way) with
        # contiguous rows per axis, and ~2x cheaper than the (n, 3) @ (3, 3) product
        acc_p = _rotate(r, acc)
        buf = self._buf
        assert u is not None
        roll = pitch = yaw = None
        gyr_p = None
        lin_up = f_v - STANDARD_GRAVITY_MPS2
        cols = {"t_s": blk.t_s, "f_v": f_v, "acc_ap": acc_p[0], "acc_ml": acc_p[1]}
        if gyr is not None:
            gyr_p = _rotate(r, gyr)
            roll, pitch = pelvis_angles_deg(_rotate(r, u).T)
            yaw = fc.yaw
            assert yaw is not None
            cols.update(gyr_ap=gyr_p[0], roll=roll, pitch=pitch, yaw=yaw)
        else:
            z = np.zeros(len(blk))
            cols.update(gyr_ap=z, roll=z, pitch=z, yaw=z)
        cols["height"] = self._height(lin_up)
        buf.write_many(start, cols)  # one space check for the nine raw columns
        quiet = self._quiet.feed(acc, gyr)
        if fc.resets:
            q = quiet.copy()
            q[[i - start for i in fc.resets]] = False  # a filter restart splits the standing period
            self._standing.feed(start, q, roll)
        else:
            self._standing.feed(start, quiet, roll)
        self._gait.feed_filters(start, f_v)
        done = self._gait.detect()
        # the look-back buffer keeps what the open steps' measurements will read (a step's side is decided up to
        # ~15 s after its contact when a slow walk starts), up to _OPEN_STEP_MAX_S back
        first = self._gait.open_from(done)
        end = start + len(blk)
        buf.pin = NO_PIN if first is None else max(first, end - round(_OPEN_STEP_MAX_S * self.fs))
        labels = label_samples(start, quiet, self._gait.peaks, self._gait.lookahead_samples, self.fs)
        self._gait.prune_peaks(start + len(blk) - self._gait.lookahead_samples - round(2.0 * self.fs))
        out: list[Event] = []
        out.extend(self._bouts.feed(start, blk.t_s, labels))
        if self.stages:
            chunk = PelvisChunk(
                sensor_id=self._sensor_id,
                sampling_rate_hz=self.fs,
                t_s=blk.t_s,
                sample_index=np.arange(start, start + len(blk), dtype=np.int64),
                acc_ap_mps2=acc_p[0],
                acc_ml_mps2=acc_p[1],
                acc_v_mps2=acc_p[2],
                lin_acc_up_mps2=lin_up if gyr is not None else None,
                gyr_ap_radps=None if gyr_p is None else gyr_p[0],
                gyr_ml_radps=None if gyr_p is None else gyr_p[1],
                gyr_v_radps=None if gyr_p is None else gyr_p[2],
                roll_deg=roll,
                pitch_deg=pitch,
                yaw_deg=yaw,
                activity=labels,
                mounting_confidence=m.confidence,
            )
            for st in self.stages:
                out.extend(st.feed(chunk))
        out.extend(self._emit_steps(done))
        return out

    def _emit_steps(self, steps: list[Step]) -> list[Event]:
        if not steps:
            return []
        neutral: list[float | None] = (
            self._standing.neutrals_before([s.ic for s in steps]) if self._has_gyr else [None] * len(steps)
        )
        events = step_events(
            steps,
            self._buf,
            has_gyr=bool(self._has_gyr),
            neutral_before=neutral,
            mounting_confidence=self._mounting.confidence,
            running_speed_mps=self.cfg.running_speed_mps,
            walking_speed_mps=self.cfg.walking_speed_mps,
            turn_lean_deg=self.cfg.turn_lean_deg,
        )
        out: list[Event] = []
        # per step (10k an hour): the bout, session and rolling sums, alerts and the periodic rolling summary,
        # with the loop's invariants in locals. The sums take the steps in batches (add_many: the same state as
        # one add per step): the bout's before it is read (its end, or a rolling summary while its baseline
        # minutes may still change), the rolling window's before a rolling summary, the session's at the end
        cfg = self.cfg
        min_bout_s = cfg.min_bout_s
        emit_rolling = cfg.emit_rolling
        period = cfg.summary_every_s
        rolling, alerts = self._rolling, self._alerts
        on_alert = alerts.on_step
        isfinite, floor = math.isfinite, math.floor
        turn_until = self._turn_until_s
        next_t = self._next_summary_t
        kept: list[StepEvent] = []
        cols = StepColumns()  # kept's time, straight drop, side and cadence, for the sums (read once per step)
        add_t, add_drop, add_left, add_cad = cols.t.append, cols.drop.append, cols.left.append, cols.cad.append
        p0 = r0 = 0  # kept[p0:] are not yet added to the bout's sums, kept[r0:] not yet to the rolling window
        p_min_t = math.inf  # the earliest time in kept[p0:]
        bout = self._bout_sum
        for ev0 in events:
            t = ev0.t_s
            if not isfinite(t):
                # its initial contact already left the look-back buffer (a sparse step during exercise rests,
                # completed long after it happened): it cannot be measured, so it is not reported
                continue
            ev = ev0
            if ev.in_turn:
                turn_until = t + (ev.step_time_s or 0.0) + _TURN_RECOVERY_S
            elif t < turn_until:
                # the orientation estimate recovers from a turn's centripetal pull for a few seconds (see
                # orientation): those steps count as "in the turn" too
                ev = ev.model_copy(update={"in_turn": True})
            out.append(ev)
            # a new bout summary when the activity changes or after a pause (the bout as if kept[p0:] were added)
            if len(kept) > p0:
                prev = kept[-1]
                new_bout = ev.activity != prev.activity or t - prev.t_s > min_bout_s
            else:
                new_bout = bool(bout.steps) and (ev.activity != bout.activity or t - bout.t_last > min_bout_s)
            if new_bout:
                if len(kept) > p0:
                    bout.add_columns(cols, kept[-1].activity, p0, len(kept))
                p0, p_min_t = len(kept), math.inf
                out.extend(self._close_bout_summary(t))
                bout = self._bout_sum
            kept.append(ev)
            drop = None if ev.in_turn else ev.pelvic_drop_deg  # the step's StepColumns row
            add_t(t)
            add_drop(drop)
            add_left(ev.side == "left")
            add_cad(ev.cadence_spm)
            p_min_t = t if t < p_min_t else p_min_t  # min(p_min_t, t) without the builtin call
            if drop is not None:  # a straight step with a drop (AlertTracker.on_step ignores the others)
                alert = on_alert(ev)
                if alert:
                    out.extend(alert)
            if emit_rolling:
                if next_t is None:
                    next_t = (floor(t / period) + 1) * period
                elif t >= next_t:
                    next_t = (floor(t / period) + 1) * period
                    t0 = bout.t0 if bout.t0 is not None else kept[p0].t_s
                    if p_min_t - t0 <= bout.baseline_s:  # the baseline may still change
                        bout.add_columns(cols, ev.activity, p0, len(kept))
                        p0, p_min_t = len(kept), math.inf
                    rolling.add_many(kept[r0:], cols, r0)
                    r0 = len(kept)
                    summ = rolling.summary(bout.baseline_mean_deg)
                    if summ is not None:
                        out.append(summ)
                        out.extend(alerts.on_summary(summ, rolling.straight_per_side()))
        if kept:
            bout.add_columns(cols, kept[-1].activity, p0, len(kept))
            rolling.add_many(kept[r0:], cols, r0)
            self._session.add_columns(cols, kept[-1].activity)
        self._next_summary_t = next_t
        self._turn_until_s = turn_until
        return out

    def _close_bout_summary(self, t_s: float) -> list[Event]:
        b = self._bout_sum
        if b.steps == 0:
            return []
        self._bout_sum = BoutSummary(self.cfg.drop_threshold_deg, self.cfg.fatigue_baseline_s)
        return [b.summary(b.t_last, None)]


class AutoRatePipeline:
    """A :class:`HipPipeline` for sources that do not state their sampling rate.

    The rate is the inverse median sample interval of the stream's first ``rate_samples`` samples (fixed
    samples, so the result is still independent of chunk sizes); until then the samples are held.
    """

    def __init__(
        self,
        config: PipelineConfig | None = None,
        *,
        mounting: Mounting | None = None,
        stages: Sequence[PelvisStage] = (),
        rate_samples: int = 64,
    ) -> None:
        self._cfg = config
        self._mounting = mounting
        self._stages = list(stages)
        self._need = max(2, rate_samples)
        self._held: list[ImuBlock] = []
        self._held_n = 0
        self.pipeline: HipPipeline | None = None

    def feed(self, block: ImuBlock) -> list[Event]:
        if self.pipeline is not None:
            return self.pipeline.feed(block)
        if len(block):
            self._held.append(block)
            self._held_n += len(block)
        if self._held_n < self._need:
            return []
        return self._start()

    def _start(self) -> list[Event]:
        blk = ImuBlock.concat(self._held)
        self._held, self._held_n = [], 0
        t = blk.t_s[: self._need]
        fs = float(1.0 / np.median(np.diff(t)))
        self.pipeline = HipPipeline(fs, self._cfg, mounting=self._mounting, stages=self._stages)
        return self.pipeline.feed(blk)

    def finish(self) -> list[Event]:
        if self.pipeline is None:
            if self._held_n < 2:
                return []
            self._need = self._held_n
            out = self._start()
            return out + self._started().finish()
        return self.pipeline.finish()

    def _started(self) -> HipPipeline:
        if self.pipeline is None:
            raise DataValidationError("no sampling rate yet: feed at least two samples", field="t_s")
        return self.pipeline


def analyzer_factory(config: PipelineConfig | None = None) -> Callable[[str], AutoRatePipeline]:
    """``sensor_id -> Analyzer`` for ``sensor.app`` (the rate is taken from the stream's time stamps)."""

    def make(sensor_id: str) -> AutoRatePipeline:
        return AutoRatePipeline(config)

    return make
