"""Shared helpers of the BLE tests: a virtual world, links on the Bumble backend, blocks per sensor."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from firmware_proto.virtual_sensor import VirtualWorld
from sensor.ble.link import Backoff, BleBackend, LinkDecoder, SensorLink, stream_for
from sensor.model import ImuBlock


def links_for(world: VirtualWorld, **kwargs: object) -> list[SensorLink]:
    """One supervisor per virtual sensor of the world, on the Bumble backend, sharing the world's clock."""
    out = []
    for i, s in enumerate(world.sensors):
        out.append(
            SensorLink(
                f"s{i}",
                s.config.address,
                sensor_type=s.config.kind,
                backend=BleBackend(world.central),
                clock=world.clock,
                connect_timeout_s=3.0,
                backoff=Backoff(first_s=0.2, cap_s=2.0, seed=i),
                **kwargs,  # type: ignore[arg-type]
            )
        )
    return out


@dataclass
class Streamed:
    blocks: dict[str, ImuBlock]
    decoders: dict[str, LinkDecoder]


async def stream(world: VirtualWorld, links: Sequence[SensorLink], *, max_wall_s: float = 90.0) -> Streamed:
    """Stream until every virtual sensor sampled its ``duration_s`` and sent every sample, then hang up.

    The world clock paces the sensors; when the CPU is busy the sensors fall behind live and their ring buffer
    holds the rest (tests give it room), so the outcome does not depend on the machine's load.
    """
    blocks: dict[str, list[ImuBlock]] = defaultdict(list)
    stop = asyncio.Event()

    async def stopper() -> None:
        async with asyncio.timeout(max_wall_s):
            while not all(s.finished for s in world.sensors):  # noqa: ASYNC110 (polling the sensors' state)
                await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # wall time: let what is in flight arrive before the gateway hangs up
        stop.set()

    async with asyncio.TaskGroup() as tg:
        tg.create_task(stopper(), name="stopper")
        decoders = await stream_for(
            links, None, clock=world.clock, on_block=lambda b: blocks[b.sensor_id].append(b), stop=stop
        )
    return Streamed({k: ImuBlock.concat(v) for k, v in blocks.items()}, decoders)


def gaps(block: ImuBlock) -> list[tuple[int, int]]:
    """(first missing index, count) of every gap reported downstream."""
    rows = block.missing_before.nonzero()[0]
    return [(int(block.sample_index[r] - block.missing_before[r]), int(block.missing_before[r])) for r in rows]
