"""``simulate(scenario) -> SimResult``: the one entry point of the simulator."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from sensor.model import ImuBlock
from sensor.sim.imu import apply_sensor, pelvis_imu
from sensor.sim.kinematics import build
from sensor.sim.scenario import Scenario
from sensor.sim.truth import Truth

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True, eq=False)
class SimResult:
    """The recording (``block``, sensor frame, SI units, with the simulated loss) and its ground truth.

    ``acc_true_mps2`` / ``gyr_true_radps`` are the error-free readings in the sensor frame for every sample
    (including lost ones), handy for separating estimator error from sensor error.
    """

    scenario: Scenario
    block: ImuBlock
    truth: Truth
    acc_true_mps2: FloatArray
    gyr_true_radps: FloatArray


def simulate(scenario: Scenario, seed: int | None = None) -> SimResult:
    """Simulate a scenario. Deterministic for ``seed`` (default: ``scenario.seed``).

    The motion and the sensor errors draw from independent random streams, so changing the sensor model keeps
    the motion (and its truth) identical for the same seed.
    """
    root = np.random.SeedSequence(scenario.seed if seed is None else seed)
    motion_seq, sensor_seq = root.spawn(2)
    kin = build(scenario, np.random.default_rng(motion_seq))
    lever = np.asarray(scenario.mounting.lever_arm_m, dtype=float)
    r_ps = scenario.mounting.r_pelvis_from_sensor()
    f_p, w_p = pelvis_imu(kin.channels, lever)
    acc = f_p @ r_ps  # row vectors: (R_sp f)^T = f^T R_ps
    gyr = w_p @ r_ps
    block, err = apply_sensor(kin.t_s, acc, gyr, scenario.sensor, np.random.default_rng(sensor_seq), scenario.sensor_id)
    ch = kin.channels
    truth = Truth(
        sampling_rate_hz=scenario.sensor.sampling_rate_hz,
        t_s=kin.t_s,
        roll_deg=np.degrees(ch.roll.v),
        pitch_deg=np.degrees(ch.pitch.v),
        yaw_deg=np.degrees(ch.heading.v + ch.yaw_osc.v),
        z_m=ch.z.v.copy(),
        activity_code=kin.activity_code,
        quiet_standing=kin.quiet_standing,
        steps=kin.steps,
        reps=kin.reps,
        sets=kin.sets,
        holds=kin.holds,
        segments=kin.segments,
        r_pelvis_from_sensor=r_ps,
        lever_arm_m=lever,
        gyr_bias_t_s=err.gyr_bias_t_s,
        gyr_bias_radps=err.gyr_bias_radps,
        acc_bias_t_s=err.acc_bias_t_s,
        acc_bias_mps2=err.acc_bias_mps2,
        acc_scale=err.acc_scale,
        gyr_scale=err.gyr_scale,
        scenario=scenario.model_dump(mode="json"),
    )
    return SimResult(scenario, block, truth, acc, gyr)
