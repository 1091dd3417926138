"""User configuration: paired sensors, broker, thresholds. pydantic-settings over a TOML file.

The file lives in the platform's config directory (``platformdirs.user_config_dir("hipsense")/config.toml``,
e.g. ``~/.config/hipsense/config.toml`` on Linux); ``HIPSENSE_CONFIG`` or ``--config`` point elsewhere.
Environment variables ``HIPSENSE_<SECTION>__<KEY>`` override file values. The file is written atomically with
owner-only permissions because it may hold secrets.
"""

from __future__ import annotations

import ipaddress
import os
import tempfile
import tomllib
from pathlib import Path
from typing import Any, Literal

import platformdirs
import tomli_w
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    FieldSerializationInfo,
    SecretStr,
    ValidationError,
    field_serializer,
    field_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from sensor.errors import ConfigError

Mounting = Literal["sacrum", "belt_back", "belt_left", "belt_right", "unknown"]


def default_config_path() -> Path:
    env = os.environ.get("HIPSENSE_CONFIG")
    if env:
        return Path(env)
    return Path(platformdirs.user_config_dir("hipsense")) / "config.toml"


def default_data_dir() -> Path:
    env = os.environ.get("HIPSENSE_DATA_DIR")
    if env:
        return Path(env)
    return Path(platformdirs.user_data_dir("hipsense"))


def check_bind_address(value: str) -> str:
    """``value`` if it is an address a listener can bind (an IPv4/IPv6 address or ``localhost``), else ValueError."""
    if value != "localhost":
        try:
            ipaddress.ip_address(value)
        except ValueError:
            raise ValueError(
                f"bind address {value!r} is not an IP address; use 127.0.0.1 (this machine only), 0.0.0.0 "
                "(every interface) or one of this machine's addresses"
            ) from None
    return value


class SensorEntry(BaseModel):
    """A paired sensor."""

    model_config = ConfigDict(extra="forbid")

    alias: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    address: str
    sensor_type: str = Field(default="hipsense_v1", description="a registered sensor type (sensor/protocol/)")
    name: str | None = None
    mounting: Mounting = "sacrum"
    transport: str | None = Field(
        default=None,
        description="Bumble transport spec (usb:0, serial:/dev/ttyACM0, tcp-client:host:port) to drive a dongle "
        "without the OS stack; None uses Bleak's platform backend.",
    )
    bonded: bool = False
    firmware: str | None = None
    model: str | None = None

    @field_validator("sensor_type")
    @classmethod
    def _registered_type(cls, value: str) -> str:
        # the registry is the one list of sensor types: adding a type is a change in sensor/protocol/ only
        from sensor.protocol import registry  # noqa: PLC0415  (the registry imports codecs lazily; keep config light)

        if value not in registry.names():
            raise ValueError(f"unknown sensor type {value!r}; use one of {', '.join(registry.names())}")
        return value


HaDiscoveryMode = Literal["device", "component", "off"]


class BrokerConfig(BaseModel):
    """The MQTT broker (``[broker]`` section). No ``url`` means: start the embedded amqtt broker on
    ``embedded_bind`` (127.0.0.1; any other address requires ``username`` and a password).

    The URL is ``mqtt://``, ``mqtts://``, ``ws://`` or ``wss://`` with optional ``user:password@`` and, for
    websockets, a path (``ws://host:9001/mqtt``). Prefer ``password_env`` or ``password_file`` over a password
    written in the file or the URL. See docs/mqtt.md.
    """

    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(default=None, description="mqtt://, mqtts://, ws:// or wss:// URL; None = embedded broker")
    username: str | None = None
    password: SecretStr | None = None
    password_env: str | None = Field(default=None, description="name of an environment variable holding the password")
    password_file: Path | None = Field(default=None, description="file whose first line is the password")
    ca_file: Path | None = Field(default=None, description="CA bundle (PEM) that signed the broker's certificate")
    cert_file: Path | None = Field(default=None, description="client certificate (PEM) for mutual TLS")
    key_file: Path | None = Field(default=None, description="client private key (PEM) for mutual TLS")
    tls_insecure: bool = Field(default=False, description="skip the host name check (never the CA check)")
    client_id: str | None = Field(default=None, max_length=64)
    topic_prefix: str = Field(default="hipsense", min_length=1, pattern=r"^[^#+]+$")
    discovery_prefix: str = Field(default="homeassistant", min_length=1, pattern=r"^[^#+]+$")
    ha_discovery: HaDiscoveryMode = "device"
    live_tilt_rate_hz: float = Field(default=10.0, gt=0.0, le=50.0)
    live_tilt_batch_s: float = Field(default=0.5, gt=0.0, le=10.0, description="tilt samples per message span")
    keepalive_s: int = Field(default=30, ge=5, le=3600)
    embedded_bind: str = Field(
        default="127.0.0.1",
        description="address the embedded broker listens on; anything but loopback (0.0.0.0, a LAN address) "
        "makes it require username and password",
    )

    @field_validator("embedded_bind")
    @classmethod
    def _bind_address(cls, value: str) -> str:
        return check_bind_address(value)

    @field_serializer("password", when_used="always")
    def _dump_password(self, value: SecretStr | None, info: FieldSerializationInfo) -> str | None:
        # The config file is the one place the secret may be written back (save_config passes the context);
        # every other dump (logs, ``--json`` output) shows it masked.
        if value is None:
            return None
        ctx = info.context if isinstance(info.context, dict) else {}
        return value.get_secret_value() if ctx.get("reveal_secrets") else str(value)


class AppConfig(BaseSettings):
    """Everything HipSense reads from the config file."""

    model_config = SettingsConfigDict(env_prefix="HIPSENSE_", env_nested_delimiter="__", extra="forbid")

    sensors: list[SensorEntry] = Field(default_factory=list)
    data_dir: Path | None = None
    store_path: Path | None = None
    broker: BrokerConfig = Field(default_factory=BrokerConfig)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # init (the TOML file's content, passed by load_config) < environment variables
        return (env_settings, init_settings)

    def resolved_data_dir(self) -> Path:
        return self.data_dir if self.data_dir is not None else default_data_dir()

    def resolved_store_path(self) -> Path:
        return self.store_path if self.store_path is not None else self.resolved_data_dir() / "sessions.db"

    def sensor(self, alias_or_address: str) -> SensorEntry | None:
        for s in self.sensors:
            if alias_or_address in (s.alias, s.address):
                return s
        return None


def load_config(path: Path | None = None) -> AppConfig:
    """Read the config file (a missing file gives the defaults)."""
    p = path or default_config_path()
    data: dict[str, Any] = {}
    if p.exists():
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"config file {p} is not valid TOML: {exc}; fix or delete it", path=str(p)) from exc
        except RecursionError as exc:
            raise ConfigError(
                f"config file {p} nests arrays or tables too deeply to read; the config has two levels at most",
                path=str(p),
            ) from exc
        except OSError as exc:
            raise ConfigError(
                f"cannot read config file {p}: {exc.strerror}; point --config / HIPSENSE_CONFIG at a readable file",
                path=str(p),
            ) from exc
    unknown = sorted(k for k in data if k not in AppConfig.model_fields)
    if unknown:
        # checked here, not by extra="forbid": keys like `_env_file` are pydantic-settings' own init arguments
        raise ConfigError(
            f"config file {p}: unknown top-level key {unknown[0]!r}; the keys are "
            f"{', '.join(AppConfig.model_fields)} (and the [broker] and [[sensors]] sections); fix or remove it",
            path=str(p),
            key=unknown[0],
        )
    try:
        return AppConfig(**data)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(x) for x in err["loc"])
        raise ConfigError(
            f"config file {p}: {key}: {err['msg']} (value {err.get('input')!r}); edit the file or run "
            "`hipsense forget`/`hipsense pair` again",
            path=str(p),
            key=key,
        ) from exc


def save_config(cfg: AppConfig, path: Path | None = None) -> Path:
    """Write the config atomically with mode 0600 (a directory it creates: 0700); returns the path."""
    p = path or default_config_path()
    if not p.parent.exists():
        p.parent.mkdir(mode=0o700, parents=True)  # a new config directory is private (an existing one is kept)
    doc = cfg.model_dump(mode="json", exclude_none=True, context={"reveal_secrets": True})
    fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=".config-", suffix=".toml")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as fh:
            tomli_w.dump(doc, fh)
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return p
