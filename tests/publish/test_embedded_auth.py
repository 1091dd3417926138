"""The embedded broker off loopback: it refuses to start without credentials, and then admits only that user.

The "non-loopback" bind in these tests is 0.0.0.0 (every interface): it is what ``embedded_bind = "0.0.0.0"``
does for a user, it is not loopback by our rule, and the clients still connect through 127.0.0.1, so no test
traffic goes to another address. The broker is up for a few seconds, on a free port, with a password.
"""

from __future__ import annotations

import asyncio
import logging
import stat

import aiomqtt
import pytest

from sensor.config import BrokerConfig
from sensor.errors import BrokerError
from sensor.publish.embedded_broker import EmbeddedBroker, describe, embedded_from_config, exposure_warning

PASSWORD = "s3cret-Emb-pw-7f3a"  # a string that appears nowhere else
_NOT_AUTHORIZED = (4, 5, 134, 135)  # MQTT 3.1.1 bad credentials / not authorized; MQTT 5 equivalents


def _cfg(monkeypatch: pytest.MonkeyPatch, **kw: object) -> BrokerConfig:
    monkeypatch.setenv("HS_TEST_EMBEDDED_PW", PASSWORD)
    return BrokerConfig(embedded_bind="0.0.0.0", username="hs", password_env="HS_TEST_EMBEDDED_PW", **kw)  # type: ignore[arg-type]


async def _round_trip(port: int, *, transport: str = "tcp", **credentials: str | None) -> bytes:
    async with (
        asyncio.timeout(20),
        aiomqtt.Client(
            "127.0.0.1",
            port,
            transport=transport,  # type: ignore[arg-type]
            protocol=aiomqtt.ProtocolVersion.V311,
            **credentials,  # type: ignore[arg-type]
        ) as c,
    ):
        await c.subscribe("auth/x", qos=1)
        await c.publish("auth/x", b"hello", qos=1)
        async for m in c.messages:
            assert isinstance(m.payload, bytes)
            return m.payload
    raise AssertionError("no message")


async def _refused(port: int, *, transport: str = "tcp", **credentials: str | None) -> int:
    """The CONNACK return code of a refused connection (fails the test if the broker admits the client)."""
    with pytest.raises(aiomqtt.MqttCodeError) as info:
        await _round_trip(port, transport=transport, **credentials)
    rc = info.value.rc
    value = rc if isinstance(rc, int) else getattr(rc, "value", None)
    assert value in _NOT_AUTHORIZED, f"expected 'not authorized', got {rc!r}"
    return int(value)


@pytest.mark.parametrize(
    ("kw", "fixes"),
    [
        ({}, ("[broker] username", "password_env", '"127.0.0.1"')),  # no credentials at all
        ({"username": "hs"}, ("[broker] password_env", "password_file")),  # a user but no password
        ({"password_env": "HS_TEST_EMBEDDED_PW"}, ("[broker] username",)),  # a password but no user
    ],
)
def test_off_loopback_without_credentials_it_refuses_to_start_and_names_the_fix(
    kw: dict[str, str], fixes: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HS_TEST_EMBEDDED_PW", PASSWORD)
    with pytest.raises(BrokerError) as info:
        embedded_from_config(BrokerConfig(embedded_bind="0.0.0.0", **kw))  # type: ignore[arg-type]
    err = info.value
    assert err.reason == "auth_config"
    for fix in fixes:
        assert fix in str(err)
    assert PASSWORD not in str(err)


def test_the_broker_itself_refuses_an_open_non_loopback_bind() -> None:
    with pytest.raises(BrokerError, match=r"0\.0\.0\.0.*admit anyone.*password_env.*127\.0\.0\.1"):
        EmbeddedBroker(bind="0.0.0.0")
    with pytest.raises(BrokerError, match="contains ':'"):
        EmbeddedBroker(bind="0.0.0.0", username="a:b", password="x")
    # loopback (any 127/8 address or localhost) may stay anonymous, as the default does
    for bind in ("127.0.0.1", "127.0.0.2", "localhost"):
        assert not EmbeddedBroker(bind=bind).requires_auth


def test_bad_bind_address_is_refused_by_the_config() -> None:
    with pytest.raises(ValueError, match="not an IP address"):
        BrokerConfig(embedded_bind="my-laptop.local")


async def test_off_loopback_only_the_configured_user_gets_in(monkeypatch: pytest.MonkeyPatch) -> None:
    async with embedded_from_config(_cfg(monkeypatch), tcp_ports=(0,), ws_ports=(0,)) as broker:
        assert broker.requires_auth
        assert broker.exposed
        listening = broker._broker._servers["default"].instance.sockets[0].getsockname()  # type: ignore[union-attr]
        assert listening[0] == "0.0.0.0"
        assert broker.tcp_url.startswith("mqtt://127.0.0.1:")
        tcp, ws = broker.tcp_port, broker.ws_port
        assert tcp is not None
        assert ws is not None

        await _refused(tcp)  # anonymous
        await _refused(tcp, username="hs")  # user, no password
        await _refused(tcp, username="hs", password="wrong-password")
        await _refused(tcp, username="intruder", password=PASSWORD)
        assert await _round_trip(tcp, username="hs", password=PASSWORD) == b"hello"
        # the websockets listener (the dashboard's) is guarded the same way
        await _refused(ws, transport="websockets")
        assert await _round_trip(ws, transport="websockets", username="hs", password=PASSWORD) == b"hello"

        text = describe(broker)
        assert "bound to 0.0.0.0" in text
        assert "user 'hs' only" in text
        warning = exposure_warning(broker)
        assert warning is not None
        assert "mqtts://" in warning
        assert "docs/security.md" in warning
        assert PASSWORD not in text + warning


async def test_the_password_is_hashed_in_a_private_file_removed_on_stop(monkeypatch: pytest.MonkeyPatch) -> None:
    broker = embedded_from_config(_cfg(monkeypatch), tcp_ports=(0,), websockets=False)
    async with broker:
        auth_dir = broker._auth_dir
        assert auth_dir is not None
        passwd = auth_dir / "passwd"
        assert stat.S_IMODE(auth_dir.stat().st_mode) == 0o700
        assert stat.S_IMODE(passwd.stat().st_mode) == 0o600
        text = passwd.read_text(encoding="utf-8")
        assert text.startswith("hs:$argon2")
        assert PASSWORD not in text
    assert not auth_dir.exists()


async def test_loopback_with_credentials_in_the_config_stays_anonymous(monkeypatch: pytest.MonkeyPatch) -> None:
    # The documented rule: the web dashboard (served without credentials) keeps working on loopback.
    cfg = _cfg(monkeypatch).model_copy(update={"embedded_bind": "127.0.0.1"})
    async with embedded_from_config(cfg, tcp_ports=(0,), websockets=False) as broker:
        assert not broker.requires_auth
        assert exposure_warning(broker) is None
        assert await _round_trip(broker.tcp_port) == b"hello"  # type: ignore[arg-type]


async def test_no_log_record_carries_the_password(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """amqtt, aiomqtt/paho and our code log at DEBUG while right and wrong passwords are tried."""
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="amqtt")  # the gateway turns amqtt down to ERROR for the whole process
    async with embedded_from_config(_cfg(monkeypatch), tcp_ports=(0,), websockets=False) as broker:
        port = broker.tcp_port
        assert port is not None
        await _refused(port, username="hs", password=PASSWORD + "-wrong")
        assert await _round_trip(port, username="hs", password=PASSWORD) == b"hello"
    assert any(r.name.startswith("amqtt") and r.levelno == logging.DEBUG for r in caplog.records)
    assert PASSWORD not in caplog.text  # every record formatted, with its traceback if any
    for record in caplog.records:
        assert PASSWORD not in f"{record.getMessage()} {record.args!r} {record.exc_info!r}", record.name


def test_cli_refuses_an_open_network_broker_and_a_bad_bind_address(capsys: pytest.CaptureFixture[str]) -> None:
    from sensor.cli import main

    assert main(["mqtt", "broker", "--bind", "0.0.0.0", "--port", "0", "--ws-port", "0"]) == 1
    err = capsys.readouterr().err
    assert "0.0.0.0" in err
    assert "password_env" in err
    with pytest.raises(SystemExit) as info:
        main(["run", "--broker-bind", "my-laptop.local", "--virtual", "1"])
    assert info.value.code == 2
    assert "not an IP address" in capsys.readouterr().err
