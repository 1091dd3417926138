"""The embedded MQTT broker (amqtt, in-process) that makes ``hipsense run``/``demo`` work with no broker installed.

* Bound to 127.0.0.1 only (amqtt's own default is 0.0.0.0), with a TCP and a websockets listener (the web dashboard
  connects over websockets).
* Preferred ports 1883 (TCP) and 8083, then 9001 (websockets); when a port is taken (a Mosquitto on 1883 is
  common) the OS picks a free one. :attr:`EmbeddedBroker.tcp_url` and :attr:`EmbeddedBroker.ws_url` say where it
  listens; :func:`describe` gives the line to print, including how to use the existing broker instead.
* amqtt speaks MQTT 3.1.1 only (the publisher falls back automatically), keeps retained messages in memory only,
  and runs in the gateway's event loop. Move to Mosquitto (``--broker mqtt://host:1883``) for MQTT 5, for retained
  state that survives restarts, for other machines on the network (TLS, passwords), or above a few thousand
  messages per second (bench/bench_mqtt.py).
* Only the anonymous-auth plugin is loaded: amqtt's default logging and $SYS plugins cost 25-35 % throughput.

Use as ``async with EmbeddedBroker() as broker:`` or run :meth:`EmbeddedBroker.serve` as a named task of a
TaskGroup.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Final, Self

from amqtt.broker import Broker

from sensor.config import BrokerConfig
from sensor.errors import BrokerError

log = logging.getLogger(__name__)

HOST: Final = "127.0.0.1"
PREFERRED_TCP_PORTS: Final[tuple[int, ...]] = (1883,)
PREFERRED_WS_PORTS: Final[tuple[int, ...]] = (8083, 9001)
WS_PATH: Final = "/"

# Anonymous access only on loopback; no EventLogger/PacketLogger/$SYS plugins (measured cost 25-35 %).
_PLUGINS: Final[dict[str, Any]] = {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}}


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
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        # as the listener itself does (asyncio's reuse_address): connections of a just-stopped broker linger in
        # TIME_WAIT and must not make its port look taken
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def _choose(preferred: Sequence[int]) -> int:
    for p in preferred:
        if p and port_is_free(p):
            return p
    return 0


class EmbeddedBroker:
    """amqtt on 127.0.0.1 with TCP and websockets listeners.

    Args:
        tcp_ports, ws_ports: ports to try in order; when all are taken the OS picks a free one. ``(0,)`` always
            picks a free port (tests).
        websockets: also open the websockets listener.
    """

    def __init__(
        self,
        *,
        tcp_ports: Sequence[int] = PREFERRED_TCP_PORTS,
        ws_ports: Sequence[int] = PREFERRED_WS_PORTS,
        websockets: bool = True,
    ) -> None:
        self._tcp_ports = tuple(tcp_ports)
        self._ws_ports = tuple(ws_ports)
        self._websockets = websockets
        self._broker: Broker | None = None
        self.tcp_port: int | None = None
        self.ws_port: int | None = None
        self.taken_tcp: list[int] = []
        self.taken_ws: list[int] = []

    @property
    def tcp_url(self) -> str:
        if self.tcp_port is None:
            raise RuntimeError("the embedded broker is not running")
        return f"mqtt://{HOST}:{self.tcp_port}"

    @property
    def ws_url(self) -> str | None:
        return None if self.ws_port is None else f"ws://{HOST}:{self.ws_port}{WS_PATH}"

    @property
    def connections(self) -> int:
        """Client connections open now (including ones still in their MQTT handshake)."""
        if self._broker is None:
            return 0
        return sum(max(server.conn_count, 0) for server in self._broker._servers.values())

    def _config(self, tcp_port: int, ws_port: int | None) -> dict[str, Any]:
        listeners: dict[str, Any] = {"default": {"type": "tcp", "bind": f"{HOST}:{tcp_port}"}}
        if ws_port is not None:
            listeners["ws"] = {"type": "ws", "bind": f"{HOST}:{ws_port}"}
        return {"listeners": listeners, "plugins": dict(_PLUGINS)}

    async def start(self) -> None:
        if self._broker is not None:
            raise RuntimeError("the embedded broker is already running")
        tcp = _choose(self._tcp_ports)
        ws = _choose(self._ws_ports) if self._websockets else None
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
                    f"the embedded broker could not start on {HOST} ({exc}); pass --broker mqtt://host:1883 to use "
                    "an existing broker",
                    url=f"mqtt://{HOST}:{tcp}",
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
        if broker is not None:
            await broker.shutdown()
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
    async with EmbeddedBroker() as broker:
        yield BrokerEndpoint(url=broker.tcp_url, ws_url=broker.ws_url, embedded=broker)


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


def describe(broker: EmbeddedBroker) -> str:
    """One human line: where the embedded broker listens and how to use an existing broker instead."""
    ws = f", websockets {broker.ws_url}" if broker.ws_url else ""
    text = f"embedded MQTT broker (amqtt, MQTT 3.1.1) on {broker.tcp_url}{ws}"
    busy = [*broker.taken_tcp, *broker.taken_ws]
    if busy:
        text += f"; port(s) {', '.join(str(p) for p in busy)} already in use"
    if broker.taken_tcp:
        text += f" (another broker?): to publish there instead, run with --broker mqtt://{HOST}:{broker.taken_tcp[0]}"
    return text
