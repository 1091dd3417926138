"""Clocks: a host clock step (NTP jump forward or back) and a sensor crystal off by +-200 ppm must leave the
timestamps strictly increasing and the metrics (step count, cadence) as in an undisturbed run.

The system clock cannot be stepped here, so the tests step fakes of the wall-clock function the code reads
(``time.time``): :class:`~sensor.ble.link.SystemClock` (the links' host clock) and the MQTT sink take it as
``wall``/``clock``. ``FakeWallClock`` is such a function, stepped by the test; on the virtual world it follows the
world's sped-up time (``world.now() + offset``) and the world's clock serves as the monotonic one.

Limit (not exercised): the protocol v1 decoder unwraps the sensor's 24-bit clock with the receive times as a
coarse guide, so receive times that step by more than 256 s (a recording made by a host clock that stepped) would
mis-unwrap; SystemClock is what keeps live receive times free of steps.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import numpy as np
import pytest

from firmware_proto.virtual_sensor import SampleSource, VirtualSensorConfig, VirtualWorld, WorldClock, sensor_address
from sensor.app import default_analyzer_factory
from sensor.ble.link import Backoff, BleBackend, SensorLink, SystemClock
from sensor.events import Event, RollingSummary, StepEvent
from sensor.model import ImuBlock
from sensor.publish.mqtt_sink import MqttSink
from sensor.publish.payloads import Topics
from sensor.sim import Running, Scenario, SensorModel, Standing, simulate

from .helpers import stream

RATE_HZ = 208.0
DURATION_S = 60.0
SPEED = 10.0


@dataclass
class FakeWallClock:
    """A fake ``time.time``: ``t`` seconds (plus the world's time when it follows one), moved by ``step``."""

    t: float = 1_790_000_000.0
    world: WorldClock | None = None

    def __call__(self) -> float:
        return self.t if self.world is None else self.world.now() + self.t

    def step(self, dt_s: float) -> None:
        """An NTP jump (or a user setting the clock)."""
        self.t += dt_s


@dataclass
class FakeMonotonic:
    t: float = 100.0

    def __call__(self) -> float:
        return self.t


def _source() -> SampleSource:
    scenario = Scenario(
        name="clock-test",
        segments=[Standing(duration_s=6.0), Running(duration_s=54.0, cadence_spm=172.0)],
        sensor=SensorModel(sampling_rate_hz=RATE_HZ),
        seed=8,
    )
    return SampleSource(block=simulate(scenario).block)


def _analyse(block: ImuBlock) -> list[Event]:
    an = default_analyzer_factory()(block.sensor_id)
    return [*an.feed(block), *an.finish()]


def _steps_and_cadence(events: list[Event]) -> tuple[int, float]:
    steps = [e for e in events if isinstance(e, StepEvent)]
    session = [e for e in events if isinstance(e, RollingSummary) and e.window_s is None and e.activity == "running"]
    assert session
    assert session[-1].cadence_spm is not None
    return len(steps), float(session[-1].cadence_spm)


def _link(world: VirtualWorld, i: int, clock: object) -> SensorLink:
    s = world.sensors[i]
    return SensorLink(
        f"s{i}",
        s.config.address,
        backend=BleBackend(world.central),
        clock=clock,  # type: ignore[arg-type]
        connect_timeout_s=3.0,
        backoff=Backoff(first_s=0.2, cap_s=2.0, seed=i),
    )


def _check_timeline(block: ImuBlock, sent: int) -> float:
    """Every sample, gap-free, strictly increasing host times; returns the mapped span / nominal span."""
    assert block.n_missing == 0
    assert len(block) == sent
    t = np.asarray(block.t_s)
    assert bool(np.all(np.diff(t) > 0))
    return float((t[-1] - t[0]) / ((len(t) - 1) / RATE_HZ))


def test_system_clock_ignores_wall_clock_steps() -> None:
    wall, mono = FakeWallClock(), FakeMonotonic()
    clock = SystemClock(wall=wall, monotonic=mono)
    start = clock.now()
    assert start == wall.t  # Unix seconds
    mono.t += 1.5
    wall.step(+3600.0)  # NTP jumps forward an hour
    assert clock.now() == pytest.approx(start + 1.5)
    mono.t += 2.0
    wall.step(-7200.0)  # and back two
    assert clock.now() == pytest.approx(start + 3.5)
    assert isinstance(SensorLink("x", "D0:00:00:00:00:01").clock, SystemClock)  # what the links use by default


@pytest.mark.slow
async def test_sensor_clock_drift_and_host_clock_steps_leave_timestamps_and_metrics_alone() -> None:
    source = _source()
    # one world: an exact crystal, one 200 ppm fast, one 200 ppm slow, and the exact one again read by a host
    # whose clock is stepped an hour forward after 20 s and two hours back after 40 s
    drifts = [0.0, 200.0, -200.0, 0.0]  # s0..s3
    configs = [
        VirtualSensorConfig(
            address=sensor_address(i + 1),
            sampling_rate_hz=RATE_HZ,
            clock_drift_ppm=ppm,
            duration_s=DURATION_S,
            buffer_samples=1 << 16,
            seed=i,
        )
        for i, ppm in enumerate(drifts)
    ]
    async with VirtualWorld(configs, speed=SPEED, source=source) as world:
        wall = FakeWallClock(t=0.0, world=world.clock)
        host = SystemClock(wall=wall, monotonic=world.clock.now)  # the links' default clock, on the world's time
        links = [_link(world, i, world.clock) for i in range(3)] + [_link(world, 3, host)]

        async def ntp() -> None:
            while links[3].stats.frames == 0:  # noqa: ASYNC110 (polling the link's counters)
                await asyncio.sleep(0.01)
            await world.clock.sleep(20.0)
            wall.step(+3600.0)
            await world.clock.sleep(20.0)
            wall.step(-7200.0)

        async with asyncio.TaskGroup() as tg:
            steps = tg.create_task(ntp(), name="ntp-steps")
            res = await stream(world, links)
        assert steps.done()
        assert wall() - world.clock.now() == pytest.approx(-3600.0)  # the wall clock did step, twice

    spans = {f"s{i}": _check_timeline(res.blocks[f"s{i}"], world.sensors[i].stats.samples_sent) for i in range(4)}
    # host times advance at the nominal rate within the mapping's bound (estimate clamped to 500 ppm, slew
    # 2000 ppm), whatever the crystal and whatever the wall clock did. (The estimate itself is not checked: in a
    # world sped up 10x on a busy shared machine the receive delays swing by whole seconds of world time.)
    for sid, span in spans.items():
        assert abs(span - 1.0) < 2.5e-3, (sid, span)

    # metrics: each sensor's samples against the same samples on an exact clock (index / rate): the undisturbed
    # run of that very data (the sensors started streaming at different points of the looped recording)
    for sid, block in res.blocks.items():
        exact = block.with_times(np.asarray(block.sample_index, dtype=np.float64) / RATE_HZ)
        reference_steps, reference_cadence = _steps_and_cadence(_analyse(exact))
        assert reference_steps > 100  # most of a minute of running at 172 steps/min
        assert reference_cadence == pytest.approx(172.0, abs=3.0)
        steps, cadence = _steps_and_cadence(_analyse(block))
        assert abs(steps - reference_steps) <= 1, (sid, steps, reference_steps)
        # 1 spm: both runs' time bases may be off by the mapping's 2500 ppm bound (0.43 spm each at 172 spm);
        # a runner's cadence varies by several spm from minute to minute, coaching cues by 5-10 %
        assert cadence == pytest.approx(reference_cadence, abs=1.0), sid


@dataclass
class _RecordingPublisher:
    """Records the live messages the sink hands over (the MQTT connection is not what is tested here)."""

    live: list[tuple[str, bytes]] = field(default_factory=list)

    def publish_live(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        self.live.append((topic, payload))

    def notify_outbox(self) -> None:
        return None


def _state_messages(wall_step_s: float) -> int:
    """State messages a sink publishes over 4 s of live tilt (10 Hz) when the wall clock steps after 1 s."""
    wall, mono = FakeWallClock(), FakeMonotonic()
    publisher = _RecordingPublisher()
    sink = MqttSink(
        publisher=publisher,  # type: ignore[arg-type]
        outbox=None,  # type: ignore[arg-type]
        topics=Topics("hs", "hip"),
        session_id="s",
        clock=wall,
        monotonic=mono,
        state_interval_s=0.5,
    )
    for k in range(40):
        if k == 10:
            wall.step(wall_step_s)
        mono.t += 0.1
        wall.step(0.1)
        sink.on_tilt(np.array([mono.t]), np.array([1.0 + k]), np.array([2.0]))  # a new angle: the state is dirty
    return sum(1 for topic, _ in publisher.live if topic.endswith("/state"))


def test_mqtt_state_keeps_its_pace_when_the_wall_clock_steps() -> None:
    steady = _state_messages(0.0)
    assert steady >= 6  # about every 0.5 s
    assert _state_messages(-3600.0) == steady  # an hour back: not silent for an hour
    assert _state_messages(+3600.0) == steady  # an hour forward: no burst
