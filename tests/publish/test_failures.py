"""Bad URL, wrong password, TLS mismatches, unreachable broker: a clear BrokerError naming the fix, no secret in
any log line or message, and the recorder keeps recording while the publisher retries."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from sensor.config import BrokerConfig
from sensor.errors import BrokerError
from sensor.events import RepEvent
from sensor.model import RawFrame
from sensor.publish.embedded_broker import EmbeddedBroker
from sensor.publish.mqtt_client import BrokerSettings, MqttPublisher, check_connection
from sensor.publish.mqtt_sink import mqtt_sink
from sensor.sessions.recorder import Recorder
from sensor.sessions.store import Store

from .brokers import PrivateMosquitto, collecting, free_port
from .conftest import outbox_counts

SECRET = "Tr0ub4dor-wrong-7781"


def _rep(i: int) -> RepEvent:
    return RepEvent(t_start_s=2.0 * i, t_end_s=2.0 * i + 1.8, exercise="glute_bridge", index_in_set=i + 1,
                    duration_s=1.8, confidence=0.9)  # fmt: skip


async def _until_error(pub: MqttPublisher, timeout_s: float = 15.0) -> BrokerError:
    deadline = time.monotonic() + timeout_s
    while pub.last_error is None:
        assert time.monotonic() < deadline, "no error reported"
        await asyncio.sleep(0.02)
    return pub.last_error


async def _connect_error(settings: BrokerSettings) -> BrokerError:
    async with MqttPublisher(settings, status_topic="hstest/x/status", backoff_min_s=5, backoff_max_s=5) as pub:
        err = await _until_error(pub)
        with pytest.raises(BrokerError) as info:
            await pub.wait_connected(0.05)
        assert info.value is err
        assert not pub.connected
    return err


async def test_wrong_password_is_clear_secret_free_and_recording_continues(
    private_mosquitto: Callable[..., PrivateMosquitto],
    store: Store,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG)
    broker = private_mosquitto(user=("hs", "the-right-one"))
    monkeypatch.setenv("HS_TEST_MQTT_PW", SECRET)
    cfg = BrokerConfig(url=broker.url, username="hs", password_env="HS_TEST_MQTT_PW", topic_prefix="hstest")
    async with (
        Recorder(store, name="bridges") as rec,
        mqtt_sink(cfg, sensor_id="hs1", session_id=rec.session_id, outbox=store) as sink,
    ):
        err = await _until_error(sink.publisher)
        assert err.reason == "auth"
        assert "refused the login of user 'hs'" in str(err)
        assert "password_env" in str(err)  # names the fix
        # the gateway keeps recording: frames and events go to the store, QoS 1 messages wait in the outbox
        for i in range(5):
            frames = [RawFrame("hs1", time.time(), bytes([i, k]), "imu") for k in range(20)]
            await rec.on_frames(frames)
            await rec.on_events("hs1", [_rep(i)])
            await sink.on_events("hs1", [_rep(i)])
        await rec.flush()
        assert store.count_frames(rec.session_id) == 100
        assert outbox_counts(store) == (5, 0)
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert SECRET not in logged
    assert SECRET not in str(err)
    assert SECRET not in err.url

    # fixed password, same store: the pending events are delivered, in order, once
    monkeypatch.setenv("HS_TEST_MQTT_PW", "the-right-one")
    async with collecting("127.0.0.1", broker.port, "hstest/#", auth=("hs", "the-right-one")) as sub:
        async with mqtt_sink(cfg, sensor_id="hs1", session_id="again", outbox=store) as sink:
            await sink.publisher.wait_connected(10)
            assert await sink.publisher.wait_flushed(10)
        await sub.wait_for(lambda c: len(c.on("rep")) == 5)
        assert [m.json()["event"]["index_in_set"] for m in sub.on("rep")] == [1, 2, 3, 4, 5]
    assert outbox_counts(store) == (5, 5)


async def test_bad_url_fails_fast_without_the_password(store: Store) -> None:
    cfg = BrokerConfig(url=f"mqtt:/hs:{SECRET}@localhost:1883")
    with pytest.raises(BrokerError) as info:
        async with mqtt_sink(cfg, sensor_id="hs1", session_id="s", outbox=store):
            pass
    assert info.value.reason == "url"
    assert "mqtt://host:1883" in str(info.value)
    assert SECRET not in str(info.value)


async def test_unreachable_broker() -> None:
    err = await _connect_error(BrokerSettings.from_url(f"mqtt://127.0.0.1:{free_port()}"))
    assert err.reason == "unreachable"
    assert "connection refused" in str(err)
    assert "check host and port" in str(err)


@pytest.mark.mosquitto
async def test_tls_to_a_plain_port(mosquitto_url: str) -> None:
    err = await _connect_error(BrokerSettings.from_url("mqtts://127.0.0.1:1883"))
    assert err.reason == "tls"
    assert "Is it a TLS port? Use mqtts://" in str(err)


async def test_tls_broker(private_mosquitto: Callable[..., PrivateMosquitto], tmp_path: Path, store: Store) -> None:
    broker = private_mosquitto(tls=True)
    assert broker.tls is not None
    ca = broker.tls[0]
    # untrusted certificate (system CAs only)
    err = await _connect_error(BrokerSettings.from_url(broker.url))
    assert err.reason == "tls"
    assert "certificate of 127.0.0.1" in str(err)
    assert "broker.ca_file" in str(err)
    # plain MQTT to the TLS port: no CONNACK ever comes
    plain = BrokerSettings.from_url(f"mqtt://127.0.0.1:{broker.port}")
    err = await _connect_error(dataclasses.replace(plain, connect_timeout_s=1.5))
    assert err.reason in ("timeout", "connection")
    assert "mqtts://" in str(err)
    # the right CA: connected over TLS with MQTT 5, events delivered
    cfg = BrokerConfig(url=broker.url, ca_file=ca, topic_prefix="hstls")
    async with collecting("127.0.0.1", broker.port, "hstls/#", tls_ca=ca) as sub:
        async with mqtt_sink(cfg, sensor_id="hs1", session_id="tls", outbox=store) as sink:
            await sink.publisher.wait_connected(10)
            assert sink.publisher.protocol == "5"
            await sink.on_events("hs1", [_rep(0)])
            assert await sink.publisher.wait_flushed(10)
        await sub.wait_for(lambda c: len(c.on("rep")) == 1)


@pytest.mark.parametrize(("scheme", "listener", "hint"), [("mqtt", "ws", "use ws://"), ("ws", "tcp", "use mqtt://")])
async def test_transport_mismatch_names_the_other_scheme(
    amqtt_broker: EmbeddedBroker, scheme: str, listener: str, hint: str
) -> None:
    port = amqtt_broker.ws_port if listener == "ws" else amqtt_broker.tcp_port
    url = f"{scheme}://127.0.0.1:{port}" + ("/" if scheme == "ws" else "")
    with pytest.raises(BrokerError) as info:
        await check_connection(dataclasses.replace(BrokerSettings.from_url(url), connect_timeout_s=1.0))
    assert hint in str(info.value)
    assert info.value.reason in ("timeout", "websocket")
    # the abandoned attempt's socket was closed: the broker sees the connection go (amqtt would otherwise keep a
    # half-open handshake until shutdown)
    deadline = time.monotonic() + 10
    while amqtt_broker.connections:
        assert time.monotonic() < deadline, "the failed attempt left a connection open"
        await asyncio.sleep(0.02)


def test_backoff_is_randomised_doubling_and_capped() -> None:
    pub = MqttPublisher(BrokerSettings.from_url("mqtt://127.0.0.1:1"), status_topic="x/y/status",
                        backoff_min_s=0.5, backoff_max_s=30.0)  # fmt: skip
    for attempt, upper in ((1, 0.5), (2, 1.0), (3, 2.0), (6, 16.0), (7, 30.0), (50, 30.0)):
        delays = [pub._backoff_delay_s(attempt) for _ in range(400)]
        assert min(delays) >= 0.5
        assert max(delays) <= upper
        if upper > 1.0:
            assert max(delays) - min(delays) > 0.5 * (upper - 0.5)  # spread out, not a fixed delay


async def test_live_messages_are_dropped_and_counted_while_disconnected() -> None:
    async with MqttPublisher(BrokerSettings.from_url(f"mqtt://127.0.0.1:{free_port()}"), status_topic="x/y/status",
                             backoff_min_s=5, backoff_max_s=5) as pub:  # fmt: skip
        for _ in range(7):
            pub.publish_live("x/y/step", b"{}")
        pub.publish_live("x/y/state", b"{}", retain=True)  # kept for the next connect, not dropped
        assert pub.stats.live_dropped == 7
