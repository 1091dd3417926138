"""The embedded amqtt broker: loopback only, free ports when 1883 is taken, clean start/stop in a TaskGroup."""

from __future__ import annotations

import asyncio
import socket

import aiomqtt
import pytest

from sensor.config import BrokerConfig
from sensor.publish.embedded_broker import EmbeddedBroker, broker_endpoint, describe

from .brokers import port_open


async def _round_trip(host: str, port: int, transport: str = "tcp") -> bytes:
    async with asyncio.timeout(10), aiomqtt.Client(host, port, transport=transport) as c:  # type: ignore[arg-type]
        await c.subscribe("rt/x", qos=1)
        await c.publish("rt/x", b"hello", qos=1)
        async for m in c.messages:
            assert isinstance(m.payload, bytes)
            return m.payload
    raise AssertionError("no message")


async def test_taken_port_falls_back_to_a_free_one_and_says_so() -> None:
    # Hold a port the way a Mosquitto on 1883 would, and ask the broker to prefer it.
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        busy = squatter.getsockname()[1]
        async with EmbeddedBroker(tcp_ports=(busy,), ws_ports=(busy,)) as broker:
            assert broker.tcp_port not in (None, busy)
            assert broker.ws_port not in (None, busy, broker.tcp_port)
            text = describe(broker)
            assert f"port(s) {busy}, {busy} already in use" in text
            assert f"--broker mqtt://127.0.0.1:{busy}" in text
            assert await _round_trip("127.0.0.1", broker.tcp_port) == b"hello"  # type: ignore[arg-type]
            assert await _round_trip("127.0.0.1", broker.ws_port, "websockets") == b"hello"  # type: ignore[arg-type]


@pytest.mark.mosquitto
async def test_default_ports_with_mosquitto_on_1883(mosquitto_url: str) -> None:
    async with EmbeddedBroker(ws_ports=(0,)) as broker:
        assert broker.tcp_port != 1883
        assert "--broker mqtt://127.0.0.1:1883" in describe(broker)


async def test_binds_loopback_only() -> None:
    async with EmbeddedBroker(tcp_ports=(0,), ws_ports=(0,)) as broker:
        assert broker.tcp_url.startswith("mqtt://127.0.0.1:")
        assert broker.ws_url is not None
        assert broker.ws_url.startswith("ws://127.0.0.1:")
        # another local address (this host's name resolution, not loopback) must not reach it
        other = [a for a in _local_non_loopback_ipv4() if a != "127.0.0.1"]
        for addr in other:
            assert not port_open(broker.tcp_port, addr)  # type: ignore[arg-type]
        if not other:
            pytest.skip("no non-loopback IPv4 address on this machine to probe from")


def _local_non_loopback_ipv4() -> list[str]:
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("10.255.255.255", 1))  # no packet is sent for UDP connect; picks the outgoing interface
            return [s.getsockname()[0]]
    except OSError:
        return []


async def test_serve_starts_and_stops_cleanly_in_a_taskgroup() -> None:
    broker = EmbeddedBroker(tcp_ports=(0,), ws_ports=(0,))
    started = asyncio.Event()
    async with asyncio.TaskGroup() as tg:
        task = tg.create_task(broker.serve(started), name="embedded-broker")
        await asyncio.wait_for(started.wait(), 10)
        port = broker.tcp_port
        assert port is not None
        assert await _round_trip("127.0.0.1", port) == b"hello"
        task.cancel()
    assert task.cancelled()
    assert broker.tcp_port is None
    assert not port_open(port)
    # and it can start again in the same loop (a restart)
    async with broker:
        assert broker.tcp_port is not None


async def test_amqtt_refuses_mqtt5_with_reason_132() -> None:
    async with EmbeddedBroker(tcp_ports=(0,), websockets=False) as broker:
        assert broker.ws_url is None
        with pytest.raises(aiomqtt.MqttCodeError) as info:
            async with aiomqtt.Client("127.0.0.1", broker.tcp_port, protocol=aiomqtt.ProtocolVersion.V5):  # type: ignore[arg-type]
                pass
        assert info.value.rc is not None
        assert int(getattr(info.value.rc, "value", info.value.rc)) == 132


async def test_broker_endpoint_prefers_override_then_config_then_embedded() -> None:
    cfg = BrokerConfig(url="mqtt://configured:1883")
    async with broker_endpoint(cfg, "mqtt://override:1") as ep:
        assert (ep.url, ep.ws_url, ep.embedded) == ("mqtt://override:1", None, None)
    async with broker_endpoint(cfg) as ep:
        assert ep.url == "mqtt://configured:1883"
    async with broker_endpoint(BrokerConfig()) as ep:
        assert ep.embedded is not None
        assert ep.url == ep.embedded.tcp_url
        port = ep.embedded.tcp_port
        assert port is not None
        assert await _round_trip("127.0.0.1", port) == b"hello"
    assert not port_open(port)
