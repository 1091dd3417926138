"""`hipsense forget ALIAS --broker URL` removes the sensor from the config AND from Home Assistant (Mosquitto)."""

from __future__ import annotations

import asyncio
import uuid

import aiomqtt
import pytest

from sensor.cli import main
from sensor.config import AppConfig, BrokerConfig, SensorEntry, load_config, save_config
from sensor.publish.ha_discovery import removal_topics

pytestmark = pytest.mark.mosquitto


async def _retained(topics: list[str]) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    async with aiomqtt.Client("127.0.0.1", 1883) as client:
        for t in topics:
            await client.subscribe(t)
        try:
            async with asyncio.timeout(1.0):
                async for msg in client.messages:
                    if isinstance(msg.payload, bytes) and msg.payload:
                        found[str(msg.topic)] = msg.payload
        except TimeoutError:
            pass
    return found


async def test_forget_clears_home_assistant_discovery_on_the_broker(capsys: pytest.CaptureFixture[str]) -> None:
    disc = f"hs-ha-{uuid.uuid4().hex[:8]}"
    save_config(
        AppConfig(
            sensors=[SensorEntry(alias="hip", address="D0:00:00:00:00:01")],
            broker=BrokerConfig(discovery_prefix=disc, topic_prefix=f"{disc}-state"),
        )
    )
    topics = removal_topics("hip", disc)
    async with aiomqtt.Client("127.0.0.1", 1883) as client:
        await client.publish(topics[0], b'{"dev": {"ids": ["hipsense_hip"]}}', qos=1, retain=True)
    assert topics[0] in await _retained([topics[0]])

    code = await asyncio.to_thread(main, ["forget", "hip", "--broker", "mqtt://127.0.0.1:1883"])
    assert code == 0
    out = capsys.readouterr().out
    assert "removed hip from Home Assistant" in out
    assert load_config().sensors == []
    assert await _retained(topics) == {}
