"""The embedded MQTT broker (amqtt, in-process) that makes ``hipsense run``/``demo`` work with no broker installed.

* Bound to 127.0.0.1 by default (amqtt's own default is 0.0.0.0), with a TCP and a websockets listener (the web
  dashboard connects over websockets). ``bind`` (``[broker] embedded_bind``, ``--broker-bind``) may name another
  address; anything but loopback is refused unless a user name and password are configured, and then anonymous
  clients are refused (amqtt's ``FileAuthPlugin`` with an Argon2 hash in a private temporary file, plus
  ``AnonymousAuthPlugin`` with ``allow_anonymous = false``). Credentials may also be set on loopback.
* Preferred ports 1883 (TCP) and 8083, then 9001 (websockets); when a port is taken (a Mosquitto on 1883 is
  common) the OS picks a free one. :attr:`EmbeddedBroker.tcp_url` and :attr:`EmbeddedBroker.ws_url` say where it
  listens; :func:`describe` gives the line to print, including how to use the existing broker instead.
* amqtt speaks MQTT 3.1.1 only (the publisher falls back automatically), keeps retained messages in memory only,
  and runs in the gateway's event loop. Move to Mosquitto (``--broker mqtt://host:1883``) for MQTT 5, for retained
  state that survives restarts, for other machines on the network (TLS, passwords), or above a few thousand
  messages per second (bench/bench_mqtt.py).
* Only the auth plugins are loaded: amqtt's default logging and $SYS plugins cost 25-35 % throughput.
* No TLS listener: from other machines, passwords and data travel in plain text (a warning says so); use Mosquitto
  with a certificate (``mqtts://``) for that, see docs/security.md.

Use as ``async with EmbeddedBroker() as broker:`` or run :meth:`EmbeddedBroker.serve` as a named task of a
TaskGroup.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import shutil
import socket
import tempfile
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Self

from amqtt.broker import Broker
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from sensor.config import BrokerConfig
from sensor.errors import BrokerError
from sensor.publish.mqtt_client import is_loopback_host, resolve_password

log = logging.getLogger(__name__)

HOST: Final = "127.0.0.1"
"""The default bind address (loopback), also where this process's own clients connect when bound to 0.0.0.0."""
PREFERRED_TCP_PORTS: Final[tuple[int, ...]] = (1883,)
PREFERRED_WS_PORTS: Final[tuple[int, ...]] = (8083, 9001)
WS_PATH: Final = "/"

# No EventLogger/PacketLogger/$SYS plugins (measured cost 25-35 %). amqtt admits a client only when every auth
# plugin that answers says yes: with credentials, AnonymousAuthPlugin refuses clients without a user name and
# FileAuthPlugin checks the user's password (it abstains on no user name, so both are needed).
_ANONYMOUS: Final = "amqtt.plugins.authentication.AnonymousAuthPlugin"
_FILE_AUTH: Final = "amqtt.plugins.authentication.FileAuthPlugin"


def _hasher() -> Argon2Hasher:
    """OWASP's minimum for Argon2id (19 MiB, 2 passes, 1 lane) rather than pwdlib's default (64 MiB, 3 passes, 4
    lanes): amqtt verifies in the event loop, so every login stalls the gateway for one verification (~5x shorter
    here); the hash only lives in a 0600 file while the broker runs."""
    return Argon2Hasher(time_cost=2, memory_cost=19456, parallelism=1)


def _plugins(password_file: Path | None) -> dict[str, Any]:
    if password_file is None:
        return {_ANONYMOUS: {"allow_anonymous": True}}
    return {_ANONYMOUS: {"allow_anonymous": False}, _FILE_AUTH: {"password_file": str(password_file)}}


class _Broker(Broker):  # type: ignore[misc]  # amqtt is untyped
    """amqtt's broker, closing the TCP connection of a client whose MQTT handshake failed (a port scan, a
    websockets or TLS client on the TCP port): amqtt 0.12 only releases its count and leaks the socket."""

    async def stream_connected(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, listener_name: str
    ) -> None:
        try:
            await super().stream_connected(reader, writer, listener_name)
        finally:
            if not writer.is_closing():
                writer.close()


def port_is_free(port: int, host: str = HOST) -> bool:
    """Whether ``host:port`` can be bound now (it may be taken a moment later: callers fall back to port 0)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        # as the listener itself does (asyncio's reuse_address): connections of a just-stopped broker linger in
        # TIME_WAIT and must not make its port look taken
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def _choose(preferred: Sequence[int], host: str) -> int:
    for p in preferred:
        if p and port_is_free(p, host):
            return p
    return 0


def _check_credentials(bind: str, username: str | None, password: str | None) -> None:
    url = f"mqtt://{bind}"
    if not username and not password and not is_loopback_host(bind):
        raise BrokerError(
            f"the embedded broker would listen on {bind}, reachable from other machines, and admit anyone: set "
            "[broker] username and password_env (or password_file) in the config, or keep embedded_bind = "
            '"127.0.0.1" (--broker-bind 127.0.0.1)',
            url=url,
            reason="auth_config",
        )
    if not username and password:
        raise BrokerError(
            "a password is set for the embedded broker but no user name: set [broker] username",
            url=url,
            reason="auth_config",
        )
    if username and not password:
        raise BrokerError(
            f"the embedded broker's user {username!r} has no password: set [broker] password_env (or password_file)",
            url=url,
            reason="auth_config",
        )
    if username and ":" in username:
        raise BrokerError(
            f"the embedded broker's user name {username!r} contains ':'; choose one without it",
            url=url,
            reason="auth_config",
        )


class EmbeddedBroker:
    """amqtt with TCP and websockets listeners, on 127.0.0.1 unless ``bind`` says otherwise.

    Args:
        tcp_ports, ws_ports: ports to try in order; when all are taken the OS picks a free one. ``(0,)`` always
            picks a free port (tests).
        websockets: also open the websockets listener.
        bind: the address to listen on. A non-loopback one (``0.0.0.0``, a LAN address) needs ``username`` and
            ``password``, else :class:`BrokerError` (reason ``auth_config``) says how to set them.
        username, password: when given, only this user (with this password) may connect; anonymous clients and
            wrong passwords are refused (CONNACK "not authorized").
    """

    def __init__(
        self,
        *,
        tcp_ports: Sequence[int] = PREFERRED_TCP_PORTS,
        ws_ports: Sequence[int] = PREFERRED_WS_PORTS,
        websockets: bool = True,
        bind: str = HOST,
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        _check_credentials(bind, username, password)
        self.bind = bind
        self.username = username or None
        self._password = password or None
        self._auth_dir: Path | None = None
        self._tcp_ports = tuple(tcp_ports)
        self._ws_ports = tuple(ws_ports)
        self._websockets = websockets
        self._broker: Broker | None = None
        self.tcp_port: int | None = None
        self.ws_port: int | None = None
        self.taken_tcp: list[int] = []
        self.taken_ws: list[int] = []

    @property
    def requires_auth(self) -> bool:
        return self.username is not None

    @property
    def exposed(self) -> bool:
        """Whether other machines may reach it (bound to something else than loopback)."""
        return not is_loopback_host(self.bind)

    @property
    def host(self) -> str:
        """Where clients on this machine connect: the bind address, or 127.0.0.1 for a wildcard bind."""
        if self.bind == "0.0.0.0":
            return HOST
        if self.bind == "::":
            return "[::1]"
        return f"[{self.bind}]" if ":" in self.bind else self.bind

    @property
    def tcp_url(self) -> str:
        if self.tcp_port is None:
            raise RuntimeError("the embedded broker is not running")
        return f"mqtt://{self.host}:{self.tcp_port}"

    @property
    def ws_url(self) -> str | None:
        return None if self.ws_port is None else f"ws://{self.host}:{self.ws_port}{WS_PATH}"

    @property
    def connections(self) -> int:
        """Client connections open now (including ones still in their MQTT handshake)."""
        if self._broker is None:
            return 0
        return sum(max(server.conn_count, 0) for server in self._broker._servers.values())

    def _config(self, tcp_port: int, ws_port: int | None) -> dict[str, Any]:
        bind = f"[{self.bind}]" if ":" in self.bind else self.bind
        listeners: dict[str, Any] = {"default": {"type": "tcp", "bind": f"{bind}:{tcp_port}"}}
        if ws_port is not None:
            listeners["ws"] = {"type": "ws", "bind": f"{bind}:{ws_port}"}
        password_file = None if self._auth_dir is None else self._auth_dir / "passwd"
        return {"listeners": listeners, "plugins": _plugins(password_file)}

    def _write_password_file(self) -> None:
        """The user's Argon2 hash (never the password) in a fresh 0700 directory, file 0600; removed by stop()."""
        if self.username is None or self._password is None:
            return
        self._auth_dir = Path(tempfile.mkdtemp(prefix="hipsense-broker-"))  # mkdtemp makes it 0700
        digest = PasswordHash((_hasher(),)).hash(self._password)
        fd = os.open(self._auth_dir / "passwd", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(f"{self.username}:{digest}\n")

    def _remove_password_file(self) -> None:
        auth_dir, self._auth_dir = self._auth_dir, None
        if auth_dir is not None:
            shutil.rmtree(auth_dir, ignore_errors=True)

    async def start(self) -> None:
        if self._broker is not None:
            raise RuntimeError("the embedded broker is already running")
        try:
            await self._start()
        except BaseException:
            self._remove_password_file()
            raise

    async def _start(self) -> None:
        self._write_password_file()
        tcp = _choose(self._tcp_ports, self.bind)
        ws = _choose(self._ws_ports, self.bind) if self._websockets else None
        self.taken_tcp = [p for p in self._tcp_ports if p and p != tcp]
        self.taken_ws = [p for p in self._ws_ports if p and p != ws] if self._websockets else []
        for attempt in range(3):
            broker = _Broker(self._config(tcp, ws))
            try:
                await broker.start()
            except Exception as exc:  # amqtt wraps bind errors in its own BrokerError
                if _address_in_use(exc) and attempt < 2:
                    # Lost a race for a preferred port: let the OS choose.
                    tcp, ws = 0, (0 if ws is not None else None)
                    continue
                raise BrokerError(
                    f"the embedded broker could not start on {self.bind} ({exc}); pass --broker mqtt://host:1883 "
                    "to use an existing broker",
                    url=f"mqtt://{self.host}:{tcp}",
                    reason="embedded",
                ) from exc
            self._broker = broker
            break
        assert self._broker is not None
        self.tcp_port = _bound_port(self._broker, "default")
        self.ws_port = _bound_port(self._broker, "ws") if ws is not None else None
        log.info("%s", describe(self))

    async def stop(self) -> None:
        broker, self._broker = self._broker, None
        try:
            if broker is not None:
                await broker.shutdown()
        finally:
            self._remove_password_file()
            self.tcp_port = self.ws_port = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def serve(self, started: asyncio.Event | None = None) -> None:
        """Run until cancelled (for a TaskGroup task); ``started`` is set once the ports are known."""
        async with self:
            if started is not None:
                started.set()
            await asyncio.Event().wait()


@dataclass(frozen=True)
class BrokerEndpoint:
    """Where run/demo publish: ``url`` for the gateway, ``ws_url`` for the web dashboard (``None`` when unknown),
    ``embedded`` when the in-process broker was started."""

    url: str
    ws_url: str | None
    embedded: EmbeddedBroker | None


@contextlib.asynccontextmanager
async def broker_endpoint(cfg: BrokerConfig, override_url: str | None = None) -> AsyncIterator[BrokerEndpoint]:
    """The broker to use for ``run``/``demo``: ``--broker`` (``override_url``), else ``[broker] url``, else the
    embedded broker, started here and stopped on exit (its ports are logged with :func:`describe`).

    A configured external broker gets ``ws_url=None``: its websockets listener, if any, is not known here.
    """
    url = override_url if override_url is not None else cfg.url
    if url is not None:
        yield BrokerEndpoint(url=url, ws_url=None, embedded=None)
        return
    async with embedded_from_config(cfg) as broker:
        yield BrokerEndpoint(url=broker.tcp_url, ws_url=broker.ws_url, embedded=broker)


def embedded_from_config(cfg: BrokerConfig, **kwargs: Any) -> EmbeddedBroker:
    """The embedded broker for the ``[broker]`` section, bound to ``embedded_bind``; ``kwargs`` go to
    :class:`EmbeddedBroker` (ports).

    On loopback it stays anonymous (as the web dashboard, served without credentials, expects). On any other
    address it admits only ``username`` with the configured password (``password``, ``password_env`` or
    ``password_file``), and refuses to start without them.
    """
    if is_loopback_host(cfg.embedded_bind):
        return EmbeddedBroker(bind=cfg.embedded_bind, **kwargs)
    url = f"mqtt://{cfg.embedded_bind}"
    password = resolve_password(cfg, url=url)
    return EmbeddedBroker(bind=cfg.embedded_bind, username=cfg.username or None, password=password, **kwargs)


def _address_in_use(exc: BaseException) -> bool:
    e: BaseException | None = exc
    while e is not None:
        if isinstance(e, OSError) and e.errno == errno.EADDRINUSE:
            return True
        e = e.__cause__ or e.__context__
    return False


def _bound_port(broker: Broker, listener: str) -> int:
    server = broker._servers[listener]  # amqtt has no public accessor for the bound socket
    sockets = server.instance.sockets
    return int(next(iter(sockets)).getsockname()[1])


def exposure_warning(broker: EmbeddedBroker) -> str | None:
    """A warning naming the fix when the embedded broker is reachable from other machines (it has no TLS)."""
    if not broker.exposed:
        return None
    return (
        f"the embedded broker listens on {broker.bind} without TLS: other machines log in with user "
        f"{broker.username!r} and its password in plain text; for the network prefer Mosquitto with a "
        "certificate (mqtts://, --broker mqtts://host:8883), see docs/security.md"
    )


def describe(broker: EmbeddedBroker) -> str:
    """One human line: where the embedded broker listens and how to use an existing broker instead."""
    ws = f", websockets {broker.ws_url}" if broker.ws_url else ""
    where = f" (bound to {broker.bind})" if broker.bind != HOST else ""
    auth = f", user {broker.username!r} only" if broker.requires_auth else ""
    text = f"embedded MQTT broker (amqtt, MQTT 3.1.1) on {broker.tcp_url}{ws}{where}{auth}"
    busy = [*broker.taken_tcp, *broker.taken_ws]
    if busy:
        text += f"; port(s) {', '.join(str(p) for p in busy)} already in use"
    if broker.taken_tcp:
        text += f" (another broker?): to publish there instead, run with --broker mqtt://{HOST}:{broker.taken_tcp[0]}"
    return text
