"""Configuration of the running pipeline (all tunables with units in their names)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from sensor.pipeline.calibration import CalibrationConfig


class PipelineConfig(BaseModel):
    """Tunables of :class:`~sensor.pipeline.pipeline.HipPipeline`.

    Defaults and why:

    * ``drop_threshold_deg`` = 7.0: above the ~5-6 deg mean contralateral pelvic drop of uninjured runners and
      below the ~7.5-8 deg of injured groups in Bramah et al. 2018 (AJSM 46:3023), where each extra degree went
      with ~80 % higher odds of injury; Bramah 2019 cut drop by ~3 deg with a 10 % higher step rate, so a 7 deg
      line is reachable by retraining. Change it per runner.
    * ``asymmetry_limit_pct`` = 20: differences between legs below ~10-15 % are common in healthy runners.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    tau_s: float = Field(default=1.0, gt=0.0, description="orientation low-pass stage time constant, s")
    filter_order: int = Field(default=3, ge=1, le=6)
    filter_iterations: int = Field(default=3, ge=1, le=8)
    calibration_grid_s: float = Field(default=1.0, gt=0.0)
    max_warmup_s: float = Field(default=20.0, ge=0.0, description="longest hold-back before the mounting locks")
    side_lookahead_steps: int = Field(default=2, ge=0, le=8)
    side_window_steps: int = Field(default=16, ge=2)
    turn_lean_deg: float = Field(default=2.0, gt=0.0, description="estimated turn lean that flags a step")
    running_speed_mps: float = Field(default=3.3, gt=0.0, description="assumed speed for the turn-lean estimate")
    walking_speed_mps: float = Field(default=1.3, gt=0.0)
    rolling_window_s: float = Field(default=30.0, gt=0.0)
    summary_every_s: float = Field(default=5.0, gt=0.0, description="rolling summary emission period")
    drop_threshold_deg: float = Field(default=7.0, gt=0.0)
    asymmetry_limit_pct: float = Field(default=20.0, gt=0.0)
    alert_steps: int = Field(default=6, ge=1, description="consecutive same-side steps above threshold")
    alert_cooldown_s: float = Field(default=30.0, ge=0.0)
    fatigue_baseline_s: float = Field(default=180.0, gt=0.0, description="the run's first minutes")
    min_bout_s: float = Field(default=3.0, ge=0.0)
    emit_rolling: bool = True
    micro_batch_s: float = Field(
        default=2.0,
        ge=0.0,
        description="live chunks are collected to this length before processing (same results); stages with a "
        "latency budget (max_hold_s: rep counter, live tilt) shorten it while they need prompt input",
    )

    def calibration(self) -> CalibrationConfig:
        return CalibrationConfig(grid_s=self.calibration_grid_s, max_warmup_s=self.max_warmup_s)
