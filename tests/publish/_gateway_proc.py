"""A gateway process for the kill -9 tests: records glute-bridge reps through the MQTT sink into a store's outbox
and prints ``enqueued <seq>`` (flushed) once each one is persisted; after COUNT events it prints ``done`` and keeps
running (publishing, retrying) until killed.

Usage: python -m tests.publish._gateway_proc URL PREFIX STORE SESSION FIRST_SEQ COUNT
"""

from __future__ import annotations

import asyncio
import sys

from sensor.config import BrokerConfig
from sensor.events import RepEvent
from sensor.publish.mqtt_sink import mqtt_sink
from sensor.sessions.store import Store


def rep(seq: int) -> RepEvent:
    return RepEvent(t_start_s=2.0 * seq, t_end_s=2.0 * seq + 1.8, exercise="glute_bridge", index_in_set=seq,
                    duration_s=1.8, confidence=0.9)  # fmt: skip


async def main(url: str, prefix: str, store_path: str, session: str, first_seq: int, count: int) -> None:
    with Store(store_path) as store:
        cfg = BrokerConfig(url=url, topic_prefix=prefix, ha_discovery="off")
        async with mqtt_sink(
            cfg, sensor_id="hs1", session_id=session, outbox=store, first_seq=first_seq, backoff_max_s=0.5
        ) as sink:
            for seq in range(first_seq, first_seq + count):
                await sink.on_events("hs1", [rep(seq)])
                print(f"enqueued {seq}", flush=True)
                await asyncio.sleep(0.01)
            print("done", flush=True)
            await asyncio.Event().wait()


if __name__ == "__main__":
    a = sys.argv[1:]
    asyncio.run(main(a[0], a[1], a[2], a[3], int(a[4]), int(a[5])))
