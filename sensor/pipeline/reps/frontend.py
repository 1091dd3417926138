"""A pelvis-frame front end with a fixed, known mounting (no automatic calibration).

:class:`~sensor.pipeline.pipeline.HipPipeline` finds the mounting by itself; this front end is for when the
mounting is already known (a stored ``hipsense calibrate`` result, or a simulator's truth in benches), and for
exercise sessions where the automatic calibration has nothing to work with. It reuses the running pipeline's
orientation filter (:class:`~sensor.pipeline.orientation.GravityFilter`, :func:`pelvis_angles_deg`,
:class:`YawIntegrator`) and emits the same :class:`~sensor.pipeline.stage.PelvisChunk`. It runs no gait
detector: every sample's activity is ``"other"``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from sensor.errors import DataValidationError
from sensor.events import Event
from sensor.frames import STANDARD_GRAVITY_MPS2
from sensor.model import ImuBlock
from sensor.pipeline.calibration import Mounting, MountingCalibrator
from sensor.pipeline.orientation import GravityFilter, YawIntegrator, pelvis_angles_deg
from sensor.pipeline.config import PipelineConfig
from sensor.pipeline.pipeline import HipPipeline
from sensor.pipeline.stage import OTHER, PelvisChunk, PelvisStage

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
        self, acc_mps2: FloatArray, gyr_radps: FloatArray | None, up_sensor: FloatArray
    ) -> list[tuple[int, Mounting]]:
        super().feed_motion(acc_mps2, gyr_radps, up_sensor)  # locking and bounded bookkeeping as usual
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


class FixedMountingFrontEnd:
    """Sensor-frame blocks in, pelvis-frame chunks out, with a fixed mounting; chunk-size invariant.

    Args:
        sampling_rate_hz: nominal rate of the input.
        mounting: the sensor-to-pelvis rotation and gyroscope bias to apply.
    """

    def __init__(self, sampling_rate_hz: float, mounting: Mounting) -> None:
        self.fs = float(sampling_rate_hz)
        self.mounting = mounting
        self._gravity = GravityFilter(self.fs)
        self._yaw = YawIntegrator(self.fs)
        self._n = 0

    def feed(self, block: ImuBlock) -> PelvisChunk:
        if block.gyr_radps is None:
            raise DataValidationError(
                "the fixed-mounting front end needs a gyroscope; use HipPipeline for accelerometer-only data",
                field="gyr_radps",
            )
        r = self.mounting.r_pelvis_from_sensor
        gyr = block.gyr_radps - self.mounting.gyr_bias_radps
        acc = block.acc_mps2
        u = self._gravity.feed(acc, gyr)
        acc_p = acc @ r.T
        gyr_p = gyr @ r.T
        roll, pitch = pelvis_angles_deg(u @ r.T)
        yaw = self._yaw.feed(u, gyr)
        n = len(block)
        chunk = PelvisChunk(
            sensor_id=block.sensor_id,
            sampling_rate_hz=self.fs,
            t_s=block.t_s,
            sample_index=np.arange(self._n, self._n + n, dtype=np.int64),
            acc_ap_mps2=acc_p[:, 0],
            acc_ml_mps2=acc_p[:, 1],
            acc_v_mps2=acc_p[:, 2],
            lin_acc_up_mps2=np.einsum("ij,ij->i", acc, u) - STANDARD_GRAVITY_MPS2,
            gyr_ap_radps=gyr_p[:, 0],
            gyr_ml_radps=gyr_p[:, 1],
            gyr_v_radps=gyr_p[:, 2],
            roll_deg=roll,
            pitch_deg=pitch,
            yaw_deg=yaw,
            activity=np.full(n, OTHER, dtype=np.int8),
            mounting_confidence=self.mounting.confidence,
        )
        self._n += n
        return chunk


class FixedMountingAnalyzer:
    """:class:`FixedMountingFrontEnd` followed by pelvis stages: an :class:`~sensor.interfaces.Analyzer`."""

    def __init__(self, sampling_rate_hz: float, mounting: Mounting, stages: list[PelvisStage]) -> None:
        self.front = FixedMountingFrontEnd(sampling_rate_hz, mounting)
        self.stages = stages

    def feed(self, block: ImuBlock) -> list[Event]:
        if len(block) == 0:
            return []
        chunk = self.front.feed(block)
        out: list[Event] = []
        for st in self.stages:
            out.extend(st.feed(chunk))
        return out

    def finish(self) -> list[Event]:
        out: list[Event] = []
        for st in self.stages:
            out.extend(st.finish())
        return out
