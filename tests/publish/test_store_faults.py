"""The publisher when the store holding its outbox is full: events the broker acknowledged but the store cannot mark
delivered are not published again and again; they are marked once the store takes writes again. A real full file
system (a small tmpfs, tests/_mounts.py) and the embedded broker."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from sensor.errors import StoreError
from sensor.publish.embedded_broker import EmbeddedBroker
from sensor.publish.mqtt_client import BrokerSettings, MqttPublisher
from sensor.sessions.store import Store
from tests._mounts import fill, tmpfs

from .brokers import Collector, Received, collecting


def _reps(c: Collector) -> list[Received]:
    return [m for m in c.messages if m.topic.startswith("hsfull/hs1/rep/")]


async def test_acknowledged_events_a_full_store_cannot_mark_are_sent_once_and_marked_later(
    amqtt_broker: EmbeddedBroker, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with tmpfs(tmp_path / "small", "1M") as data, Store(data / "sessions.db") as store:
        for i in range(20):
            store.enqueue_outbox("s", f"hsfull/hs1/rep/{i}", f'{{"event_id": "e{i}"}}', f"e{i}")
        filler = fill(data)
        with pytest.raises(StoreError, match="disk is full"):  # the disk is really full now
            store.mark_delivered([r.id for r in store.pending_outbox(20)])
        async with collecting("127.0.0.1", amqtt_broker.tcp_port, "hsfull/#") as sub:
            publisher = MqttPublisher(
                BrokerSettings.from_url(amqtt_broker.tcp_url), status_topic="hsfull/hs1/status", outbox=store
            )
            with caplog.at_level(logging.WARNING, logger="sensor.publish.mqtt_client"):
                async with publisher:
                    await sub.wait_for(lambda c: len(_reps(c)) >= 20, 20)
                    assert await publisher.wait_flushed(10)
                    publisher.notify_outbox()  # another flush round: nothing is published again
                    assert await publisher.wait_flushed(10)
                    await asyncio.sleep(0.5)
                    assert len(store.pending_outbox(100)) == 20  # acknowledged, but the store could not say so
                    assert len(_reps(sub)) == 20  # each once
                    filler.unlink()  # space again: the next round marks them
                    store.enqueue_outbox("s", "hsfull/hs1/rep/20", '{"event_id": "e20"}', "e20")
                    publisher.notify_outbox()
                    await sub.wait_for(lambda c: len(_reps(c)) >= 21, 20)
                    assert await publisher.wait_flushed(10)
            assert store.pending_outbox(100) == []
            assert sorted(m.topic for m in _reps(sub)) == sorted(f"hsfull/hs1/rep/{i}" for i in range(21))
        assert store.integrity_check() == []
    warnings = [r.getMessage() for r in caplog.records if "cannot mark published events delivered" in r.getMessage()]
    assert len(warnings) == 1
    assert "disk is full" in warnings[0]
