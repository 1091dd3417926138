"""Link supervision pieces: back-off, the gateway's RawFrame iterator (the FrameSource the recorder reads)."""

from __future__ import annotations

import itertools

import pytest

from firmware_proto.virtual_sensor import VirtualWorld
from sensor.ble.link import Backoff, BleGateway, LinkDecoder
from sensor.errors import ConfigError
from sensor.model import RawFrame
from sensor.protocol import hipsense_v1 as v1
from tests.ble.helpers import links_for


def test_backoff_doubles_up_to_the_cap_with_bounded_jitter_and_resets() -> None:
    b = Backoff(first_s=0.25, cap_s=4.0, jitter=0.25, seed=1)
    delays = [b.next_delay() for _ in range(8)]
    bases = [0.25, 0.5, 1.0, 2.0, 4.0, 4.0, 4.0, 4.0]
    for d, base in zip(delays, bases, strict=True):
        assert 0.75 * base <= d <= 1.25 * base
    assert len(set(delays)) == len(delays)  # jittered: two supervisors do not retry in lock step
    b.reset()
    assert 0.1875 <= b.next_delay() <= 0.3125
    with pytest.raises(ConfigError, match="back-off"):
        Backoff(first_s=2.0, cap_s=1.0)


async def test_gateway_frames_iterator_yields_raw_frames_in_arrival_order() -> None:
    async with VirtualWorld.of(2, speed=5.0, sampling_rate_hz=208.0) as world:
        links = links_for(world)
        frames: list[RawFrame] = []
        async with BleGateway(links) as gateway:
            async for frame in gateway.frames():
                frames.append(frame)
                data = [f for f in frames if f.channel == v1.DATA_UUID]
                if len({f.sensor_id for f in data}) == 2 and len(data) >= 40:
                    break
        # every frame carries the sensor id, the host receive time (non-decreasing) and the characteristic
        assert {f.sensor_id for f in frames} == {"s0", "s1"}
        assert all(b.host_t_s >= a.host_t_s for a, b in itertools.pairwise(frames))
        first_per_sensor = {}
        for f in frames:
            first_per_sensor.setdefault(f.sensor_id, f.channel)
        assert set(first_per_sensor.values()) == {v1.INFO_UUID}  # info (boot id) comes first after a connect
        decoded = LinkDecoder("s0").feed_many([f for f in frames if f.sensor_id == "s0"])
        assert sum(len(b) for b in decoded) > 0
        assert all(b.n_missing == 0 for b in decoded)
