"""Debounced alerts: drop above the threshold for N steps of one side, asymmetry above a limit.

* ``drop_above_threshold``: ``alert_steps`` consecutive straight steps of the same stance side (the other
  side's steps in between do not reset it) whose drop exceeds ``drop_threshold_deg``; then silent for
  ``alert_cooldown_s`` for that side.
* ``asymmetry_above_limit``: the rolling window's asymmetry index exceeds ``asymmetry_limit_pct`` in absolute
  value with at least 10 straight steps per side in the window; then silent for ``alert_cooldown_s``.
"""

from __future__ import annotations

from sensor.events import AlertEvent, RollingSummary, StepEvent


class AlertTracker:
    def __init__(self, threshold_deg: float, n_steps: int, asym_limit_pct: float, cooldown_s: float) -> None:
        self.threshold = threshold_deg
        self.n_steps = n_steps
        self.asym_limit = asym_limit_pct
        self.cooldown = cooldown_s
        self.count = {"left": 0, "right": 0}
        self.last = {"left": -1e18, "right": -1e18, "asym": -1e18}

    def on_step(self, ev: StepEvent) -> list[AlertEvent]:
        if ev.pelvic_drop_deg is None or ev.in_turn:
            return []
        side = ev.side
        if ev.pelvic_drop_deg > self.threshold:
            self.count[side] += 1
        else:
            self.count[side] = 0
        if self.count[side] >= self.n_steps and ev.t_s - self.last[side] >= self.cooldown:
            self.last[side] = ev.t_s
            self.count[side] = 0
            return [
                AlertEvent(
                    t_s=ev.t_s,
                    alert="drop_above_threshold",
                    message=f"pelvic drop on {side} stance above {self.threshold:g} deg for {self.n_steps} steps",
                    value=ev.pelvic_drop_deg,
                    threshold=self.threshold,
                    side=side,
                )
            ]
        return []

    def on_summary(self, s: RollingSummary, straight_per_side: int) -> list[AlertEvent]:
        ai = s.asymmetry_index_pct
        if ai is None or straight_per_side < 10 or abs(ai) <= self.asym_limit:
            return []
        if s.t_s - self.last["asym"] < self.cooldown:
            return []
        self.last["asym"] = s.t_s
        weaker = "right" if ai > 0 else "left"
        return [
            AlertEvent(
                t_s=s.t_s,
                alert="asymmetry_above_limit",
                message=f"drop asymmetry {ai:+.0f} % (more drop on {weaker} stance) above {self.asym_limit:g} %",
                value=ai,
                threshold=self.asym_limit,
                side=weaker,
            )
        ]
