"""The pelvis-frame stage interface: what extra stages (e.g. the glute rep counter) receive and return.

See :mod:`sensor.pipeline.pipeline` for the full contract. In short: :class:`HipPipeline` turns sensor-frame
:class:`~sensor.model.ImuBlock` chunks into :class:`PelvisChunk` chunks (mounting removed, orientation
estimated, activity labelled) and hands every chunk, in order, to each registered :class:`PelvisStage`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Protocol

import numpy as np
from numpy.typing import NDArray

from sensor.events import Event

FloatArray = NDArray[np.float64]

ACTIVITY_LABELS: Final[tuple[str, ...]] = ("standing", "walking", "running", "other")
"""Per-sample activity codes used in :attr:`PelvisChunk.activity`: ``ACTIVITY_LABELS[code]``."""
STANDING: Final = 0
WALKING: Final = 1
RUNNING: Final = 2
OTHER: Final = 3


@dataclass(frozen=True, slots=True, eq=False)
class PelvisChunk:
    """One chunk of pelvis-frame samples, contiguous with the previous chunk handed to the same stage.

    Every array has shape ``(n,)``. Frames and signs follow :mod:`sensor.frames` (AP forward, ML left, V up;
    roll = obliquity, + left side higher; pitch = anterior tilt, + front down; yaw + turning left).

    Attributes:
        sensor_id: the sensor.
        sampling_rate_hz: the nominal sampling rate the pipeline was built for.
        t_s: sample times in the input's time base, s.
        sample_index: running sample number of the pipeline (0 = first sample fed), int64.
        acc_ap_mps2, acc_ml_mps2, acc_v_mps2: specific force (gravity included) in the pelvis frame, m/s^2.
        lin_acc_up_mps2: world-vertical linear acceleration (gravity removed, + up), m/s^2; ``None`` without
            gyroscope (no orientation estimate).
        gyr_ap_radps, gyr_ml_radps, gyr_v_radps: bias-corrected angular rate in the pelvis frame, rad/s;
            ``None`` for accelerometer-only input.
        roll_deg, pitch_deg, yaw_deg: pelvis obliquity, anterior tilt and rotation (yaw is integrated and
            drifts; use it only over short spans); ``None`` for accelerometer-only input.
        activity: per-sample activity code (index into :data:`ACTIVITY_LABELS`), int8, causal: it uses only
            samples up to that sample's time.
        mounting_confidence: confidence in [0, 1] of the sensor-to-pelvis mounting used for this chunk.
    """

    sensor_id: str
    sampling_rate_hz: float
    t_s: FloatArray
    sample_index: NDArray[np.int64]
    acc_ap_mps2: FloatArray
    acc_ml_mps2: FloatArray
    acc_v_mps2: FloatArray
    lin_acc_up_mps2: FloatArray | None
    gyr_ap_radps: FloatArray | None
    gyr_ml_radps: FloatArray | None
    gyr_v_radps: FloatArray | None
    roll_deg: FloatArray | None
    pitch_deg: FloatArray | None
    yaw_deg: FloatArray | None
    activity: NDArray[np.int8]
    mounting_confidence: float

    def __len__(self) -> int:
        return int(self.t_s.shape[0])

    def is_activity(self, label: str) -> NDArray[np.bool_]:
        """Boolean mask of the samples labelled ``label`` (one of :data:`ACTIVITY_LABELS`)."""
        return np.asarray(self.activity == ACTIVITY_LABELS.index(label))


class PelvisStage(Protocol):
    """An extra analysis stage fed with pelvis-frame chunks by :class:`~sensor.pipeline.pipeline.HipPipeline`.

    Contract:

    * ``feed`` is called with consecutive, non-overlapping chunks (any size, possibly empty); the stage must give
      the same events whatever the chunk sizes (keep explicit state, never keep the input arrays).
    * ``finish`` is called once at the end of the stream to flush pending events.
    * Events returned are pydantic models from :mod:`sensor.events` (``RepEvent``, ``SetEvent``, ``HoldEvent``,
      ``AlertEvent`` ...), with times in the input's time base.
    * Optional: a ``max_hold_s`` attribute or property (seconds, may change with the stage's state). The pipeline
      collects live input into micro-batches of ``PipelineConfig.micro_batch_s``; while a stage's ``max_hold_s``
      is shorter, batches are cut to that length, read after every processed batch (a latency budget: the rep
      counter asks for every chunk during a rep). Results never depend on it, only when they come out.
    """

    def feed(self, chunk: PelvisChunk) -> list[Event]: ...

    def finish(self) -> list[Event]: ...
