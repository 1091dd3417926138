"""Glute training: streaming set / rep / hold detection, exercise recognition and the training log.

* :class:`RepStage` (:mod:`.counter`): pelvis-frame chunks in, :class:`~sensor.events.RepEvent`,
  :class:`~sensor.events.SetEvent` and :class:`~sensor.events.HoldEvent` out.
* :class:`ExerciseClassifier` (:mod:`.exercise`): nearest-centroid exercise recognition with a confidence.
* :mod:`.log`: weekly glute sessions against the 2-3 per week guidance, and the long-sitting stage.
"""

from sensor.pipeline.reps.counter import RepStage
from sensor.pipeline.reps.exercise import ExerciseClassifier, RepFeatures
from sensor.pipeline.reps.log import LongSittingStage

__all__ = ["ExerciseClassifier", "LongSittingStage", "RepFeatures", "RepStage"]
