"""Exercise recognition from per-rep pose features: a small, transparent nearest-centroid classifier.

Features of a rep (all relative to the rest pose the rep starts from, read at the rep's turning point):

* ``rest_pitch_deg``: posture at rest (about 0 upright, about -90 supine, about +90 prone or quadruped);
* ``dz_cm``: vertical pelvis travel to the turn (negative = down: squats, lunges; positive = up: step-ups,
  bridges, rising from a chair);
* ``dpitch_deg``: change of anterior tilt to the turn (large and positive in a hip hinge);
* ``abs_droll_deg``: obliquity change to the turn (one-sided work);
* ``roll_alternation``: mean of ``sign(droll_k) * sign(droll_k-1)`` over the set (-1 = the side alternates).

A set's feature vector is the median over its reps; each feature is divided by its spread (``SCALES``) and the
nearest centroid wins. The confidence is a softmax over negative squared distances. The centroids are the means
over simulated sets of seeds 1000-1099 (``bench/train_reps_classifier.py`` writes :mod:`._centroids`); the
accuracy bench evaluates on seeds 0-99, which the training never saw.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
from numpy.typing import NDArray

from sensor.events import Exercise
from sensor.frames import Side
from sensor.pipeline.reps._centroids import CENTROIDS, SCALES

FloatArray = NDArray[np.float64]

FEATURES: Final = ("rest_pitch_deg", "dz_cm", "dpitch_deg", "abs_droll_deg", "roll_alternation")
TEMPERATURE: Final = 2.0


@dataclass(frozen=True, slots=True)
class RepFeatures:
    """What the classifier sees of one rep (see the module docstring)."""

    rest_pitch_deg: float
    dz_cm: float
    dpitch_deg: float
    droll_deg: float
    dyaw_deg: float
    peak: float
    duration_s: float


@dataclass(frozen=True, slots=True)
class Posture:
    name: str
    h_min: float
    """Smallest excursion (cm of travel or deg of tilt) that counts as a rep in this posture."""
    z_weight: float = 1.0
    """Weight of vertical travel (cm) against tilt (deg) in the excursion distance."""


UPRIGHT: Final = Posture("upright", 12.0)
SUPINE: Final = Posture("supine", 8.0, z_weight=0.3)
"""Lying, the tilt changes by 20-50 deg in every exercise, while the integrated travel drifts with the tilt
(a rep of a fast bridge set can gain 20 cm of drift): tilt carries the excursion."""
PRONE: Final = Posture("prone", 5.0, z_weight=0.0)
"""On all fours the pelvis hardly rises or falls (donkey kicks: about 2 cm) and its integrated travel is drift, so
tilt and obliquity alone carry the excursion. Getting down to all fours, the orientation estimate lags the truth by
15-20 deg for a few seconds (then snaps to it), its vertical acceleration is 0.4-0.6 m/s^2 off meanwhile, and with
any weight the travel error put the rest pose on the top of the first kick (seeds 93, 2068, 3093: 2-8 kicks lost
at the start of the set)."""


def posture_of(pitch_deg: float) -> Posture:
    """Upright, supine (pelvis' front facing up) or prone / quadruped (front facing down), from anterior tilt."""
    if pitch_deg < -40.0:
        return SUPINE
    if pitch_deg > 70.0:
        return PRONE
    return UPRIGHT


@dataclass(frozen=True, slots=True)
class ExerciseProfile:
    """What is known about an exercise once it is declared or recognised.

    Attributes:
        h_min: smallest excursion of the exercise at 70 % of its typical range (documentation; detection uses the
            posture's threshold, declared or not, so that declaring never adds a rep).
        travel: which way the pelvis moves to the turn ("up": the first movement is concentric).
        one_sided: whether each rep has a working side.
        roll_sign_left: sign of the obliquity change at the turn on a left-side rep (+1 or -1).
    """

    h_min: float
    one_sided: bool = False
    roll_sign_left: float = 1.0
    yaw_weight: float = 0.0
    travel: Literal["up", "down", "small", "any"] = "any"

    def side_of(self, feats: RepFeatures) -> Side | None:
        """Working side of a rep: the pelvis tilts down toward the free side (obliquity up on the working side)
        and, in lunges, turns toward the working side's back (yaw negative for the left leg forward)."""
        if not self.one_sided:
            return None
        score = feats.droll_deg * self.roll_sign_left - self.yaw_weight * feats.dyaw_deg
        return "left" if score > 0 else "right"

    def concentric_first(self, feats: RepFeatures) -> bool:
        """Moving the pelvis up first is concentric; with hardly any travel (donkey kick) the kick comes first."""
        if self.travel in ("up", "down"):
            return self.travel == "up"
        if abs(feats.dz_cm) < 3.0:
            return True
        return feats.dz_cm > 0


EXERCISE_PROFILES: Final[dict[Exercise, ExerciseProfile]] = {
    "squat": ExerciseProfile(h_min=10.0, travel="down"),
    "lunge": ExerciseProfile(h_min=10.0, one_sided=True, yaw_weight=1.0, travel="down"),
    "static_lunge": ExerciseProfile(h_min=10.0, one_sided=True, yaw_weight=1.0, travel="down"),
    "step_up": ExerciseProfile(h_min=10.0, one_sided=True, travel="up"),
    "glute_bridge": ExerciseProfile(h_min=6.0, travel="up"),
    "single_leg_bridge": ExerciseProfile(h_min=6.0, one_sided=True, travel="up"),
    "hip_thrust": ExerciseProfile(h_min=6.0, travel="up"),
    "romanian_deadlift": ExerciseProfile(h_min=10.0, travel="small"),
    "donkey_kick": ExerciseProfile(h_min=3.0, one_sided=True, travel="small"),
    "sit_to_stand": ExerciseProfile(h_min=10.0, travel="up"),
}


def set_vector(reps: Sequence[RepFeatures]) -> FloatArray:
    """The set's feature vector (medians over its reps, see ``FEATURES``).

    Computed on Python floats (it runs for every rep, on at most ``CLASSIFY_REPS`` reps: numpy's median costs
    ~50 us there); the same numbers as ``np.median(a, axis=0)`` and ``np.mean`` of the sign products: the middle
    value, or the sum of the two middle ones halved, and a sum of small integers (exact in any order, from
    +0.0 as numpy's) divided by their count. NaN features and zero medians (whose sign follows numpy's
    partition order) take numpy's way.
    """
    cols = (
        [r.rest_pitch_deg for r in reps],
        [r.dz_cm for r in reps],
        [r.dpitch_deg for r in reps],
        [abs(r.droll_deg) for r in reps],
    )
    if not reps or any(math.isnan(x) for col in cols for x in col):
        return _set_vector_np(reps)
    alternation = 0.0
    if len(reps) > 1:
        signs = [1.0 if r.droll_deg > 0.0 else -1.0 if r.droll_deg < 0.0 else 0.0 for r in reps]  # np.sign
        alternation = sum([a * b for a, b in zip(signs[1:], signs[:-1], strict=True)]) / (len(signs) - 1)
    med = [statistics.median(col) for col in cols]
    if 0.0 in med:
        return _set_vector_np(reps)  # the sign of a zero median depends on numpy's partition order
    return np.array([*med, alternation])


def _set_vector_np(reps: Sequence[RepFeatures]) -> FloatArray:
    """:func:`set_vector` with numpy (the reference; used when a feature is NaN)."""
    a = np.array([[r.rest_pitch_deg, r.dz_cm, r.dpitch_deg, abs(r.droll_deg)] for r in reps])
    med = np.median(a, axis=0)
    signs = np.sign([r.droll_deg for r in reps])
    alternation = float(np.mean(signs[1:] * signs[:-1])) if len(reps) > 1 else 0.0
    return np.array([*med.tolist(), alternation])


class ExerciseClassifier:
    """Nearest centroid over scaled set features, with a softmax confidence.

    Args:
        centroids: exercise -> feature vector (``FEATURES`` order); default: the trained ones.
    """

    def __init__(self, centroids: dict[Exercise, Sequence[float]] | None = None) -> None:
        table = CENTROIDS if centroids is None else centroids
        self.names: list[Exercise] = list(table)
        self.centroids = np.array([table[n] for n in self.names], dtype=np.float64)
        self.scales = np.array(SCALES, dtype=np.float64)

    def scores(self, vec: FloatArray, n_reps: int) -> FloatArray:
        """Squared scaled distances to every centroid (the alternation feature only counts from 2 reps on)."""
        diff = (self.centroids - vec[None, :]) / self.scales[None, :]
        if n_reps < 2:
            diff[:, 4] = 0.0
        out: FloatArray = np.einsum("ij,ij->i", diff, diff)
        return out

    def classify(self, reps: Sequence[RepFeatures]) -> tuple[Exercise, float]:
        """The most likely exercise of a set (or of the reps so far) and its confidence in [0, 1]."""
        d2 = self.scores(set_vector(reps), len(reps))
        logits = -(d2 - d2.min()) / TEMPERATURE
        p = np.exp(logits)
        p /= p.sum()
        k = int(np.argmax(p))
        return self.names[k], float(min(1.0, max(0.0, p[k])))
