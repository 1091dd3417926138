"""Automatic mounting calibration: the sensor-to-pelvis rotation and the gyroscope bias, refined over time.

The clip may sit at any angle. The pelvis frame (AP, ML, V; :mod:`sensor.frames`) is found from the data:

* **Vertical (V)**: the mean specific force of a quiet period (|acc| ~ g, small variance, small angular rate) of
  at least 2 s, i.e. the latest quiet standing, which is also what defines neutral. Without one, the long-term
  average of the orientation filter's up vector during gait (the mean running posture).
* **Gyroscope bias**: the mean angular rate of the latest quiet period (updated at every rest).
* **Forward (AP)**: the principal direction of the horizontal acceleration during gait. For a symmetric gait the
  AP acceleration repeats every step (even stride harmonics) and the ML acceleration every stride (odd
  harmonics), so their covariance vanishes and the principal axis is AP (Moe-Nilssen 1998; the horizontal AP
  variance exceeds the ML variance in walking and running).
* **Sign of forward** (otherwise left and right would swap), from physical evidence, strongest first:
  gait initiation and termination (the horizontal velocity gained over the first 2 s after rest points forward,
  the one lost in the last 2 s before rest points forward too: ``Delta v = integral of a_h``), and turns (the
  centripetal acceleration ``w_up x v`` points to the inside of the turn, so ``mean(a_h) * mean(w_up)`` points
  to +ML for a forward-moving runner). A prior mounting (the clip's nominal orientation, or a stored
  ``hipsense calibrate`` result) adds a weak vote and is used until the data say more.

Statistics are collected on a fixed grid of ``grid_s`` seconds of samples (absolute sample numbers), and the
mounting can only change at grid points: the calibration is a deterministic function of the sample stream,
whatever the chunk sizes. The confidence in [0, 1] combines how the vertical was found, how much gait was
seen, how elongated the horizontal acceleration is (eigenvalue ratio) and how strong the sign evidence is.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from sensor.errors import DataValidationError
from sensor.frames import STANDARD_GRAVITY_MPS2
from sensor.pipeline.filters import butter_lowpass

FloatArray = NDArray[np.float64]
VerticalSource = Literal["prior", "standing", "gait"]
ForwardSource = Literal["prior", "gait"]
SignSource = Literal["prior", "gait_start_stop", "turns"]


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
    def from_dict(cls, d: dict[str, Any]) -> Mounting:
        r = np.asarray(d["r_pelvis_from_sensor"], dtype=np.float64)
        if r.shape != (3, 3) or not np.allclose(r @ r.T, np.eye(3), atol=1e-6) or np.linalg.det(r) < 0:
            raise DataValidationError(
                f"r_pelvis_from_sensor must be a proper 3x3 rotation matrix, got {r.tolist()}; run "
                "`hipsense calibrate` again",
                field="r_pelvis_from_sensor",
            )
        return cls(
            r,
            np.asarray(d.get("gyr_bias_radps", [0.0, 0.0, 0.0]), dtype=np.float64),
            float(d.get("confidence", 0.0)),
            d.get("vertical_source", "prior"),
            d.get("forward_source", "prior"),
            d.get("sign_source", "prior"),
        )


@dataclass(frozen=True, slots=True)
class CalibrationConfig:
    """Tunables of the automatic calibration (units in the names)."""

    grid_s: float = 1.0
    quiet_acc_std_mps2: float = 0.35
    quiet_gyr_std_radps: float = 0.06
    quiet_gyr_mean_radps: float = 0.15
    quiet_min_s: float = 2.0
    gait_acc_std_mps2: float = 0.9
    forget_per_s: float = 0.995
    turn_rate_radps: float = 0.2
    start_window_s: float = 2.0
    prior_sign_weight: float = 0.3
    lock_confidence: float = 0.5
    max_warmup_s: float = 20.0
    update_angle_deg: float = 0.5


_NQ = 3 + 3 + 3 + 3 + 9 + 3 + 3 + 1  # acc, acc^2, gyr, gyr^2, a_h a_h^T, a_h, up, w_up


@dataclass(slots=True)
class _State:
    partial: list[FloatArray] = field(default_factory=list)
    partial_n: int = 0
    quiet_run: int = 0
    quiet_acc: FloatArray = field(default_factory=lambda: np.zeros(3))
    quiet_gyr: FloatArray = field(default_factory=lambda: np.zeros(3))
    quiet_n: int = 0
    prev_quiet: bool = False
    gait_cov: FloatArray = field(default_factory=lambda: np.zeros((3, 3)))
    gait_n: float = 0.0
    gait_s_total: float = 0.0
    gait_up: FloatArray = field(default_factory=lambda: np.zeros(3))
    sign_start: FloatArray = field(default_factory=lambda: np.zeros(3))
    sign_turn: FloatArray = field(default_factory=lambda: np.zeros(3))
    start_left: int = 0
    recent_dv: deque[FloatArray] = field(default_factory=lambda: deque(maxlen=2))
    vertical: FloatArray | None = None
    vertical_source: VerticalSource = "prior"
    bias: FloatArray | None = None
    segments: int = 0
    locked: bool = False


class MountingCalibrator:
    """Streaming mounting calibration on a fixed sample grid.

    Call :meth:`feed` with consecutive sensor-frame samples and the orientation filter's up vectors for them;
    it returns the mounting updates as ``(first_sample_index, Mounting)`` pairs, effective from that absolute
    sample index on.
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
        self._n_seen = 0
        # its own up estimate (sensor-frame low-pass): good enough for horizontal projections, and independent
        # of the gyro bias this calibration feeds to the orientation filter
        self._lp = butter_lowpass(0.3, self.fs, order=2)
        self.lock_index: int | None = None
        self.lock_mounting: Mounting | None = None

    @property
    def locked(self) -> bool:
        """True once the confidence reached ``lock_confidence`` or ``max_warmup_s`` of data were seen."""
        return self._s.locked

    @property
    def samples_seen(self) -> int:
        return self._n_seen

    def force_lock(self) -> None:
        """Lock with what is known (end of stream before the confidence was reached)."""
        if not self._s.locked:
            self._s.locked = True
            self.lock_index = self._n_seen
            self.lock_mounting = self.mounting

    def feed(self, acc_mps2: FloatArray, gyr_radps: FloatArray | None) -> list[tuple[int, Mounting]]:
        """Add samples; returns the mounting updates decided at grid points inside them."""
        n = acc_mps2.shape[0]
        if n == 0:
            return []
        up_sensor = self._lp(acc_mps2)
        up_sensor = up_sensor / np.linalg.norm(up_sensor, axis=1)[:, None]
        gyr = gyr_radps if gyr_radps is not None else np.zeros_like(acc_mps2)
        s = self._s
        a_up = np.einsum("ij,ij->i", acc_mps2, up_sensor)
        a_h = acc_mps2 - a_up[:, None] * up_sensor
        q = np.empty((n, _NQ))
        q[:, 0:3] = acc_mps2
        q[:, 3:6] = acc_mps2 * acc_mps2
        q[:, 6:9] = gyr
        q[:, 9:12] = gyr * gyr
        q[:, 12:21] = (a_h[:, :, None] * a_h[:, None, :]).reshape(n, 9)
        q[:, 21:24] = a_h
        q[:, 24:27] = up_sensor
        q[:, 27] = np.einsum("ij,ij->i", gyr, up_sensor)
        updates: list[tuple[int, Mounting]] = []
        i = 0
        while i < n:
            take = min(self.grid - s.partial_n, n - i)
            s.partial.append(q[i : i + take])
            s.partial_n += take
            i += take
            if s.partial_n == self.grid:
                rows = np.concatenate(s.partial) if len(s.partial) > 1 else s.partial[0]
                s.partial = []
                s.partial_n = 0
                end_index = self._n_seen + i
                was_locked = s.locked
                m = self._segment(rows, has_gyr=gyr_radps is not None)
                if m is not None:
                    updates.append((end_index, m))
                if s.locked and not was_locked:
                    self.lock_index = end_index
                    self.lock_mounting = self.mounting
        self._n_seen += n
        return updates

    # -----------------------------------------------------------------------------------------------
    def _segment(self, rows: FloatArray, *, has_gyr: bool) -> Mounting | None:
        cfg, s = self.cfg, self._s
        k = rows.shape[0]
        mean = rows.sum(axis=0) / k
        acc_mean = mean[0:3]
        acc_var = float(np.sum(np.maximum(mean[3:6] - acc_mean**2, 0.0)))
        gyr_mean = mean[6:9]
        gyr_var = float(np.sum(np.maximum(mean[9:12] - gyr_mean**2, 0.0)))
        ah_mean = mean[21:24]
        ahh = mean[12:21].reshape(3, 3) - np.outer(ah_mean, ah_mean)
        up_mean = mean[24:27]
        w_up = float(mean[27])
        seg_s = k / self.fs
        s.segments += 1

        quiet = (
            math.sqrt(acc_var) < cfg.quiet_acc_std_mps2
            and math.sqrt(gyr_var) < cfg.quiet_gyr_std_radps
            and float(np.linalg.norm(gyr_mean)) < cfg.quiet_gyr_mean_radps
            and abs(float(np.linalg.norm(acc_mean)) - STANDARD_GRAVITY_MPS2) < 0.6
        )
        gait = not quiet and math.sqrt(acc_var) > cfg.gait_acc_std_mps2
        dv = ah_mean * seg_s  # horizontal velocity change over the segment, m/s (sensor frame)

        if quiet:
            if not s.prev_quiet:
                s.quiet_acc = np.zeros(3)
                s.quiet_gyr = np.zeros(3)
                s.quiet_n = 0
                if len(s.recent_dv) == s.recent_dv.maxlen:  # gait termination: the velocity lost points forward
                    s.sign_start = s.sign_start + sum(s.recent_dv, np.zeros(3)) * -1.0
            s.quiet_acc = s.quiet_acc + acc_mean * k
            s.quiet_gyr = s.quiet_gyr + gyr_mean * k
            s.quiet_n += k
            s.quiet_run += 1
            s.recent_dv.clear()
            s.start_left = 0
            if s.quiet_n / self.fs >= cfg.quiet_min_s:
                s.vertical = s.quiet_acc / np.linalg.norm(s.quiet_acc)
                s.vertical_source = "standing"
                if has_gyr:
                    s.bias = s.quiet_gyr / s.quiet_n
        else:
            if s.prev_quiet and s.quiet_n / self.fs >= 1.0:
                s.start_left = max(1, round(cfg.start_window_s / cfg.grid_s))
            if s.start_left > 0:
                s.sign_start = s.sign_start + dv
                s.start_left -= 1
            s.recent_dv.append(dv)
            s.quiet_run = 0
        s.prev_quiet = quiet

        lam = cfg.forget_per_s**seg_s
        if gait:
            s.gait_cov = lam * s.gait_cov + ahh * k
            s.gait_n = lam * s.gait_n + k
            s.gait_up = lam * s.gait_up + up_mean * k
            s.gait_s_total += seg_s
            if abs(w_up) > cfg.turn_rate_radps:
                s.sign_turn = s.sign_turn + ah_mean * w_up * seg_s

        return self._update()

    def _update(self) -> Mounting | None:
        cfg, s = self.cfg, self._s
        prior_r = self.prior.r_pelvis_from_sensor
        # vertical
        if s.vertical is not None:
            v = s.vertical
            c_vert = 1.0
            v_src: VerticalSource = "standing"
        elif s.gait_n > 0 and s.gait_s_total >= 5.0:
            v = s.gait_up / np.linalg.norm(s.gait_up)
            c_vert = min(1.0, s.gait_s_total / 10.0) * 0.8
            v_src = "gait"
        else:
            v = prior_r[2]
            c_vert = 0.3 if self.prior.vertical_source == "prior" else 0.8
            v_src = "prior"
        # forward axis
        prior_ap = prior_r[0] - np.dot(prior_r[0], v) * v
        if np.linalg.norm(prior_ap) < 1e-3:  # prior forward is vertical: any horizontal axis
            prior_ap = np.cross(v, np.array([0.0, 0.0, 1.0]) if abs(v[2]) < 0.9 else np.array([1.0, 0.0, 0.0]))
        prior_ap = prior_ap / np.linalg.norm(prior_ap)
        f_src: ForwardSource = "prior"
        c_fwd = 0.2 if self.prior.forward_source == "prior" else 0.7
        f = prior_ap
        if s.gait_n > 0 and s.gait_s_total >= 3.0:
            p = np.eye(3) - np.outer(v, v)
            c = p @ (s.gait_cov / s.gait_n) @ p
            w, vecs = np.linalg.eigh(c)
            ratio = float(w[2] / max(w[1], 1e-9))
            cand = vecs[:, 2] - np.dot(vecs[:, 2], v) * v
            cand = cand / np.linalg.norm(cand)
            c_gait = min(1.0, s.gait_s_total / 8.0) * float(np.clip((ratio - 1.0) / 1.5, 0.0, 1.0))
            if c_gait >= c_fwd * 0.5:
                f = cand
                f_src = "gait"
                c_fwd = max(c_fwd, c_gait)
        # sign of forward
        e_start = float(np.dot(s.sign_start, f))
        ml_turn = s.sign_turn - np.dot(s.sign_turn, v) * v
        e_turn = float(np.dot(np.cross(ml_turn, v), f))
        e_prior = (
            cfg.prior_sign_weight * float(np.dot(prior_ap, f)) * (3.0 if self.prior.sign_source != "prior" else 1.0)
        )
        score = e_start + e_turn + e_prior
        sign_src: SignSource = "prior"
        if abs(e_start) >= max(abs(e_turn), abs(e_prior)):
            sign_src = "gait_start_stop"
        elif abs(e_turn) >= abs(e_prior):
            sign_src = "turns"
        if score < 0:
            f = -f
        c_sign = float(1.0 - math.exp(-abs(score) / 0.5))
        ml = np.cross(v, f)
        r = np.vstack([f, ml / np.linalg.norm(ml), v])
        conf = float(np.clip(c_vert * c_fwd * c_sign, 0.0, 1.0))
        bias = s.bias if s.bias is not None else self.prior.gyr_bias_radps
        if not s.locked and (conf >= cfg.lock_confidence or s.segments * cfg.grid_s >= cfg.max_warmup_s):
            s.locked = True
        old = self.mounting
        angle = _rotation_angle_deg(old.r_pelvis_from_sensor, r)
        changed = (
            angle > cfg.update_angle_deg
            or float(np.linalg.norm(bias - old.gyr_bias_radps)) > 1e-3
            or (v_src, f_src, sign_src) != (old.vertical_source, old.forward_source, old.sign_source)
            or abs(conf - old.confidence) > 0.1
        )
        if not changed:
            return None
        self.mounting = Mounting(r, np.array(bias, dtype=np.float64), conf, v_src, f_src, sign_src)
        return self.mounting


def _rotation_angle_deg(r1: FloatArray, r2: FloatArray) -> float:
    c = (float(np.trace(r1 @ r2.T)) - 1.0) / 2.0
    return math.degrees(math.acos(max(-1.0, min(1.0, c))))


def rotation_angle_deg(r1: FloatArray, r2: FloatArray) -> float:
    """Angle of the rotation between two rotation matrices, degrees."""
    return _rotation_angle_deg(r1, r2)
