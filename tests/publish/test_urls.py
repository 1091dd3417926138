"""Broker URLs, settings from the config file, secrets kept out of text."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from sensor.config import AppConfig, BrokerConfig, load_config, save_config
from sensor.errors import BrokerError
from sensor.publish.mqtt_client import BrokerSettings, parse_broker_url, redact_url


@pytest.mark.parametrize(
    ("url", "host", "port", "transport", "tls", "path"),
    [
        ("mqtt://broker.local", "broker.local", 1883, "tcp", False, None),
        ("mqtt://10.0.0.2:1884/", "10.0.0.2", 1884, "tcp", False, None),
        ("mqtts://broker.local", "broker.local", 8883, "tcp", True, None),
        ("ws://127.0.0.1:9001/mqtt", "127.0.0.1", 9001, "websockets", False, "/mqtt"),
        ("wss://ha.example.org", "ha.example.org", 443, "websockets", True, "/"),
        ("MQTT://[::1]:1883", "::1", 1883, "tcp", False, None),
    ],
)
def test_parse_good_urls(url: str, host: str, port: int, transport: str, tls: bool, path: str | None) -> None:
    t = parse_broker_url(url)
    assert (t.host, t.port, t.transport, t.tls, t.ws_path) == (host, port, transport, tls, path)


def test_credentials_in_url_are_decoded_and_redacted() -> None:
    t = parse_broker_url("mqtt://ha%40home:s3cr%3At@h:1883")
    assert (t.username, t.password) == ("ha@home", "s3cr:t")
    assert "s3cr" not in t.url
    assert "s3cr" not in repr(t)
    assert t.url == "mqtt://ha%40home:***@h:1883"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mqtt://u:pw@h:1/x", "mqtt://u:***@h:1/x"),
        ("mqtt://u@h", "mqtt://u@h"),
        ("mqtt://h:1883", "mqtt://h:1883"),
        ("u:pw@h:1883", "u:***@h:1883"),
        ("wss://u:p@ss@h/mqtt?x#y", "wss://u:***@h/mqtt?x#y"),
        ("http://u:pw@h", "http://u:***@h"),
        ("mqtt:/u:pw@h:1883", "mqtt:/u:***@h:1883"),
        ("ws://u:pw@h/p@x", "ws://u:***@h/p@x"),
        ("ws://h/a:b@c", "ws://h/a:***@c"),
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("broker.local:1883", "has no scheme"),
        ("http://u:hunter2@broker", "not an MQTT scheme"),
        ("mqtt://u:hunter2@broker:99999", "invalid port"),
        ("mqtt://u:hunter2@broker:abc", "invalid port"),
        ("mqtt://:1883", "has no host"),
        ("mqtt://u:hunter2@broker/mqtt", "only websockets"),
        ("mqtt://u:hunter2@broker?x=1", "query"),
    ],
)
def test_bad_urls_name_the_fix_without_the_password(url: str, needle: str) -> None:
    with pytest.raises(BrokerError) as info:
        parse_broker_url(url)
    msg = str(info.value)
    assert needle in msg
    assert "mqtt://host:1883" in msg  # the fix: what a good URL looks like
    assert "hunter2" not in msg
    assert "hunter2" not in info.value.url
    assert info.value.reason == "url"


def test_settings_password_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pw_file = tmp_path / "pw"
    pw_file.write_text("from-file\nignored\n", encoding="utf-8")
    monkeypatch.setenv("HS_TEST_PW", "from-env")
    base = {"url": "mqtt://h", "username": "u"}
    assert BrokerSettings.from_config(BrokerConfig(**base, password=SecretStr("inline"))).password == "inline"
    assert BrokerSettings.from_config(BrokerConfig(**base, password_env="HS_TEST_PW")).password == "from-env"
    assert BrokerSettings.from_config(BrokerConfig(**base, password_file=pw_file)).password == "from-file"
    # the URL wins over the file, --broker over the config's url
    s = BrokerSettings.from_config(BrokerConfig(**base, password_file=pw_file), "mqtt://v:from-url@other:1")
    assert (s.username, s.password, s.target.host, s.target.port) == ("v", "from-url", "other", 1)
    assert "from-url" not in repr(s)


def test_settings_errors_name_the_fix(tmp_path: Path) -> None:
    with pytest.raises(BrokerError, match=r"HS_TEST_UNSET_VAR.*not set"):
        BrokerSettings.from_config(BrokerConfig(url="mqtt://h", username="u", password_env="HS_TEST_UNSET_VAR"))
    with pytest.raises(BrokerError, match=r"password_file .* cannot be read"):
        BrokerSettings.from_config(BrokerConfig(url="mqtt://h", username="u", password_file=tmp_path / "missing"))
    with pytest.raises(BrokerError, match="no user name"):
        BrokerSettings.from_config(BrokerConfig(url="mqtt://h", password=SecretStr("x")))
    with pytest.raises(BrokerError, match="use mqtts://"):
        BrokerSettings.from_config(BrokerConfig(url="mqtt://h", ca_file=tmp_path / "ca.pem"))
    with pytest.raises(BrokerError, match="no broker URL"):
        BrokerSettings.from_config(BrokerConfig())
    bad_ca = tmp_path / "ca.pem"
    bad_ca.write_text("not a certificate", encoding="utf-8")
    with pytest.raises(BrokerError, match="cannot load the TLS files") as info:
        BrokerSettings.from_config(BrokerConfig(url="mqtts://h", ca_file=bad_ca)).tls_context()
    assert info.value.reason == "tls_config"


def test_config_file_keeps_the_secret_but_dumps_mask_it(tmp_path: Path) -> None:
    cfg = AppConfig(broker=BrokerConfig(url="mqtts://h", username="u", password=SecretStr("hunter2")))
    assert "hunter2" not in str(cfg.model_dump(mode="json"))
    assert "hunter2" not in repr(cfg)
    path = save_config(cfg, tmp_path / "config.toml")
    assert path.stat().st_mode & 0o077 == 0
    loaded = load_config(path)
    assert loaded.broker.password is not None
    assert loaded.broker.password.get_secret_value() == "hunter2"
    assert loaded.broker.ha_discovery == "device"
    assert loaded.broker.live_tilt_rate_hz == 10.0


def test_env_overrides_broker_url(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HIPSENSE_BROKER__URL", "mqtt://from-env:1884")
    assert load_config(tmp_path / "none.toml").broker.url == "mqtt://from-env:1884"
