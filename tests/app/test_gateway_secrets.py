"""Broker passwords in a live run: never in a log record (DEBUG, every logger), an announcement or the result.

Two runs of the gateway with a virtual sensor, each with every logger at DEBUG:

* the embedded broker on 0.0.0.0 with a password (from an environment variable): the gateway warns that it is
  reachable without TLS, and its own publisher logs in with the configured credentials;
* an external broker URL with ``user:password@`` and a wrong password, on a non-loopback host (0.0.0.0, which
  Linux connects to on this machine: no traffic leaves it): the plaintext warning names mqtts://, the login is
  refused and reported, and the password appears nowhere.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path

import aiomqtt
import pytest

from firmware_proto.virtual_sensor import VirtualSensorConfig, VirtualWorld, sensor_address
from sensor.ble.link import BleBackend
from sensor.config import BrokerConfig, SensorEntry
from sensor.gateway import GatewayOptions, GatewayResult, run_gateway
from sensor.publish.embedded_broker import embedded_from_config

PASSWORD = "Gw-s3cret-pw-91c2"
WRONG = "Gw-wr0ng-pw-55d0"
PREFIX = "hs-secrets"


async def _run(tmp_path: Path, broker: BrokerConfig, broker_url: str | None, said: list[str]) -> GatewayResult:
    cfg = VirtualSensorConfig(address=sensor_address(1), sampling_rate_hz=104.0, name="HipSense-sec")
    async with VirtualWorld([cfg], speed=10.0) as world:
        return await run_gateway(
            GatewayOptions(
                sensors=[SensorEntry(alias="hip", address=cfg.address)],
                backend_for=lambda _e: BleBackend(world.central),
                clock=world.clock,
                duration_s=4.0,
                store_path=tmp_path / "sessions.db",
                broker=broker,
                broker_url=broker_url,
                web=False,
                announce=said.append,
            )
        )


def _assert_secret_free(secret: str, caplog: pytest.LogCaptureFixture, said: list[str], result: GatewayResult) -> None:
    assert secret not in caplog.text
    for record in caplog.records:
        assert secret not in f"{record.getMessage()} {record.args!r} {record.exc_info!r}", record.name
    assert not any(secret in line for line in said)
    assert secret not in repr(result.broker_url)


@pytest.mark.slow
async def test_embedded_broker_with_a_password_the_run_logs_in_and_never_shows_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("HS_TEST_GW_PW", PASSWORD)
    broker = BrokerConfig(embedded_bind="0.0.0.0", username="hs", password_env="HS_TEST_GW_PW", topic_prefix=PREFIX)
    said: list[str] = []
    result = await _run(tmp_path, broker, None, said)
    assert any("warning: the embedded broker listens on 0.0.0.0 without TLS" in line for line in said)
    assert any("mqtts://" in line for line in said)
    # the gateway's own publisher logged in: the outbox (QoS 1 session messages) was delivered
    with sqlite3.connect(tmp_path / "sessions.db") as db:
        n, delivered = db.execute("SELECT count(*), count(delivered_s) FROM outbox").fetchone()
    assert n > 0
    assert delivered == n
    _assert_secret_free(PASSWORD, caplog, said, result)


@pytest.mark.slow
async def test_plaintext_url_with_a_wrong_password_is_warned_refused_and_redacted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("HS_TEST_GW_PW", PASSWORD)
    cfg = BrokerConfig(embedded_bind="0.0.0.0", username="hs", password_env="HS_TEST_GW_PW")
    async with embedded_from_config(cfg, tcp_ports=(0,), websockets=False) as server:
        caplog.set_level(logging.DEBUG)
        said: list[str] = []
        port = server.tcp_port
        url = f"mqtt://hs:{WRONG}@0.0.0.0:{port}"
        result = await _run(tmp_path, BrokerConfig(topic_prefix=PREFIX), url, said)
        # and the right password through the same non-loopback URL is admitted (the refusal was the password's)
        async with asyncio.timeout(10), aiomqtt.Client("0.0.0.0", port, username="hs", password=PASSWORD):
            pass
    assert f"publishing to mqtt://hs:***@0.0.0.0:{port}" in said
    warning = [line for line in said if line.startswith("warning:")]
    assert warning
    assert "mqtts://0.0.0.0:8883" in warning[0]
    assert result.broker_url == f"mqtt://hs:***@0.0.0.0:{port}"
    refused = [r for r in caplog.records if r.name == "sensor.publish.mqtt_client" and r.levelno >= logging.WARNING]
    assert any("refused the login of user 'hs'" in r.getMessage() for r in refused)
    _assert_secret_free(WRONG, caplog, said, result)


async def test_a_network_bind_without_a_password_fails_before_anything_is_recorded(tmp_path: Path) -> None:
    from sensor.ble.link import SystemClock
    from sensor.errors import BrokerError

    opts = GatewayOptions(
        sensors=[],
        backend_for=lambda _e: BleBackend(),
        clock=SystemClock(),
        store_path=tmp_path / "sessions.db",
        broker=BrokerConfig(embedded_bind="0.0.0.0"),
        web=False,
        announce=lambda _t: None,
    )
    with pytest.raises(BrokerError, match="password_env"):
        await run_gateway(opts)
    assert not (tmp_path / "sessions.db").exists()
