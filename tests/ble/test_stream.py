"""End to end through Bleak's public API: virtual sensors on Bumble -> SensorLink -> LinkDecoder -> ImuBlock."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from firmware_proto.micropython import hsproto as P
from firmware_proto.virtual_sensor import SampleSource, VirtualSensorConfig, VirtualWorld, sensor_address
from sensor.frames import STANDARD_GRAVITY_MPS2
from sensor.model import ImuBlock
from tests.ble.helpers import gaps, links_for, stream

pytestmark = pytest.mark.slow

DURATION_S = 62.0  # >= 60 s of sensor time streamed per sensor
BIG_RING = 1 << 16  # room for the sensors to fall behind live on a busy CPU (the ring holds the rest)


def _contiguous(idx: np.ndarray) -> bool:
    return bool(np.array_equal(idx, np.arange(idx[0], idx[0] + idx.shape[0])))


@pytest.mark.parametrize("mtu", [23, 247])
async def test_every_sample_at_52_208_416_hz(mtu: int) -> None:
    rates = (52.0, 208.0, 416.0)
    configs = [
        VirtualSensorConfig(
            address=sensor_address(i + 1),
            sampling_rate_hz=rate,
            max_mtu=mtu,
            seed=i,
            duration_s=DURATION_S,
            buffer_samples=BIG_RING,
        )
        for i, rate in enumerate(rates)
    ]
    async with VirtualWorld(configs, speed=20.0) as world:
        links = links_for(world)
        res = await stream(world, links)
        for i, rate in enumerate(rates):
            sensor, link, block = world.sensors[i], links[i], res.blocks[f"s{i}"]
            assert link.stats.mtu == mtu
            assert link.stats.connects == 1
            # every sample from the first one streamed to the last one sampled: none missing, none twice
            assert block.n_missing == 0
            assert _contiguous(block.sample_index)
            assert int(block.sample_index[-1]) == sensor.head_index - 1
            assert len(block) == sensor.stats.samples_sent
            assert len(block) >= rate * 60.0
            assert sum(res.decoders[f"s{i}"].skipped.values()) == 0
            assert sensor.core.dropped == 0
            # the samples are the simulator's, quantised by the firmware's encoder (+-8 g: 0.244 mg LSB)
            acc, _ = sensor.source.window(rate, int(block.sample_index[0]), len(block))
            lsb = P.ACC_RANGES[2][1] * STANDARD_GRAVITY_MPS2
            assert np.max(np.abs(block.acc_mps2 - acc)) <= lsb / 2 + 1e-9
            # host times: strictly increasing, spaced by the sensor's period on average (a packet's timestamp is
            # whole 1/32768 s ticks: single-sample packets alternate 78 and 79 ticks at 416 Hz); the mapping runs at
            # the estimated rate (within 500 ppm) plus a slew of at most 2000 ppm
            assert np.all(np.diff(block.t_s) > 0)
            mean_period_s = (block.t_s[-1] - block.t_s[0]) / (len(block) - 1)
            assert mean_period_s == pytest.approx(1.0 / rate, rel=2500e-6)


async def test_injected_packet_loss_is_reported_exactly() -> None:
    common = {"packet_loss": 0.05, "duration_s": 60.0, "buffer_samples": BIG_RING}
    configs = [
        VirtualSensorConfig(address=sensor_address(1), sampling_rate_hz=208.0, max_mtu=247, seed=7, **common),
        VirtualSensorConfig(address=sensor_address(2), sampling_rate_hz=104.0, max_mtu=23, seed=8, **common),
    ]
    async with VirtualWorld(configs, speed=20.0) as world:
        links = links_for(world)
        res = await stream(world, links)
        for i, sensor in enumerate(world.sensors):
            block = res.blocks[f"s{i}"]
            last = int(block.sample_index[-1])
            injected = [(first, n) for first, n in sensor.stats.lost_packets if first + n - 1 < last]
            assert len(injected) > 10  # 5 % of hundreds of packets
            # consecutive lost packets form one gap downstream
            merged: list[tuple[int, int]] = []
            for first, n in injected:
                if merged and merged[-1][0] + merged[-1][1] == first:
                    merged[-1] = (merged[-1][0], merged[-1][1] + n)
                else:
                    merged.append((first, n))
            assert gaps(block) == merged
            assert block.n_missing == sum(n for _, n in injected)


async def test_link_drops_every_10_s_are_bridged_by_the_backlog() -> None:
    configs = [
        VirtualSensorConfig(
            address=sensor_address(1),
            sampling_rate_hz=208.0,
            link_drop_period_s=10.0,
            link_drop_duration_s=2.0,
            duration_s=62.0,
        ),
        # a ring shorter than the drop: exactly the overwritten samples are missing, nothing else
        VirtualSensorConfig(
            address=sensor_address(2),
            sampling_rate_hz=208.0,
            link_drop_period_s=10.0,
            link_drop_duration_s=3.0,
            buffer_samples=208,
            duration_s=62.0,
        ),
    ]
    async with VirtualWorld(configs, speed=10.0) as world:
        links = links_for(world)
        res = await stream(world, links)
        bridged, lossy = res.blocks["s0"], res.blocks["s1"]
        assert world.sensors[0].stats.link_drops >= 5
        assert links[0].stats.connects >= 6
        assert links[0].stats.backlog_requests >= 5
        assert bridged.n_missing == 0
        assert _contiguous(bridged.sample_index)
        assert int(bridged.sample_index[-1]) == world.sensors[0].head_index - 1
        assert world.sensors[1].stats.link_drops >= 5
        # every sample from the first to the last is either delivered or reported missing, exactly; what is
        # missing was overwritten in the ring during a drop (one gap per drop), nothing else
        idx = lossy.sample_index
        assert lossy.n_missing == int(idx[-1] - idx[0] + 1) - len(lossy)
        assert lossy.n_missing == world.sensors[1].core.dropped > 0
        assert res.decoders["s1"].skipped["duplicate"] == 0  # the sensor pauses until told where to resume
        assert len(gaps(lossy)) == world.sensors[1].stats.link_drops


async def test_eight_sensors_at_208_hz_stream_concurrently_without_loss() -> None:
    async with VirtualWorld.of(
        8, speed=20.0, sampling_rate_hz=208.0, max_mtu=247, duration_s=60.0, buffer_samples=BIG_RING
    ) as world:
        links = links_for(world)
        res = await stream(world, links)
        assert sorted(res.blocks) == [f"s{i}" for i in range(8)]
        for i in range(8):
            block = res.blocks[f"s{i}"]
            assert block.n_missing == 0
            assert _contiguous(block.sample_index)
            assert len(block) == world.sensors[i].stats.samples_sent >= 208 * 59


async def test_a_sensor_that_disappears_does_not_stop_the_others() -> None:
    async with VirtualWorld.of(3, speed=10.0, sampling_rate_hz=208.0, duration_s=30.0) as world:
        links = links_for(world)
        gone = world.sensors[1]

        async def walk_away() -> None:
            # 8 s of world time after its link started streaming (not after start-up, which a busy CPU stretches)
            while links[1].stats.frames == 0:  # noqa: ASYNC110 (polling the link's counters)
                await asyncio.sleep(0.01)
            await world.clock.sleep(8.0)
            await gone.vanish()

        async with asyncio.TaskGroup() as tg:
            tg.create_task(walk_away(), name="walk-away")
            res = await stream(world, links)
        for i in (0, 2):
            block = res.blocks[f"s{i}"]
            assert block.n_missing == 0
            assert _contiguous(block.sample_index)
            assert int(block.sample_index[-1]) == world.sensors[i].head_index - 1
            assert links[i].stats.connects == 1
        # the one that vanished: its supervisor keeps looking for it, with back-off
        assert links[1].stats.disconnects == 1
        assert links[1].stats.failed_attempts >= 1
        assert "not seen advertising" in (links[1].stats.last_error or "")
        # it streamed for seconds before it vanished, and what it put on the air arrived, gap-free
        assert gone.stats.samples_sent >= 208 * 4
        assert len(res.blocks["s1"]) >= gone.stats.samples_sent - 19  # at most the packet in flight at the cut
        assert res.blocks["s1"].n_missing == 0


async def test_streams_a_recorded_block() -> None:
    rate = 104.0
    n = int(rate * 12)
    t = np.arange(n) / rate
    acc = np.stack([np.sin(t), np.cos(2 * t), 9.80665 + 0.5 * np.sin(3 * t)], axis=1)
    gyr = np.stack([0.1 * np.sin(5 * t), np.zeros(n), 0.2 * np.cos(t)], axis=1)
    recorded = ImuBlock.from_arrays("rec", t, acc, gyr)
    config = VirtualSensorConfig(address=sensor_address(1), sampling_rate_hz=rate, duration_s=10.0)
    async with VirtualWorld([config], speed=10.0, source=SampleSource(block=recorded)) as world:
        res = await stream(world, links_for(world))
        block = res.blocks["s0"]
        idx = block.sample_index % n  # the recording loops
        acc_lsb = P.ACC_RANGES[2][1] * STANDARD_GRAVITY_MPS2
        gyr_lsb = np.deg2rad(P.GYR_RANGES[2][1])
        assert np.max(np.abs(block.acc_mps2 - acc[idx])) <= acc_lsb / 2 + 1e-9
        assert block.gyr_radps is not None
        assert np.max(np.abs(block.gyr_radps - gyr[idx])) <= gyr_lsb / 2 + 1e-9
        assert len(block) >= rate * 10.0
