"""Exercise centroids (FEATURES order of :mod:`.exercise`).

Placeholder values from the biomechanics of each exercise until ``bench/train_reps_classifier.py`` regenerates
this file from simulated sets (training seeds 1000-1099).
"""

from __future__ import annotations

from typing import Final

from sensor.events import Exercise

CENTROIDS: Final[dict[Exercise, tuple[float, float, float, float, float]]] = {
    "squat": (0.0, -40.0, 25.0, 1.0, 1.0),
    "lunge": (0.0, -35.0, 5.0, 4.0, -1.0),
    "static_lunge": (0.0, -35.0, 5.0, 4.0, 1.0),
    "step_up": (0.0, 30.0, 5.0, 5.0, 1.0),
    "glute_bridge": (-80.0, 15.0, -20.0, 1.0, 1.0),
    "single_leg_bridge": (-80.0, 12.0, -15.0, 6.0, 1.0),
    "hip_thrust": (-50.0, 25.0, -40.0, 1.0, 1.0),
    "romanian_deadlift": (5.0, -8.0, 55.0, 1.0, 1.0),
    "donkey_kick": (85.0, 0.0, 5.0, 5.0, 1.0),
    "sit_to_stand": (-15.0, 30.0, 15.0, 1.0, 1.0),
}
