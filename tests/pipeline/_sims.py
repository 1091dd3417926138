"""Small fixed-seed simulations shared by the pipeline tests (cached: each is simulated once per session)."""

from __future__ import annotations

from functools import cache

import numpy as np

from sensor.events import Event, StepEvent
from sensor.model import ImuBlock
from sensor.pipeline.pipeline import HipPipeline
from sensor.sim import Mounting, Running, Scenario, SensorModel, SimResult, Standing, Turn, Walking, simulate

TILTED = Mounting(euler_deg=(180.0, 8.0, -12.0), lever_arm_m=(-0.10, 0.01, 0.02))


@cache
def run_sim(fs: float = 104.0, realistic: bool = True, seconds: float = 60.0, seed: int = 21) -> SimResult:
    sensor = SensorModel(sampling_rate_hz=fs) if realistic else SensorModel.ideal(fs)
    sc = Scenario(
        segments=[
            Standing(duration_s=6.0),
            Running(duration_s=seconds, drop_left_deg=5.0, drop_right_deg=8.0),
            Standing(duration_s=4.0),
        ],
        sensor=sensor,
        mounting=TILTED,
        seed=seed,
    )
    return simulate(sc)


@cache
def walk_sim(fs: float = 104.0) -> SimResult:
    sc = Scenario(
        segments=[Standing(duration_s=6.0), Walking(duration_s=40.0), Standing(duration_s=4.0)],
        sensor=SensorModel(sampling_rate_hz=fs),
        mounting=Mounting(euler_deg=(90.0, 0.0, 0.0)),
        seed=5,
    )
    return simulate(sc)


@cache
def turn_sim() -> SimResult:
    sc = Scenario(
        segments=[
            Standing(duration_s=6.0),
            Running(duration_s=50.0, turns=[Turn(at_s=25.0, angle_deg=90.0, duration_s=3.0)]),
            Standing(duration_s=4.0),
        ],
        sensor=SensorModel(sampling_rate_hz=104.0),
        mounting=TILTED,
        seed=8,
    )
    return simulate(sc)


def run_pipeline(block: ImuBlock, fs: float, sizes: list[int] | None = None) -> tuple[HipPipeline, list[Event]]:
    p = HipPipeline(fs)
    ev: list[Event] = []
    for b in [block] if sizes is None else block.chunks(sizes):
        ev += p.feed(b)
    ev += p.finish()
    return p, ev


def steps_of(events: list[Event]) -> list[StepEvent]:
    return [e for e in events if isinstance(e, StepEvent)]


def match(t_est: np.ndarray, t_true: np.ndarray, tol_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Nearest one-to-one matching within ``tol_s``."""
    pairs = []
    for i, t in enumerate(t_est):
        k = int(np.argmin(np.abs(t_true - t))) if t_true.size else -1
        if k >= 0 and abs(t_true[k] - t) <= tol_s:
            pairs.append((i, k))
    used: set[int] = set()
    pe, pt = [], []
    for i, k in pairs:
        if k not in used:
            used.add(k)
            pe.append(i)
            pt.append(k)
    return np.array(pe, dtype=int), np.array(pt, dtype=int)
