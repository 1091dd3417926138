"""The running pipeline with a fixed, known mounting (no automatic re-calibration).

:class:`~sensor.pipeline.pipeline.HipPipeline` finds the mounting by itself and re-levels on every quiet period;
that is right for standing and running, but a lying (bridge) or kneeling (donkey kick) rest between sets would be
taken for upright. When the mounting is known (a stored ``hipsense calibrate`` result, or the simulator's truth
in tests and benches), :func:`pipeline_with_fixed_mounting` keeps it and everything else of the pipeline:
gyroscope bias at rest, orientation, gait detection and activity labels.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from sensor.pipeline.calibration import Mounting, MountingCalibrator
from sensor.pipeline.config import PipelineConfig
from sensor.pipeline.pipeline import HipPipeline
from sensor.pipeline.stage import PelvisStage

FloatArray = NDArray[np.float64]


class FixedMountingCalibrator(MountingCalibrator):
    """A :class:`~sensor.pipeline.calibration.MountingCalibrator` that keeps a known mounting.

    The automatic calibration re-levels on quiet periods, which is right for standing and running but would take
    a lying or kneeling rest between sets for "upright" (see docs/training.md). This one keeps estimating the
    gyroscope bias at rest but never changes the mounting.
    """

    def __init__(self, sampling_rate_hz: float, mounting: Mounting) -> None:
        super().__init__(sampling_rate_hz, prior=mounting)
        self.fixed = mounting

    def feed_motion(
        self,
        acc_mps2: FloatArray,
        gyr_radps: FloatArray | None,
        up_sensor: FloatArray,
        *,
        acc_up_mps2: FloatArray | None = None,
        gyr_up_radps: FloatArray | None = None,
    ) -> list[tuple[int, Mounting]]:
        # locking and bounded bookkeeping as usual
        super().feed_motion(acc_mps2, gyr_radps, up_sensor, acc_up_mps2=acc_up_mps2, gyr_up_radps=gyr_up_radps)
        self.mounting = self.fixed
        if self.lock_mounting is not None:
            self.lock_mounting = self.fixed
        return []

    def force_lock(self) -> None:
        super().force_lock()
        self.mounting = self.lock_mounting = self.fixed


def pipeline_with_fixed_mounting(
    sampling_rate_hz: float,
    mounting: Mounting,
    stages: Sequence[PelvisStage] = (),
    config: PipelineConfig | None = None,
) -> HipPipeline:
    """A :class:`~sensor.pipeline.pipeline.HipPipeline` that applies ``mounting`` and never recalibrates."""
    pipe = HipPipeline(sampling_rate_hz, config, mounting=mounting, stages=stages)
    pipe.calibrator = FixedMountingCalibrator(sampling_rate_hz, mounting)
    return pipe
