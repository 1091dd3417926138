"""Real brokers for the MQTT tests: the system Mosquitto on 127.0.0.1:1883, private Mosquitto instances on free
ports (password file, TLS, persistence; started and stopped by the test, never the system one), and a
subscriber that collects messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import json
import shutil
import signal
import socket
import ssl
import subprocess
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiomqtt

MOSQUITTO = shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None)
MOSQUITTO_PASSWD = shutil.which("mosquitto_passwd")
OPENSSL = shutil.which("openssl")


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        try:
            s.connect((host, port))
        except OSError:
            return False
    return True


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def unique_prefix() -> str:
    return f"hstest-{uuid.uuid4().hex[:10]}"


@dataclass
class PrivateMosquitto:
    """A mosquitto process of our own on a free port, with a temp config; ``stop``/``start`` for restarts."""

    workdir: Path
    port: int = field(default_factory=free_port)
    password_file: Path | None = None
    tls: tuple[Path, Path, Path] | None = None  # (ca, cert, key)
    persistence: bool = False
    proc: subprocess.Popen[bytes] | None = None

    def write_config(self) -> Path:
        # run as ourselves: mosquitto started as root otherwise switches to user "mosquitto", which cannot read
        # the test's temp directory
        lines = [
            f"user {getpass.getuser()}",
            "per_listener_settings false",
            f"listener {self.port} 127.0.0.1",
            "log_dest stderr",
            "log_type error",
        ]
        if self.password_file is not None:
            lines += ["allow_anonymous false", f"password_file {self.password_file}"]
        else:
            lines += ["allow_anonymous true"]
        if self.tls is not None:
            ca, cert, key = self.tls
            lines += [f"cafile {ca}", f"certfile {cert}", f"keyfile {key}"]
        if self.persistence:
            lines += ["persistence true", f"persistence_location {self.workdir}/", "autosave_interval 0"]
        conf = self.workdir / "mosquitto.conf"
        conf.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return conf

    def start(self) -> None:
        assert MOSQUITTO is not None
        conf = self.write_config()
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while not port_open(self.port):
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                raise RuntimeError(f"private mosquitto exited: {err}")
            if time.monotonic() > deadline:
                raise RuntimeError("private mosquitto did not open its port")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)  # SIGTERM: mosquitto saves its persistence file
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stderr is not None:
            self.proc.stderr.close()
        self.proc = None

    @property
    def url(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://127.0.0.1:{self.port}"


def make_password_file(workdir: Path, user: str, password: str) -> Path:
    assert MOSQUITTO_PASSWD is not None
    p = workdir / "passwd"
    subprocess.run([MOSQUITTO_PASSWD, "-b", "-c", str(p), user, password], check=True, capture_output=True)
    return p


def make_tls_files(workdir: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for 127.0.0.1 / localhost (openssl CLI)."""
    assert OPENSSL is not None
    ca_key, ca, key, csr, cert = (workdir / n for n in ("ca.key", "ca.pem", "server.key", "server.csr", "server.pem"))
    ext = workdir / "ext.cnf"
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n", encoding="utf-8")

    def run(*args: str) -> None:
        subprocess.run([OPENSSL, *args], check=True, capture_output=True)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(ca_key), "-out", str(ca), "-days", "2",
        "-subj", "/CN=hipsense-test-ca")  # fmt: skip
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr), "-subj", "/CN=127.0.0.1")
    run("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial", "-out", str(cert),
        "-days", "2", "-extfile", str(ext))  # fmt: skip
    return ca, cert, key


@dataclass
class Received:
    topic: str
    payload: bytes
    retain: bool
    t_unix_s: float

    def json(self) -> Any:
        return json.loads(self.payload)


class Collector:
    """A subscriber that keeps every message it receives (reconnecting with a persistent session if asked)."""

    def __init__(
        self,
        url_host: str,
        port: int,
        topic: str,
        *,
        persistent_id: str | None = None,
        auth: tuple[str, str] | None = None,
        tls_ca: Path | None = None,
    ) -> None:
        self.host, self.port, self.topic = url_host, port, topic
        self.persistent_id = persistent_id
        self.auth = auth
        self.tls = ssl.create_default_context(cafile=str(tls_ca)) if tls_ca else None
        self.messages: list[Received] = []
        self.subscribed = asyncio.Event()
        self._changed = asyncio.Event()

    def on(self, suffix: str) -> list[Received]:
        return [m for m in self.messages if m.topic.endswith("/" + suffix)]

    async def wait_for(self, predicate: Any, timeout_s: float = 15.0) -> None:
        async def loop() -> None:
            while not predicate(self):
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(loop(), timeout_s)

    async def run(self) -> None:
        """Receive until cancelled; with ``persistent_id`` it reconnects (clean_session false) after broker loss."""
        while True:
            try:
                async with aiomqtt.Client(
                    self.host,
                    self.port,
                    identifier=self.persistent_id,
                    clean_session=False if self.persistent_id else None,
                    protocol=aiomqtt.ProtocolVersion.V311,
                    username=self.auth[0] if self.auth else None,
                    password=self.auth[1] if self.auth else None,
                    tls_context=self.tls,
                ) as client:
                    await client.subscribe(self.topic, qos=1)
                    self.subscribed.set()
                    async for m in client.messages:
                        payload = m.payload if isinstance(m.payload, bytes) else str(m.payload).encode()
                        self.messages.append(Received(str(m.topic), payload, bool(m.retain), time.time()))
                        self._changed.set()
            except aiomqtt.MqttError:
                self.subscribed.clear()
                if self.persistent_id is None:
                    raise
                await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def collecting(host: str, port: int, topic: str, **kwargs: Any) -> AsyncIterator[Collector]:
    c = Collector(host, port, topic, **kwargs)
    async with asyncio.TaskGroup() as tg:
        task = tg.create_task(c.run(), name=f"collector[{topic}]")
        await asyncio.wait_for(c.subscribed.wait(), 10)
        try:
            yield c
        finally:
            task.cancel()
