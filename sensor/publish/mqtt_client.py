"""The MQTT publisher: one aiomqtt connection per sensor, supervised, reconnecting, with a persistent outbox.

* The broker is a URL: ``mqtt://`` (1883), ``mqtts://`` (8883), ``ws://`` (80), ``wss://`` (443), with optional
  ``user:password@`` and, for websockets, a path (``ws://host:9001/mqtt``). :func:`parse_broker_url` checks it and
  :func:`redact_url` is the only form in which a URL reaches a log line or an error message.
* MQTT 5 first; a broker that refuses it (amqtt answers CONNACK reason 132 "unsupported protocol version") gets
  MQTT 3.1.1, remembered for the publisher's lifetime.
* Last will ``<prefix>/<sensor_id>/status`` = ``offline`` (QoS 1, retained); ``online`` is published right after
  each connect and ``offline`` before a clean disconnect.
* QoS 1 messages come from the :class:`~sensor.publish.outbox.Outbox` only (persisted before publishing); they are
  published in insertion order, pipelined in windows, and marked delivered on PUBACK, the longest acknowledged
  prefix only, so after an outage the flush resumes exactly at the first unacknowledged message. Live messages
  (steps, state, tilt) go at QoS 0 through a small bounded queue; while disconnected they are dropped (counted),
  except the latest retained state, which is republished on every connect.
* Errors never stop the recorder: a refused login, a TLS mismatch or an unreachable broker becomes a
  :class:`~sensor.errors.BrokerError` (``last_error``, logged once per distinct cause) and the supervisor retries
  with capped, randomised exponential backoff. :meth:`MqttPublisher.wait_connected` raises it for callers that want
  to fail fast (``hipsense mqtt check``).

One ``TaskGroup`` per publisher: a supervisor, and per connection the receive, flush, live and stop loops, all
named.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import ipaddress
import logging
import os
import random
import socket
import ssl
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Final, Literal, Self
from urllib.parse import unquote, urlsplit

import aiomqtt
from aiomqtt import ProtocolVersion
from aiomqtt.exceptions import MqttConnectError
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from sensor.config import BrokerConfig
from sensor.crashpoints import crash_point
from sensor.errors import BrokerError, StoreError
from sensor.publish.outbox import Outbox
from sensor.publish.payloads import STATUS_OFFLINE, STATUS_ONLINE

log = logging.getLogger(__name__)

Transport = Literal["tcp", "websockets"]

_SCHEMES: Final[dict[str, tuple[Transport, bool, int]]] = {
    "mqtt": ("tcp", False, 1883),
    "mqtts": ("tcp", True, 8883),
    "ws": ("websockets", False, 80),
    "wss": ("websockets", True, 443),
}
LIVE_EXPIRY_S: Final = 10
"""MQTT 5 message expiry of live (non-retained QoS 0) messages: steps and tilt older than this are not delivered."""
_URL_HELP: Final = "use e.g. mqtt://host:1883, mqtts://host:8883, ws://host:9001/mqtt or wss://host/mqtt"


def redact_url(url: str) -> str:
    """The URL with any password replaced by ``***``, also for URLs too broken to parse (``mqtt:/u:pw@h``).

    Every ``user:password@`` segment (text between a ``/`` or the start and an ``@``) is masked after its first
    colon, so a password never survives a typo in the scheme.
    """
    out = url
    at = out.rfind("@")
    while at >= 0:
        start = out.rfind("/", 0, at) + 1
        user, has_password, _ = out[start:at].partition(":")
        if has_password:
            out = f"{out[:start]}{user}:***{out[at:]}"
            at = start + len(user) + 4
        at = out.rfind("@", 0, at)
    return out


@dataclass(frozen=True)
class BrokerTarget:
    """A parsed broker URL. ``url`` is redacted; the password is kept out of ``repr``."""

    url: str
    scheme: str
    host: str
    port: int
    transport: Transport
    tls: bool
    ws_path: str | None
    username: str | None
    password: str | None = field(default=None, repr=False)


def is_loopback_host(host: str) -> bool:
    """Whether ``host`` (a name or an address, IPv6 with or without brackets) stays on this machine.

    ``localhost`` and 127.0.0.0/8 and ::1 do; a wildcard (``0.0.0.0``, ``::``) and every other name or address do
    not (a name is not resolved: only ``localhost`` is trusted).
    """
    name = host.strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def resolve_password(cfg: BrokerConfig, *, url: str) -> str | None:
    """The ``[broker]`` password: ``password``, else the ``password_env`` variable, else the first line of
    ``password_file`` (``None`` when none is set). ``url`` (redacted) only goes into error messages.

    A password file that the group or others may read is used, with a warning naming the fix (``chmod 600``).
    """
    if cfg.password is not None:
        return cfg.password.get_secret_value()
    if cfg.password_env:
        password = os.environ.get(cfg.password_env)
        if password is None:
            raise BrokerError(
                f"broker.password_env names {cfg.password_env!r}, which is not set in the environment: export "
                "it or remove password_env",
                url=url,
                reason="config",
            )
        return password
    if cfg.password_file is None:
        return None
    path = cfg.password_file
    try:
        mode = path.stat().st_mode
        password = path.read_text(encoding="utf-8").splitlines()[0]
    except (OSError, IndexError) as exc:
        raise BrokerError(
            f"broker.password_file {str(path)!r} cannot be read ({type(exc).__name__}): point it at a readable "
            "file whose first line is the password",
            url=url,
            reason="config",
        ) from None
    if os.name == "posix" and mode & 0o077:
        log.warning(
            "broker.password_file %s may be read by other users (mode %s): run `chmod 600 %s`",
            path,
            oct(stat.S_IMODE(mode)),
            path,
        )
    return password


def plaintext_warning(target: BrokerTarget) -> str | None:
    """A warning naming the fix when the broker is reached without TLS over a network (not loopback)."""
    if target.tls or is_loopback_host(target.host):
        return None
    secure = "mqtts" if target.transport == "tcp" else "wss"
    port = 8883 if secure == "mqtts" else 443
    return (
        f"the broker {target.url} is reached without TLS: the password and your data cross the network in plain "
        f"text; use {secure}://{target.host}:{port} (a broker listener with a certificate) instead"
    )


def parse_broker_url(url: str) -> BrokerTarget:
    """Parse and check a broker URL; a bad one raises :class:`BrokerError` (reason ``url``) saying how to fix it."""
    safe = redact_url(url)

    def bad(why: str) -> BrokerError:
        return BrokerError(f"broker URL {safe!r} {why}; {_URL_HELP}", url=safe, reason="url")

    if "://" not in url:
        raise bad("has no scheme")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES:
        raise bad(f"has scheme {scheme!r}, which is not an MQTT scheme")
    transport, tls, default_port = _SCHEMES[scheme]
    try:
        port = parts.port
    except ValueError:
        raise bad("has an invalid port (a number 1-65535 is expected)") from None
    host = parts.hostname
    if not host:
        raise bad("has no host")
    if port == 0:
        raise bad("has port 0")
    if parts.query or parts.fragment:
        raise bad("has a query or fragment, which MQTT URLs do not use")
    path = parts.path
    if transport == "tcp" and path not in ("", "/"):
        raise bad(f"has path {path!r}, which only websockets (ws://, wss://) use")
    ws_path = (path or "/") if transport == "websockets" else None
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    return BrokerTarget(
        url=safe,
        scheme=scheme,
        host=host,
        port=port or default_port,
        transport=transport,
        tls=tls,
        ws_path=ws_path,
        username=username,
        password=password,
    )


@dataclass(frozen=True)
class BrokerSettings:
    """Everything needed to connect: the parsed URL, the credentials and the TLS files (secrets kept out of repr)."""

    target: BrokerTarget
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    tls_insecure: bool = False
    client_id: str | None = None
    keepalive_s: int = 30
    connect_timeout_s: float = 10.0

    @property
    def url(self) -> str:
        """The redacted URL."""
        return self.target.url

    @classmethod
    def from_url(cls, url: str, **kwargs: object) -> BrokerSettings:
        """Settings from a URL alone (credentials, if any, in the URL)."""
        target = parse_broker_url(url)
        return cls(target=target, username=target.username, password=target.password, **kwargs)  # type: ignore[arg-type]

    @classmethod
    def from_config(cls, cfg: BrokerConfig, url: str | None = None) -> BrokerSettings:
        """Settings from the ``[broker]`` section; ``url`` (``--broker``) overrides ``cfg.url``.

        The password comes from the URL, else :func:`resolve_password` (``password``, ``password_env``,
        ``password_file``).
        """
        raw = url if url is not None else cfg.url
        if raw is None:
            raise BrokerError(
                "no broker URL: set [broker] url in the config file or pass --broker mqtt://host:1883 "
                "(without one, run/demo start the embedded broker)",
                url="",
                reason="config",
            )
        target = parse_broker_url(raw)
        username = target.username or cfg.username
        password = target.password if target.password is not None else resolve_password(cfg, url=target.url)
        if password is not None and not username:
            raise BrokerError(
                "a broker password is set but no user name: set broker.username or user:password@ in the URL",
                url=target.url,
                reason="config",
            )
        tls_files = [f for f in (cfg.ca_file, cfg.cert_file, cfg.key_file) if f is not None]
        if tls_files and not target.tls:
            raise BrokerError(
                f"broker TLS files are set (ca_file/cert_file/key_file) but {target.url!r} is a plain connection: "
                "use mqtts:// or wss:// for TLS, or remove the TLS files",
                url=target.url,
                reason="tls_config",
            )
        return cls(
            target=target,
            username=username,
            password=password,
            ca_file=cfg.ca_file,
            cert_file=cfg.cert_file,
            key_file=cfg.key_file,
            tls_insecure=cfg.tls_insecure,
            client_id=cfg.client_id,
            keepalive_s=cfg.keepalive_s,
        )

    def tls_context(self) -> ssl.SSLContext | None:
        """The TLS context for mqtts:// and wss:// (system CAs unless ``ca_file``); ``None`` for plain URLs."""
        if not self.target.tls:
            return None
        try:
            ctx = ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)
            if self.cert_file is not None:
                ctx.load_cert_chain(str(self.cert_file), str(self.key_file) if self.key_file else None)
        except (OSError, ssl.SSLError) as exc:
            raise BrokerError(
                f"cannot load the TLS files (ca_file={_s(self.ca_file)}, cert_file={_s(self.cert_file)}, "
                f"key_file={_s(self.key_file)}): {_os_reason(exc)}; point broker.ca_file/cert_file/key_file at "
                "readable PEM files",
                url=self.url,
                reason="tls_config",
            ) from None
        if self.tls_insecure:
            # Host name check only; the chain is still verified against the CA.
            ctx.check_hostname = False
        ctx.sslsocket_class = _ClosingSSLSocket
        return ctx


class _ClosingSSLSocket(ssl.SSLSocket):
    """paho drops the TLS socket without closing it when the handshake fails (a ResourceWarning per attempt,
    every backoff period); this socket closes itself instead."""

    def do_handshake(self, block: bool = False) -> None:
        try:
            super().do_handshake(block)
        except BaseException:
            self.close()
            raise


def _track_sockets(client: aiomqtt.Client) -> None:
    """Remember the TCP sockets paho opens for this client, so :func:`_abandon` can close them: when a websockets
    handshake fails or times out, paho drops the socket without closing it (one leaked socket per retry)."""
    paho_client = client._client
    opened: list[socket.socket] = []
    create = paho_client._create_socket_connection

    def tracked() -> socket.socket:
        sock = create()
        opened.append(sock)
        return sock

    paho_client._create_socket_connection = tracked  # type: ignore[method-assign]
    client._hipsense_sockets = opened  # type: ignore[attr-defined]


def _abandon(client: aiomqtt.Client) -> None:
    """Close what a failed connect attempt left open. aiomqtt does not close the socket of an attempt that got no
    CONNACK (timeout); paho's own close also unregisters it from the event loop."""
    with contextlib.suppress(Exception):
        client._client._sock_close()
    for sock in getattr(client, "_hipsense_sockets", ()):
        sock.close()


def _s(p: Path | None) -> str:
    return repr(str(p)) if p is not None else "None"


def _os_reason(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLError):
        return str(exc.reason or exc)
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def _root_os_error(exc: BaseException) -> BaseException | None:
    """The OSError (socket, DNS, TLS) behind an aiomqtt error: aiomqtt re-raises it ``from None``."""
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        if isinstance(e, OSError):
            return e
        seen.add(id(e))
        e = e.__cause__ or e.__context__
    return None


def _rc_value(exc: aiomqtt.MqttCodeError) -> int | None:
    rc = exc.rc
    if rc is None:
        return None
    return rc if isinstance(rc, int) else int(rc.value)


_AUTH_CODES: Final = {
    4: "bad user name or password",
    134: "bad user name or password",
    5: "not authorized",
    135: "not authorized",
}
_PROTOCOL_CODES: Final = {1, 132}
_MQTT5_AUTH_CODES: Final = {134, 135}
_TLS_PORT_HINT: Final = (
    "Is it a TLS port? Use mqtts:// (usually 8883) only for TLS listeners and mqtt:// (usually 1883) for plain ones"
)


def classify_error(exc: BaseException, settings: BrokerSettings) -> BrokerError:
    """Turn a connect or session error into a :class:`BrokerError` that names the cause and the fix.

    The message never contains the password (only the redacted URL and the user name).
    """
    t = settings.target
    where = f"{t.host}:{t.port}"
    url = t.url
    if isinstance(exc, BrokerError):
        return exc
    if isinstance(exc, MqttConnectError):
        code = _rc_value(exc)
        if code in _AUTH_CODES:
            who = f" of user {settings.username!r}" if settings.username else " (no user name given)"
            return BrokerError(
                f"broker {url} refused the login{who}: {_AUTH_CODES[code]} (CONNACK code {code}). Fix: set "
                "broker.username and the password (broker.password_env, broker.password_file, or user:password@ "
                "in the URL)",
                url=url,
                reason="auth",
            )
        if code in _PROTOCOL_CODES:
            return BrokerError(
                f"broker {url} refused MQTT 5 and 3.1.1 (CONNACK code {code}): use a broker that speaks MQTT 3.1.1 "
                "or 5 (Mosquitto, EMQX, HiveMQ, amqtt)",
                url=url,
                reason="protocol",
            )
        if code in (2, 133):
            return BrokerError(
                f"broker {url} rejected the client id {settings.client_id!r} (CONNACK code {code}): set "
                "broker.client_id to a shorter plain id, or remove it",
                url=url,
                reason="client_id",
            )
        return BrokerError(f"broker {url} refused the connection: {exc}", url=url, reason="refused")
    root = _root_os_error(exc)
    if isinstance(root, ssl.SSLCertVerificationError):
        return BrokerError(
            f"TLS: the certificate of {where} was rejected ({root.verify_message}). Fix: set broker.ca_file to the "
            "CA certificate that signed it, and use the host name the certificate was issued for",
            url=url,
            reason="tls",
        )
    if isinstance(root, ssl.SSLError):
        return BrokerError(
            f"TLS handshake with {where} failed ({_os_reason(root)}). {_TLS_PORT_HINT}; the broker may also require "
            "a client certificate (broker.cert_file, broker.key_file)",
            url=url,
            reason="tls",
        )
    if t.tls and isinstance(root, ConnectionResetError | BrokenPipeError | ConnectionAbortedError):
        return BrokerError(
            f"TLS handshake with {where} failed: the server closed the connection ({_os_reason(root)}). "
            f"{_TLS_PORT_HINT}",
            url=url,
            reason="tls",
        )
    if isinstance(root, socket.gaierror):
        return BrokerError(
            f"cannot resolve the broker host {t.host!r} ({_os_reason(root)}). Fix: correct the host in the broker URL",
            url=url,
            reason="dns",
        )
    if isinstance(root, ConnectionRefusedError):
        return BrokerError(
            f"nothing accepts connections on {where} (connection refused). Fix: check host and port in the broker "
            "URL or start the broker (without a URL, run/demo start the embedded one)",
            url=url,
            reason="unreachable",
        )
    if type(root).__name__ == "WebsocketConnectionError" or (
        t.transport == "websockets" and root is None and "websocket" in str(exc).lower()
    ):
        return BrokerError(
            f"websocket handshake with {where} failed ({exc}). Fix: check that the port is a websockets listener "
            "and the path in the URL (often /mqtt or /); for a plain MQTT port use mqtt://",
            url=url,
            reason="websocket",
        )
    if isinstance(root, TimeoutError) or (root is None and "timed out" in str(exc).lower()):
        if t.transport == "websockets":
            hint = "is it a websockets listener (check the path, often /mqtt or /)? For a plain MQTT port use mqtt://"
        elif t.tls:
            hint = "does this port speak MQTT over TLS? A websockets listener needs wss://"
        else:
            hint = "if this port speaks TLS use mqtts://, if it is a websockets listener use ws://"
        return BrokerError(
            f"no MQTT answer from {where} within {settings.connect_timeout_s:g} s: {hint}; check host and port",
            url=url,
            reason="timeout",
        )
    if root is not None:
        return BrokerError(
            f"connection to {where} failed ({_os_reason(root)}). Fix: check the broker URL and the network",
            url=url,
            reason="unreachable",
        )
    return BrokerError(f"connection to {where} lost or failed: {exc}", url=url, reason="connection")


async def check_connection(settings: BrokerSettings) -> Literal["5", "3.1.1"]:
    """Connect once (no will, nothing published) and return the MQTT version the broker accepts; a failure raises
    :class:`BrokerError` naming the fix. For ``hipsense mqtt check``."""
    pub = MqttPublisher(settings, status_topic="unused")
    version = await pub._probe_protocol()
    client = pub._make_client(version, will=False)  # the probe did not log in: this checks the credentials
    try:
        async with client:
            pass
    except aiomqtt.MqttError as exc:
        _abandon(client)
        raise classify_error(exc, settings) from None
    return "3.1.1" if version == ProtocolVersion.V311 else "5"


def _raise_swallowed_cancellation() -> None:
    """Raise the current task's pending cancellation, if an ``await`` returned normally despite it.

    On Python 3.11 ``asyncio.wait_for`` (which aiomqtt's ``publish`` awaits) returns the result instead of raising
    when the cancellation arrives just as the awaited future completes (CPython gh-86296, fixed in 3.12). A loop
    that then waits for its next item never ends, and the connection's TaskGroup, whose other task already ended
    (a lost connection, a clean stop), waits for it forever: the publisher neither reconnects nor closes. Seen
    with 8 sensors publishing at once (bench/bench_load.py).
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


class PublisherState(enum.Enum):
    IDLE = "idle"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    WAITING = "waiting"
    CLOSED = "closed"


@dataclass
class PublisherStats:
    connects: int = 0
    reliable_published: int = 0
    live_published: int = 0
    live_dropped: int = 0
    connect_failures: int = 0


@dataclass(frozen=True, slots=True)
class _Live:
    topic: str
    payload: bytes
    retain: bool


class _StopRequested(Exception):
    """Ends a connection's task group after a clean goodbye."""


BirthMessages = Callable[[], Sequence[tuple[str, bytes]]]
"""Retained QoS 1 messages (Home Assistant discovery) published on connect and when HA comes online."""


class MqttPublisher:
    """A supervised MQTT connection for one sensor. Use as ``async with MqttPublisher(...) as pub:``.

    Args:
        settings: where and how to connect.
        status_topic: ``<prefix>/<sensor_id>/status`` (the last will).
        outbox: the persistent QoS 1 queue; :meth:`notify_outbox` after enqueueing.
        outbox_topic_prefix: publish only the outbox rows whose topic starts with this (``<prefix>/<sensor_id>/``):
            the publishers of several sensors share one store, and each must send its own rows only, else every
            message goes out once per publisher. ``None``: every row.
        outbox_exclude_prefixes: and none of the rows under these (the other active sensors', when this publisher
            also sends the rows left by sensors no longer in use: ``outbox_topic_prefix`` is then ``<prefix>/``).
        birth: retained QoS 1 messages (discovery) to publish on connect and on ``ha_status_topic`` ``online``.
        ha_status_topic: Home Assistant's birth topic (``homeassistant/status``), or ``None``.
        backoff_min_s, backoff_max_s: reconnect delay bounds (full jitter, doubling per failed attempt).
        flush_window: QoS 1 messages in flight per flush round.
        live_queue_size: QoS 0 messages buffered; the oldest is dropped when full.
        close_timeout_s: on exit, how long to try to drain the outbox and say ``offline``.
    """

    def __init__(
        self,
        settings: BrokerSettings,
        *,
        status_topic: str,
        outbox: Outbox | None = None,
        outbox_topic_prefix: str | None = None,
        outbox_exclude_prefixes: Sequence[str] = (),
        birth: BirthMessages | None = None,
        ha_status_topic: str | None = None,
        backoff_min_s: float = 0.5,
        backoff_max_s: float = 30.0,
        flush_window: int = 64,
        live_queue_size: int = 256,
        close_timeout_s: float = 5.0,
    ) -> None:
        if not 0 < backoff_min_s <= backoff_max_s:
            raise ValueError(f"need 0 < backoff_min_s <= backoff_max_s, got {backoff_min_s}, {backoff_max_s}")
        if flush_window < 1 or live_queue_size < 1:
            raise ValueError(f"flush_window and live_queue_size must be >= 1, got {flush_window}, {live_queue_size}")
        self.settings = settings
        self.status_topic = status_topic
        self._outbox = outbox
        self._outbox_topic_prefix = outbox_topic_prefix
        self._outbox_exclude_prefixes = tuple(outbox_exclude_prefixes)
        self._birth = birth
        self._ha_status_topic = ha_status_topic
        self._backoff_min_s = backoff_min_s
        self._backoff_max_s = backoff_max_s
        self._flush_window = flush_window
        self._close_timeout_s = close_timeout_s
        self._live: asyncio.Queue[_Live] = asyncio.Queue(maxsize=live_queue_size)
        self._live_idle = asyncio.Event()  # nothing queued or being written on the live path
        self._live_idle.set()
        self._retained: dict[str, bytes] = {}
        self._stop = asyncio.Event()
        self._connected = asyncio.Event()
        self._outbox_wake = asyncio.Event()
        self._drained = asyncio.Event()
        self._outbox_wake.set()
        self._acked_unsaved: set[int] = set()  # acknowledged outbox rows the store could not mark delivered
        self._protocol: ProtocolVersion | None = None
        self._props_cache: dict[tuple[bool, int | None], Properties] = {}
        self._state = PublisherState.IDLE
        self._last_error: BrokerError | None = None
        self._last_logged: str | None = None
        self._stack: contextlib.AsyncExitStack | None = None
        self._task: asyncio.Task[None] | None = None
        self._tls = settings.tls_context()
        self._client_id = settings.client_id or f"hipsense-{os.getpid()}-{random.getrandbits(32):08x}"
        self.stats = PublisherStats()

    # ----- public state
    @property
    def state(self) -> PublisherState:
        return self._state

    @property
    def last_error(self) -> BrokerError | None:
        """The latest connect or connection error (``None`` once connected)."""
        return self._last_error

    @property
    def protocol(self) -> Literal["5", "3.1.1"] | None:
        """The MQTT version in use, once known."""
        if self._protocol is None:
            return None
        return "5" if self._protocol == ProtocolVersion.V5 else "3.1.1"

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    async def wait_connected(self, timeout_s: float) -> None:
        """Wait until connected; on timeout raise the latest :class:`BrokerError` (or a timeout one)."""
        try:
            await asyncio.wait_for(self._connected.wait(), timeout_s)
        except TimeoutError:
            if self._last_error is not None:
                raise self._last_error from None
            raise BrokerError(
                f"not connected to {self.settings.url} after {timeout_s:g} s; check the broker URL and that the "
                "broker runs",
                url=self.settings.url,
                reason="timeout",
            ) from None

    async def wait_flushed(self, timeout_s: float) -> bool:
        """Wait until the outbox has nothing pending; ``False`` on timeout."""
        try:
            await asyncio.wait_for(self._drained.wait(), timeout_s)
        except TimeoutError:
            return False
        return True

    # ----- feeding
    def notify_outbox(self) -> None:
        """Something was enqueued in the outbox: flush it when connected."""
        self._drained.clear()
        self._outbox_wake.set()

    def publish_live(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        """Queue a QoS 0 message (never blocks). Retained ones are also republished on every reconnect."""
        if retain:
            self._retained[topic] = payload
        if not self._connected.is_set():
            if not retain:
                self.stats.live_dropped += 1
            return
        if self._live.full():
            self._live.get_nowait()
            self.stats.live_dropped += 1
        self._live_idle.clear()
        self._live.put_nowait(_Live(topic, payload, retain))

    def forget_retained(self, topic: str) -> None:
        self._retained.pop(topic, None)

    # ----- lifecycle
    async def __aenter__(self) -> Self:
        stack = contextlib.AsyncExitStack()
        tg = await stack.enter_async_context(asyncio.TaskGroup())
        self._task = tg.create_task(self._supervise(), name=f"mqtt-supervisor[{self.status_topic}]")
        self._stack = stack
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        task, stack = self._task, self._stack
        if task is None or stack is None:
            return
        try:
            done, _ = await asyncio.wait({task}, timeout=self._close_timeout_s + self.settings.connect_timeout_s)
            if not done:
                task.cancel()
        finally:
            await stack.aclose()
            self._state = PublisherState.CLOSED

    # ----- internals
    def _note_error(self, err: BrokerError) -> None:
        self._last_error = err
        text = str(err)
        if text != self._last_logged:
            log.warning("MQTT: %s (retrying with backoff; recording continues)", text)
            self._last_logged = text
        else:
            log.debug("MQTT: %s", text)

    def _backoff_delay_s(self, attempt: int) -> float:
        cap = min(self._backoff_max_s, self._backoff_min_s * 2.0 ** max(attempt - 1, 0))
        return random.uniform(self._backoff_min_s, max(cap, self._backoff_min_s))

    def _make_client(self, protocol: ProtocolVersion, *, will: bool = True, login: bool = True) -> aiomqtt.Client:
        s, t = self.settings, self.settings.target
        client = aiomqtt.Client(
            t.host,
            t.port,
            username=s.username if login else None,
            password=s.password if login else None,
            identifier=self._client_id,
            protocol=protocol,
            will=aiomqtt.Will(self.status_topic, STATUS_OFFLINE.encode(), qos=1, retain=True) if will else None,
            transport=t.transport,
            websocket_path=t.ws_path,
            tls_context=self._tls,
            keepalive=s.keepalive_s,
            timeout=s.connect_timeout_s,
            max_inflight_messages=self._flush_window,
            logger=logging.getLogger("sensor.publish.paho"),
        )
        # aiomqtt warns above 10 pending calls; a flush window keeps up to flush_window QoS 1 publishes in flight.
        client.pending_calls_threshold = self._flush_window + self._live.maxsize + 8
        # paho's own socket timeout (5 s) bounds the TCP, TLS and websockets handshakes in its connect thread
        client._client.connect_timeout = s.connect_timeout_s
        _track_sockets(client)
        return client

    async def _probe_protocol(self) -> ProtocolVersion:
        """MQTT 5 unless the broker refuses it. The probe carries no will and no login: amqtt misreads an MQTT 5
        CONNECT with a will or a user name (it does not know the MQTT 5 fields) and waits for bytes that never
        come, instead of refusing. A broker that answers the anonymous probe with an MQTT 5 "bad user name or
        password" / "not authorized" speaks MQTT 5 (the real connection then logs in)."""
        probe = self._make_client(ProtocolVersion.V5, will=False, login=False)
        try:
            async with probe:
                pass
        except MqttConnectError as exc:
            _abandon(probe)
            code = _rc_value(exc)
            if code in _PROTOCOL_CODES:
                log.info("MQTT: %s refuses MQTT 5; using MQTT 3.1.1", self.settings.url)
                return ProtocolVersion.V311
            if code in _MQTT5_AUTH_CODES:
                return ProtocolVersion.V5
            raise classify_error(exc, self.settings) from None
        except aiomqtt.MqttError as exc:
            _abandon(probe)
            raise classify_error(exc, self.settings) from None
        return ProtocolVersion.V5

    async def _connect(self, stack: contextlib.AsyncExitStack) -> aiomqtt.Client:
        if self._protocol is None:
            self._protocol = await self._probe_protocol()
        client = self._make_client(self._protocol)
        try:
            await stack.enter_async_context(client)
        except aiomqtt.MqttError as exc:
            _abandon(client)
            if isinstance(exc, MqttConnectError) and _rc_value(exc) in _PROTOCOL_CODES:
                self._protocol = None  # another broker behind the same URL now: probe again next time
            raise classify_error(exc, self.settings) from None
        return client

    async def _supervise(self) -> None:
        attempt = 0
        while not self._stop.is_set():
            self._state = PublisherState.CONNECTING
            try:
                async with contextlib.AsyncExitStack() as stack:
                    client = await self._connect(stack)
                    attempt = 0
                    await self._session(client)
            except BrokerError as err:
                self.stats.connect_failures += 1
                self._note_error(err)
            except aiomqtt.MqttError as exc:
                self._note_error(classify_error(exc, self.settings))
            finally:
                self._connected.clear()
            if self._stop.is_set():
                break
            attempt += 1
            self._state = PublisherState.WAITING
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self._backoff_delay_s(attempt))
        self._state = PublisherState.CLOSED

    async def _session(self, client: aiomqtt.Client) -> None:
        await client.publish(self.status_topic, STATUS_ONLINE.encode(), qos=1, retain=True)
        if self._ha_status_topic is not None:
            await client.subscribe(self._ha_status_topic, qos=1)
        await self._publish_birth(client)
        for topic, payload in list(self._retained.items()):
            await client.publish(topic, payload, qos=0, retain=True, properties=self._props(json=True))
        while not self._live.empty():  # stale live data from before the outage
            self._live.get_nowait()
        self._live_idle.set()
        self.stats.connects += 1
        self._last_error = None
        self._last_logged = None
        self._state = PublisherState.CONNECTED
        self._connected.set()
        log.info("MQTT: connected to %s (MQTT %s)", self.settings.url, self.protocol)
        name = self.status_topic
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self._receive_loop(client), name=f"mqtt-receive[{name}]")
                tg.create_task(self._flush_loop(client), name=f"mqtt-flush[{name}]")
                tg.create_task(self._live_loop(client), name=f"mqtt-live[{name}]")
                tg.create_task(self._stop_loop(client), name=f"mqtt-stop[{name}]")
        except BaseExceptionGroup as eg:
            _, rest = eg.split(_StopRequested)
            if rest is None:
                return
            mqtt_errors, other = rest.split(aiomqtt.MqttError)
            if other is not None:
                raise other from None
            assert mqtt_errors is not None
            raise mqtt_errors.exceptions[0] from None

    def _props(self, *, json: bool, expiry_s: int | None = None) -> Properties | None:
        """MQTT 5 publish properties (None on 3.1.1): JSON content type, and an expiry for live data so a consumer
        that reconnects later is not handed stale steps and tilt."""
        if self._protocol != ProtocolVersion.V5:
            return None
        key = (json, expiry_s)
        props = self._props_cache.get(key)
        if props is None:
            props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]  # paho leaves __init__ untyped
            if json:
                props.PayloadFormatIndicator = 1
                props.ContentType = "application/json"
            if expiry_s is not None:
                props.MessageExpiryInterval = expiry_s
            self._props_cache[key] = props
        return props

    async def _publish_birth(self, client: aiomqtt.Client) -> None:
        if self._birth is None:
            return
        for topic, payload in self._birth():
            await client.publish(topic, payload, qos=1, retain=True, properties=self._props(json=True))

    async def _receive_loop(self, client: aiomqtt.Client) -> None:
        # Also the connection watchdog: the iterator raises MqttError as soon as the connection drops.
        async for message in client.messages:
            if (
                self._ha_status_topic is not None
                and message.topic.matches(self._ha_status_topic)
                and message.payload == STATUS_ONLINE.encode()
            ):
                log.info("MQTT: Home Assistant is online; republishing discovery")
                await self._publish_birth(client)
                _raise_swallowed_cancellation()

    async def _flush_loop(self, client: aiomqtt.Client) -> None:
        outbox = self._outbox
        if outbox is None:
            self._drained.set()
            return
        while True:
            self._outbox_wake.clear()
            # The store is shared with the recorder, whose commits (in a worker thread) hold its lock: read and
            # write the outbox off the event loop so BLE notifications are never held up by a commit.
            rows = await asyncio.to_thread(
                outbox.pending_outbox,
                self._flush_window + len(self._acked_unsaved),
                self._outbox_topic_prefix,
                self._outbox_exclude_prefixes,
            )
            if self._acked_unsaved:
                sent = set(self._acked_unsaved)
                await self._mark_delivered(outbox, [])  # retry: the store may be writable again
                rows = [r for r in rows if r.id not in sent]
            if not rows:
                if not self._outbox_wake.is_set():  # nothing enqueued while we were reading
                    self._drained.set()
                await self._outbox_wake.wait()
                continue
            acked = await self._publish_window(client, [(r.topic, r.payload.encode()) for r in rows])
            _raise_swallowed_cancellation()
            if acked:
                crash_point("mqtt.acked")  # test hook (kill -9 campaign); a no-op in normal use
                await self._mark_delivered(outbox, [r.id for r in rows[:acked]])
                self.stats.reliable_published += acked
            if acked < len(rows):
                raise aiomqtt.MqttError(f"{len(rows) - acked} QoS 1 messages not acknowledged; reconnecting")

    async def _mark_delivered(self, outbox: Outbox, ids: Sequence[int]) -> None:
        """Mark acknowledged rows delivered. When the store cannot be written (disk full, read-only) they are kept
        here, never published again by this process, and marked once the store takes writes again (a restart
        before that publishes them once more: at least once)."""
        todo = sorted({*self._acked_unsaved, *ids})
        try:
            await asyncio.to_thread(outbox.mark_delivered, todo)
        except StoreError as exc:
            if not self._acked_unsaved:
                log.warning("MQTT: cannot mark published events delivered in the outbox: %s", exc)
            self._acked_unsaved = set(todo)
        else:
            self._acked_unsaved.clear()

    async def _publish_window(self, client: aiomqtt.Client, messages: Sequence[tuple[str, bytes]]) -> int:
        """Publish in order with all PUBACKs awaited together; returns the length of the acknowledged prefix."""
        ok = [False] * len(messages)
        props = self._props(json=True)

        async def one(i: int, topic: str, payload: bytes) -> None:
            with contextlib.suppress(aiomqtt.MqttError):
                await client.publish(topic, payload, qos=1, properties=props)
                ok[i] = True

        # Tasks start in creation order, so paho writes the PUBLISH packets in outbox order.
        async with asyncio.TaskGroup() as tg:
            for i, (topic, payload) in enumerate(messages):
                tg.create_task(one(i, topic, payload), name=f"mqtt-qos1[{i}]")
        n = 0
        while n < len(ok) and ok[n]:
            n += 1
        return n

    async def _live_loop(self, client: aiomqtt.Client) -> None:
        while True:
            if self._live.empty():
                self._live_idle.set()
            items = [await self._live.get()]
            while not self._live.empty():
                items.append(self._live.get_nowait())
            # Everything queued goes out together: aiomqtt's publish returns once paho wrote the packet, one event
            # loop round trip per call, so one at a time the live path falls behind a busy loop (8 sensors) and the
            # queue drops the oldest. Tasks start in creation order: paho writes them in queue order.
            errors: list[aiomqtt.MqttError] = []
            async with asyncio.TaskGroup() as tg:
                for i, item in enumerate(items):
                    tg.create_task(self._publish_live(client, item, errors), name=f"mqtt-qos0[{i}]")
            if errors:
                raise errors[0]
            self.stats.live_published += len(items)

    async def _publish_live(self, client: aiomqtt.Client, item: _Live, errors: list[aiomqtt.MqttError]) -> None:
        props = self._props(json=True) if item.retain else self._props(json=True, expiry_s=LIVE_EXPIRY_S)
        try:
            await client.publish(item.topic, item.payload, qos=0, retain=item.retain, properties=props)
        except aiomqtt.MqttError as exc:
            errors.append(exc)  # raised by the loop itself: a plain MqttError makes the supervisor reconnect

    async def _stop_loop(self, client: aiomqtt.Client) -> None:
        await self._stop.wait()
        if self._outbox is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._drained.wait(), self._close_timeout_s / 2)
        with contextlib.suppress(TimeoutError):  # the last steps and state of the session
            await asyncio.wait_for(self._live_idle.wait(), self._close_timeout_s / 2)
        with contextlib.suppress(aiomqtt.MqttError):
            await client.publish(self.status_topic, STATUS_OFFLINE.encode(), qos=1, retain=True, timeout=2.0)
        raise _StopRequested
