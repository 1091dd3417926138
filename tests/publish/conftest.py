"""Fixtures: the system Mosquitto (127.0.0.1:1883), the embedded amqtt on free ports, private Mosquittos."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from sensor.publish.embedded_broker import EmbeddedBroker
from sensor.sessions.store import Store

from .brokers import (
    MOSQUITTO,
    MOSQUITTO_PASSWD,
    OPENSSL,
    PrivateMosquitto,
    make_password_file,
    make_tls_files,
    port_open,
    unique_prefix,
)


@pytest.fixture
def mosquitto_url() -> str:
    if not port_open(1883):
        pytest.skip("Mosquitto is not running on 127.0.0.1:1883 (bash .ci/services starts it)")
    return "mqtt://127.0.0.1:1883"


@pytest.fixture
async def amqtt_broker() -> AsyncIterator[EmbeddedBroker]:
    async with EmbeddedBroker(tcp_ports=(0,), ws_ports=(0,)) as broker:
        yield broker


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """The real session store: its SQLite outbox is what the publisher flushes."""
    s = Store(tmp_path / "sessions.db")
    yield s
    s.close()


def outbox_counts(store: Store) -> tuple[int, int]:
    """(rows, delivered rows) of the store's outbox."""
    with sqlite3.connect(store.path) as c:
        n, delivered = c.execute("SELECT count(*), count(delivered_s) FROM outbox").fetchone()
    return int(n), int(delivered)


@pytest.fixture
def prefix() -> str:
    return unique_prefix()


@pytest.fixture
def private_mosquitto(tmp_path: Path) -> Iterator[Callable[..., PrivateMosquitto]]:
    if MOSQUITTO is None:
        pytest.skip("mosquitto binary not installed")
    started: list[PrivateMosquitto] = []

    def make(*, user: tuple[str, str] | None = None, tls: bool = False, persistence: bool = False) -> PrivateMosquitto:
        workdir = tmp_path / f"mosq{len(started)}"
        workdir.mkdir()
        if tls and OPENSSL is None:
            pytest.skip("openssl CLI not installed (needed to make test certificates)")
        if user is not None and MOSQUITTO_PASSWD is None:
            pytest.skip("mosquitto_passwd not installed")
        m = PrivateMosquitto(
            workdir=workdir,
            password_file=make_password_file(workdir, *user) if user else None,
            tls=make_tls_files(workdir) if tls else None,
            persistence=persistence,
        )
        m.start()
        started.append(m)
        return m

    yield make
    for m in started:
        m.stop()
