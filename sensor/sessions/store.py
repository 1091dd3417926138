"""The session store: one SQLite file (stdlib ``sqlite3``, WAL) holding every session.

Why SQLite: one file in the user's data directory, transactions that survive a crash, readers that see a session
while it is being written (WAL), and no server. Why ``synchronous=FULL``: in WAL mode ``NORMAL`` is durable
against a crash of the *process* but not against power loss (the WAL is only fsynced at checkpoints, so a power
cut could drop every transaction since the last checkpoint: minutes of data). ``FULL`` fsyncs the WAL at every
commit; the recorder commits about twice a second, so the cost is two fsyncs a second and the loss bound
(at most the last second) holds for power loss too. ``durability="normal"`` is offered for benchmarks.

Layout (schema version :data:`SCHEMA_VERSION`; migrations are listed in :data:`MIGRATIONS` and recorded in
``schema_migrations``)::

    sessions(session_key PK, uid UNIQUE, name, source_kind, started_s, ended_s, meta_json, created_s)
    session_tags(session_key, tag)                        PRIMARY KEY (session_key, tag)
    session_notes(note_key PK, session_key, created_s, t_s, text)
    session_sensors(sensor_key PK, session_key, sensor_id, sensor_type, protocol_version, sampling_rate_hz,
                    acc_range_g, gyr_range_dps, mounting, firmware, model, meta_json,
                    n_frames, first_host_t_s, last_host_t_s)   UNIQUE (session_key, sensor_id)
    channels(channel_key PK, name UNIQUE)                 BLE characteristic UUIDs or codec channel names
    frames(id PK, session_key, sensor_key, seq, host_t_s, channel_key, payload BLOB)
                                                          UNIQUE (sensor_key, seq); rowid order = arrival order
    events(id PK, session_key, sensor_key, seq, event_id UNIQUE, kind, t_s, body_json)
    outbox(id PK AUTOINCREMENT, session_uid, topic, payload, event_id UNIQUE, created_s, delivered_s)

Times ending ``_s`` are seconds since the Unix epoch (host clock) except ``events.t_s``, which is in the
pipeline's time base. ``seq`` counts each sensor's frames (and events) from 0 without gaps, so a gap after damage
shows exactly what was lost.

All methods are thread-safe (one connection guarded by a lock), so the recorder can commit from a worker thread
while the event loop keeps receiving.
"""

from __future__ import annotations

import difflib
import json
import logging
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from sensor.config import load_config
from sensor.crashpoints import crash_point
from sensor.errors import SessionNotFoundError, StoreError
from sensor.events import Event
from sensor.model import RawFrame

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
SourceKind = Literal["live", "import", "replay", "demo", "sim"]
Durability = Literal["full", "normal"]

MIGRATIONS: tuple[tuple[int, str, str], ...] = (
    (
        1,
        "initial layout",
        """
        CREATE TABLE sessions(
            session_key INTEGER PRIMARY KEY,
            uid TEXT NOT NULL UNIQUE,
            name TEXT,
            source_kind TEXT NOT NULL,
            started_s REAL NOT NULL,
            ended_s REAL,
            meta_json TEXT NOT NULL DEFAULT '{}',
            created_s REAL NOT NULL
        );
        CREATE INDEX sessions_name ON sessions(name);
        CREATE TABLE session_tags(
            session_key INTEGER NOT NULL REFERENCES sessions(session_key) ON DELETE CASCADE,
            tag TEXT NOT NULL,
            PRIMARY KEY (session_key, tag)
        );
        CREATE TABLE session_notes(
            note_key INTEGER PRIMARY KEY,
            session_key INTEGER NOT NULL REFERENCES sessions(session_key) ON DELETE CASCADE,
            created_s REAL NOT NULL,
            t_s REAL,
            text TEXT NOT NULL
        );
        CREATE INDEX session_notes_session ON session_notes(session_key);
        CREATE TABLE session_sensors(
            sensor_key INTEGER PRIMARY KEY,
            session_key INTEGER NOT NULL REFERENCES sessions(session_key) ON DELETE CASCADE,
            sensor_id TEXT NOT NULL,
            sensor_type TEXT NOT NULL,
            protocol_version INTEGER,
            sampling_rate_hz REAL,
            acc_range_g REAL,
            gyr_range_dps REAL,
            mounting TEXT,
            firmware TEXT,
            model TEXT,
            meta_json TEXT NOT NULL DEFAULT '{}',
            n_frames INTEGER NOT NULL DEFAULT 0,
            first_host_t_s REAL,
            last_host_t_s REAL,
            UNIQUE (session_key, sensor_id)
        );
        CREATE TABLE channels(channel_key INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
        CREATE TABLE frames(
            id INTEGER PRIMARY KEY,
            session_key INTEGER NOT NULL REFERENCES sessions(session_key) ON DELETE CASCADE,
            sensor_key INTEGER NOT NULL REFERENCES session_sensors(sensor_key) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            host_t_s REAL NOT NULL,
            channel_key INTEGER NOT NULL REFERENCES channels(channel_key),
            payload BLOB NOT NULL
        );
        CREATE INDEX frames_session ON frames(session_key);
        CREATE UNIQUE INDEX frames_sensor_seq ON frames(sensor_key, seq);
        CREATE TABLE events(
            id INTEGER PRIMARY KEY,
            session_key INTEGER NOT NULL REFERENCES sessions(session_key) ON DELETE CASCADE,
            sensor_key INTEGER NOT NULL REFERENCES session_sensors(sensor_key) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            event_id TEXT NOT NULL UNIQUE,
            kind TEXT NOT NULL,
            t_s REAL,
            body_json TEXT NOT NULL
        );
        CREATE INDEX events_session ON events(session_key, kind);
        CREATE TABLE outbox(
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            session_uid TEXT,
            topic TEXT NOT NULL,
            payload TEXT NOT NULL,
            event_id TEXT NOT NULL UNIQUE,
            created_s REAL NOT NULL,
            delivered_s REAL
        );
        CREATE INDEX outbox_pending ON outbox(id) WHERE delivered_s IS NULL;
        """,
    ),
)

_EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)


# --------------------------------------------------------------------------------------------- models
class SensorMeta(BaseModel):
    """What a session knows about one of its sensors (given when the session starts)."""

    model_config = ConfigDict(extra="forbid")

    sensor_id: str = Field(min_length=1)
    sensor_type: str = Field(min_length=1, description="codec name: hipsense_v1, witmotion, polar, imu_f64 ...")
    protocol_version: int | None = None
    sampling_rate_hz: float | None = Field(default=None, gt=0)
    acc_range_g: float | None = Field(default=None, gt=0)
    gyr_range_dps: float | None = Field(default=None, gt=0)
    mounting: str | None = None
    firmware: str | None = None
    model: str | None = None
    meta: dict[str, Any] = Field(default_factory=dict, description="anything else (address, phone model ...)")


class SensorInfo(SensorMeta):
    """A sensor of a stored session with its frame counters."""

    n_frames: int = 0
    first_host_t_s: float | None = None
    last_host_t_s: float | None = None


class NoteInfo(BaseModel):
    created_s: float
    t_s: float | None = None
    text: str


class SessionInfo(BaseModel):
    """A stored session as ``hipsense show`` and ``hipsense sessions`` see it."""

    id: str
    name: str | None
    source_kind: str
    started_s: float
    ended_s: float | None
    duration_s: float | None = Field(description="from start to end (or to the last frame if it never ended), s")
    tags: list[str]
    notes: list[NoteInfo]
    sensors: list[SensorInfo]
    event_counts: dict[str, int]
    meta: dict[str, Any]


@dataclass(frozen=True, slots=True)
class PendingEvent:
    """An event on its way into the store, with its id and the MQTT message to queue in the same transaction."""

    sensor_id: str
    event_id: str
    event: Event
    outbox: tuple[str, str] | None = None  # (topic, payload_json)


@dataclass(frozen=True, slots=True)
class StoredEvent:
    session_id: str
    sensor_id: str
    seq: int
    event_id: str
    event: Event


@dataclass(frozen=True, slots=True)
class OutboxItem:
    id: int
    session_id: str | None
    topic: str
    payload: str
    event_id: str
    created_s: float


@dataclass(slots=True)
class SensorLoss:
    """What salvage found for one sensor: frames recovered vs the frame counter the recorder kept."""

    sensor_id: str
    recovered: int = 0
    expected: int | None = None
    missing_seq_ranges: list[tuple[int, int]] = field(default_factory=list)

    @property
    def lost(self) -> int:
        return sum(b - a + 1 for a, b in self.missing_seq_ranges)


@dataclass(slots=True)
class LossReport:
    """What a damaged store still held for a session and what was lost (see :meth:`Store.salvage_frames`)."""

    path: str
    session_id: str
    integrity: list[str] = field(default_factory=list)
    unreadable_row_ranges: list[tuple[int, int]] = field(default_factory=list)
    damaged_rows: int = 0
    sensors: dict[str, SensorLoss] = field(default_factory=dict)
    events_recovered: int = 0
    events_unreadable: int = 0

    @property
    def frames_recovered(self) -> int:
        return sum(s.recovered for s in self.sensors.values())

    @property
    def frames_lost(self) -> int:
        return sum(s.lost for s in self.sensors.values())

    def describe(self) -> str:
        lines = [f"store {self.path} is damaged; session {self.session_id}: read what is intact"]
        for s in self.sensors.values():
            exp = "unknown" if s.expected is None else str(s.expected)
            gaps = ", ".join(f"{a}-{b}" for a, b in s.missing_seq_ranges[:8])
            more = " ..." if len(s.missing_seq_ranges) > 8 else ""
            lines.append(
                f"  sensor {s.sensor_id}: recovered {s.recovered} of {exp} frames, lost {s.lost}"
                + (f" (frame seq {gaps}{more})" if gaps else "")
            )
        if self.unreadable_row_ranges:
            n = sum(b - a + 1 for a, b in self.unreadable_row_ranges)
            spans = ", ".join(f"{a}-{b}" for a, b in self.unreadable_row_ranges[:4])
            lines.append(
                f"  {n} row ids ({spans}) sit on damaged pages and could not be read (ids past the end of "
                "a truncated file may never have existed)"
            )
        if self.damaged_rows:
            lines.append(f"  {self.damaged_rows} rows were readable but garbled and were skipped")
        lines.append(f"  events: {self.events_recovered} recovered, {self.events_unreadable} unreadable row ids")
        msgs = [m for text in self.integrity for m in text.splitlines() if m.strip() and not m.startswith("***")]
        if msgs:
            more = f" (and {len(msgs) - 3} more)" if len(msgs) > 3 else ""
            lines.append("  sqlite integrity_check: " + "; ".join(msgs[:3]) + more)
        return "\n".join(lines)


# --------------------------------------------------------------------------------------------- errors
_SQLITE_BUSY, _SQLITE_READONLY, _SQLITE_CORRUPT, _SQLITE_CANTOPEN, _SQLITE_FULL, _SQLITE_NOTADB = 5, 8, 11, 14, 13, 26
_SQLITE_IOERR = 10


def store_error(exc: BaseException, path: Path, action: str) -> StoreError:
    """Map a sqlite3/OS error to a :class:`StoreError` that names the path and the fix."""
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    text = str(exc)
    where = f"session store {path}"
    safe = "everything committed before is safe"
    if primary == _SQLITE_FULL or "disk is full" in text or getattr(exc, "errno", None) == 28:
        msg = (
            f"{where}: the disk is full (or the store's size limit is reached) while {action}; {safe}. "
            "Free disk space, or move the store with `store_path` in the config file / HIPSENSE_STORE_PATH, "
            "then start again"
        )
    elif (
        primary in (_SQLITE_READONLY, _SQLITE_CANTOPEN, _SQLITE_IOERR) or getattr(exc, "errno", None) == 30
    ) and _on_read_only_file_system(path):
        msg = (
            f"{where}: the file system holding {path.parent} is mounted read-only while {action} ({text}); "
            "remount it read-write, or set `store_path` in the config file / HIPSENSE_STORE_PATH to a writable "
            f"place; {safe}"
        )
    elif (
        primary in (_SQLITE_READONLY, _SQLITE_CANTOPEN)
        or "readonly" in text
        or "unable to open" in text
        or (isinstance(exc, OSError) and not isinstance(exc, sqlite3.Error))
    ):
        msg = (
            f"{where}: cannot write the file or its directory {path.parent} while {action} ({text}); "
            "make both writable (e.g. `chmod u+w`), or set `store_path` in the config file / HIPSENSE_STORE_PATH "
            f"to a writable place; {safe}"
        )
    elif primary in (_SQLITE_CORRUPT, _SQLITE_NOTADB) or "malformed" in text or "not a database" in text:
        msg = (
            f"{where} is damaged ({text}) while {action}; `hipsense replay` and `hipsense export` still read what is "
            "intact and report what was lost; export the sessions you need, then move the file away"
        )
    elif primary == _SQLITE_BUSY or "locked" in text:
        msg = (
            f"{where} is locked by another writer while {action}; stop the other hipsense process that records "
            "into it, or give this one its own store_path"
        )
    else:
        msg = f"{where}: {text} while {action}"
    return StoreError(msg, path=str(path))


def _on_read_only_file_system(path: Path) -> bool:
    """Whether the nearest existing directory of ``path`` is on a file system mounted read-only (POSIX only)."""
    statvfs = getattr(os, "statvfs", None)
    if statvfs is None:
        return False
    d = path.parent
    while not d.exists() and d != d.parent:
        d = d.parent
    try:
        return bool(statvfs(d).f_flag & getattr(os, "ST_RDONLY", 1))
    except OSError:
        return False


def _frame_row_ok(r: tuple[Any, ...], sensors: dict[int, str], session_key: int) -> bool:
    """A salvaged frames row is used only when every column has its type (a half-overwritten page can hand
    back rows of NULLs or garbage)."""
    return (
        r[1] == session_key
        and isinstance(r[2], int)
        and r[2] in sensors
        and isinstance(r[3], int)
        and r[3] >= 0
        and isinstance(r[4], float)
        and isinstance(r[5], int)
        and isinstance(r[6], bytes)
    )


def _event_t_s(ev: Event) -> float | None:
    t = getattr(ev, "t_s", None)
    if t is None:
        t = getattr(ev, "t_start_s", None)
    return None if t is None else float(t)


def new_session_uid() -> str:
    """A 16-hex-digit random id (64 bits): unique across installs, short enough to type a prefix of."""
    return uuid.uuid4().hex[:16]


def _uri(path: Path, *, readonly: bool, immutable: bool = False) -> str:
    # as_uri() percent-encodes '?', '#' and spaces, which a plain "file:" + path would misread
    return path.absolute().as_uri() + ("?mode=ro" if readonly else "") + ("&immutable=1" if immutable else "")


def default_store_path() -> Path:
    """``store_path`` of the config file (or ``HIPSENSE_STORE_PATH``), else ``<data dir>/sessions.db``."""
    return load_config().resolved_store_path()


# --------------------------------------------------------------------------------------------- store
class Store:
    """The session store. Open it with ``Store(path)`` (or ``Store()`` for the configured default) and close it.

    Args:
        path: the SQLite file; created with its directory when missing.
        durability: ``"full"`` (default, see the module docstring) or ``"normal"``.
        readonly: open without writing anything (for readers of a store another process records into).
        max_pages: cap the file size at this many pages (SQLite ``max_page_count``); writing past it fails
            like a full disk. For small devices and tests.
    """

    def __init__(
        self,
        path: Path | str | None = None,
        *,
        durability: Durability = "full",
        readonly: bool = False,
        max_pages: int | None = None,
    ) -> None:
        self.path = Path(path) if path is not None else default_store_path()
        self.readonly = readonly
        self._lock = threading.RLock()
        self._next_seq: dict[int, int] = {}
        self._next_event_seq: dict[int, int] = {}
        self._channel_keys: dict[str, int] = {}
        try:
            if not readonly:
                # a new data directory is private: recordings are health data (an existing one is kept as it is)
                self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            elif not self.path.exists():
                raise StoreError(
                    f"session store {self.path} does not exist; record or import a session first, or pass the "
                    "right --store",
                    path=str(self.path),
                )
            uri = _uri(self.path, readonly=readonly)
            self._conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False, timeout=10.0)
        except (sqlite3.Error, OSError) as exc:
            if isinstance(exc, StoreError):
                raise
            raise store_error(exc, self.path, "opening it") from exc
        self.damaged = False
        try:
            self._conn.execute("PRAGMA foreign_keys=ON")
            self._conn.execute("PRAGMA busy_timeout=10000")
            try:
                if not readonly:
                    self._conn.execute("PRAGMA journal_mode").fetchone()
            except sqlite3.DatabaseError as exc:
                if getattr(exc, "sqlite_errorcode", 0) & 0xFF != _SQLITE_CORRUPT:
                    raise
                # A damaged file (typically truncated: the header promises more pages than the file has, which
                # SQLite refuses unless writable_schema is on). Reopen it read-only for salvage; never write to it.
                log.warning("session store %s is damaged (%s); opening it read-only for salvage", self.path, exc)
                self.damaged = True
                self.readonly = readonly = True
                self._conn.close()
                self._conn = sqlite3.connect(
                    _uri(self.path, readonly=True), uri=True, isolation_level=None, check_same_thread=False
                )
                self._conn.execute("PRAGMA writable_schema=ON")
            if not readonly:
                mode = self._conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
                if str(mode).lower() != "wal":
                    log.warning(
                        "store %s: journal mode %s instead of WAL (file system without shared memory?)", self.path, mode
                    )
                self._conn.execute(f"PRAGMA synchronous={durability.upper()}")
                if max_pages is not None:
                    self._conn.execute(f"PRAGMA max_page_count={int(max_pages)}")
                self._migrate()
            else:
                self._check_version()
        except sqlite3.Error as exc:
            self._conn.close()
            if not (readonly and _on_read_only_file_system(self.path)):
                raise store_error(exc, self.path, "opening it") from exc
            # A WAL store on a read-only medium: SQLite cannot create the -shm file a WAL reader needs. Nobody can
            # write the file there either, so reading it as immutable is safe (a WAL left by a crash stays unread).
            log.info("session store %s is on a read-only file system; reading it as immutable", self.path)
            wal = self.path.with_name(self.path.name + "-wal")
            if wal.exists() and wal.stat().st_size > 0:
                log.warning(
                    "session store %s: its write-ahead log %s (commits not yet copied into the store) cannot be read "
                    "on a read-only file system; copy both files to a writable place to see those commits too",
                    self.path,
                    wal,
                )
            try:
                self._conn = sqlite3.connect(
                    _uri(self.path, readonly=True, immutable=True), uri=True, isolation_level=None,
                    check_same_thread=False,
                )  # fmt: skip
                self._check_version()
            except sqlite3.Error as exc2:
                self._conn.close()
                raise store_error(exc2, self.path, "opening it") from exc2

    # lifecycle ------------------------------------------------------------------------------------
    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _migrate(self) -> None:
        with self._lock:
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations("
                "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_s REAL NOT NULL)"
            )
            current = self._check_version()
            for version, name, sql in MIGRATIONS:
                if version <= current:
                    continue
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    for stmt in sql.split(";"):
                        if stmt.strip():
                            self._conn.execute(stmt)
                    self._conn.execute(
                        "INSERT INTO schema_migrations(version, name, applied_s) VALUES (?, ?, ?)",
                        (version, name, time.time()),
                    )
                    self._conn.execute("COMMIT")
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise

    def _check_version(self) -> int:
        try:
            row = self._conn.execute("SELECT max(version) FROM schema_migrations").fetchone()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                if self.readonly:
                    raise StoreError(
                        f"{self.path} is not a HipSense session store (no schema_migrations table); pass the "
                        "right --store",
                        path=str(self.path),
                    ) from exc
                return 0
            raise
        version = int(row[0] or 0)
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"session store {self.path} has schema version {version}, newer than this HipSense knows "
                f"({SCHEMA_VERSION}); upgrade hipsense",
                path=str(self.path),
            )
        return version

    @property
    def schema_version(self) -> int:
        with self._lock:
            return self._check_version()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on any error, mapped to :class:`StoreError`)."""
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise store_error(exc, self.path, "starting a write") from exc
            try:
                yield self._conn
                crash_point("store.commit")  # test hook (kill -9 campaign); a no-op in normal use
                self._conn.execute("COMMIT")
            except BaseException as exc:
                try:
                    if self._conn.in_transaction:
                        self._conn.execute("ROLLBACK")
                except sqlite3.Error:
                    log.exception("rollback failed on %s", self.path)
                # the cached counters may be ahead of what is now in the file
                self._next_seq.clear()
                self._next_event_seq.clear()
                self._channel_keys.clear()
                if isinstance(exc, sqlite3.Error):
                    raise store_error(exc, self.path, "writing") from exc
                raise

    # sessions -------------------------------------------------------------------------------------
    def create_session(
        self,
        *,
        name: str | None = None,
        source_kind: SourceKind = "live",
        started_s: float | None = None,
        sensors: Iterable[SensorMeta] = (),
        tags: Iterable[str] = (),
        meta: dict[str, Any] | None = None,
        uid: str | None = None,
    ) -> str:
        """Create a session (and its sensors) and return its id."""
        sid = uid or new_session_uid()
        with self.transaction() as c:
            self._insert_session(c, sid, name, source_kind, started_s, sensors, tags, meta)
        return sid

    def _insert_session(
        self,
        c: sqlite3.Connection,
        sid: str,
        name: str | None,
        source_kind: str,
        started_s: float | None,
        sensors: Iterable[SensorMeta],
        tags: Iterable[str],
        meta: dict[str, Any] | None,
    ) -> int:
        now = time.time()
        if c.execute("SELECT 1 FROM sessions WHERE uid=?", (sid,)).fetchone():
            raise StoreError(
                f"session id {sid} already exists in {self.path}; import it again to get a new id", path=str(self.path)
            )
        cur = c.execute(
            "INSERT INTO sessions(uid, name, source_kind, started_s, meta_json, created_s) VALUES (?,?,?,?,?,?)",
            (sid, name, source_kind, now if started_s is None else started_s, json.dumps(meta or {}), now),
        )
        key = int(cur.lastrowid or 0)
        for s in sensors:
            self._insert_sensor(c, key, s)
        for t in tags:
            c.execute("INSERT OR IGNORE INTO session_tags(session_key, tag) VALUES (?,?)", (key, t))
        return key

    def _insert_sensor(self, c: sqlite3.Connection, session_key: int, s: SensorMeta) -> int:
        cur = c.execute(
            "INSERT INTO session_sensors(session_key, sensor_id, sensor_type, protocol_version, sampling_rate_hz,"
            " acc_range_g, gyr_range_dps, mounting, firmware, model, meta_json) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (
                session_key,
                s.sensor_id,
                s.sensor_type,
                s.protocol_version,
                s.sampling_rate_hz,
                s.acc_range_g,
                s.gyr_range_dps,
                s.mounting,
                s.firmware,
                s.model,
                json.dumps(s.meta),
            ),
        )
        return int(cur.lastrowid or 0)

    def add_sensor(self, session_id: str, sensor: SensorMeta) -> None:
        with self.transaction() as c:
            self._insert_sensor(c, self._session_key(c, session_id), sensor)

    def end_session(self, session_id: str, ended_s: float | None = None) -> None:
        with self.transaction() as c:
            c.execute(
                "UPDATE sessions SET ended_s=? WHERE uid=?", (time.time() if ended_s is None else ended_s, session_id)
            )

    def delete_session(self, session_id: str) -> None:
        with self.transaction() as c:
            key = self._session_key(c, session_id)
            # children first: explicit deletes are faster than cascading through foreign keys row by row
            for table in ("frames", "events", "session_notes", "session_tags", "session_sensors"):
                c.execute(f"DELETE FROM {table} WHERE session_key=?", (key,))
            c.execute("DELETE FROM sessions WHERE session_key=?", (key,))

    def add_note(self, session_id: str, text: str, *, t_s: float | None = None) -> None:
        with self.transaction() as c:
            c.execute(
                "INSERT INTO session_notes(session_key, created_s, t_s, text) VALUES (?,?,?,?)",
                (self._session_key(c, session_id), time.time(), t_s, text),
            )

    def add_tags(self, session_id: str, tags: Iterable[str]) -> None:
        with self.transaction() as c:
            key = self._session_key(c, session_id)
            for t in tags:
                c.execute("INSERT OR IGNORE INTO session_tags(session_key, tag) VALUES (?,?)", (key, t))

    def remove_tags(self, session_id: str, tags: Iterable[str]) -> None:
        with self.transaction() as c:
            key = self._session_key(c, session_id)
            for t in tags:
                c.execute("DELETE FROM session_tags WHERE session_key=? AND tag=?", (key, t))

    def _session_key(self, c: sqlite3.Connection, session_id: str) -> int:
        row = c.execute("SELECT session_key FROM sessions WHERE uid=?", (session_id,)).fetchone()
        if row is None:
            raise SessionNotFoundError(
                f"no session with id {session_id!r} in {self.path}; list them with `hipsense sessions`",
                session=session_id,
            )
        return int(row[0])

    def resolve(self, query: str) -> str:
        """The id of the session named by ``query``: an id, a unique id prefix, or a unique name."""
        with self._lock:
            rows = self._conn.execute("SELECT uid, name FROM sessions ORDER BY started_s").fetchall()
        ids = [str(r[0]) for r in rows]
        if query in ids:
            return query
        by_name = [str(r[0]) for r in rows if r[1] == query]
        if len(by_name) == 1:
            return by_name[0]
        by_prefix = [i for i in ids if i.startswith(query)] if query else []
        if len(by_prefix) == 1 and not by_name:
            return by_prefix[0]
        if len(by_name) > 1 or len(by_prefix) > 1:
            cands = by_name or by_prefix
            raise SessionNotFoundError(
                f"session {query!r} is ambiguous: it matches {len(cands)} sessions ({', '.join(cands[:6])}); "
                "give more of the id",
                session=query,
            )
        names = [str(r[1]) for r in rows if r[1]]
        near = difflib.get_close_matches(query, ids + names, n=5, cutoff=0.5)
        hint = f"; did you mean {', '.join(near)}?" if near else "; list them with `hipsense sessions`"
        raise SessionNotFoundError(
            f"no session matches {query!r} (by id, id prefix or name) in {self.path}{hint}", session=query
        )

    def session_ids(self) -> list[str]:
        with self._lock:
            return [str(r[0]) for r in self._conn.execute("SELECT uid FROM sessions ORDER BY started_s, session_key")]

    def get_session(self, session_id: str) -> SessionInfo:
        with self._lock:
            c = self._conn
            row = c.execute(
                "SELECT session_key, uid, name, source_kind, started_s, ended_s, meta_json FROM sessions WHERE uid=?",
                (session_id,),
            ).fetchone()
            if row is None:
                self._session_key(c, session_id)  # raises the not-found error
            key = int(row[0])
            tags = [
                str(r[0]) for r in c.execute("SELECT tag FROM session_tags WHERE session_key=? ORDER BY tag", (key,))
            ]
            notes = [
                NoteInfo(created_s=r[0], t_s=r[1], text=r[2])
                for r in c.execute(
                    "SELECT created_s, t_s, text FROM session_notes WHERE session_key=? ORDER BY note_key", (key,)
                )
            ]
            sensors = [
                SensorInfo(
                    sensor_id=r[0],
                    sensor_type=r[1],
                    protocol_version=r[2],
                    sampling_rate_hz=r[3],
                    acc_range_g=r[4],
                    gyr_range_dps=r[5],
                    mounting=r[6],
                    firmware=r[7],
                    model=r[8],
                    meta=json.loads(r[9]),
                    n_frames=r[10],
                    first_host_t_s=r[11],
                    last_host_t_s=r[12],
                )
                for r in c.execute(
                    "SELECT sensor_id, sensor_type, protocol_version, sampling_rate_hz, acc_range_g, gyr_range_dps,"
                    " mounting, firmware, model, meta_json, n_frames, first_host_t_s, last_host_t_s"
                    " FROM session_sensors WHERE session_key=? ORDER BY sensor_key",
                    (key,),
                )
            ]
            counts = {
                str(r[0]): int(r[1])
                for r in c.execute("SELECT kind, count(*) FROM events WHERE session_key=? GROUP BY kind", (key,))
            }
        # the session's span: start to end, or to the last frame when it never ended (crash, still recording)
        lasts = [s.last_host_t_s for s in sensors if s.last_host_t_s is not None]
        end = row[5] if row[5] is not None else (max(lasts) if lasts else None)
        duration = None if end is None else max(0.0, end - row[4])
        return SessionInfo(
            id=row[1],
            name=row[2],
            source_kind=row[3],
            started_s=row[4],
            ended_s=row[5],
            duration_s=duration,
            tags=tags,
            notes=notes,
            sensors=sensors,
            event_counts=counts,
            meta=json.loads(row[6]),
        )

    def list_sessions(self) -> list[SessionInfo]:
        return [self.get_session(s) for s in self.session_ids()]

    # writing frames and events --------------------------------------------------------------------
    def _sensor_key(self, c: sqlite3.Connection, session_key: int, sensor_id: str) -> int:
        row = c.execute(
            "SELECT sensor_key FROM session_sensors WHERE session_key=? AND sensor_id=?", (session_key, sensor_id)
        ).fetchone()
        if row is not None:
            return int(row[0])
        log.warning("frames from sensor %s that the session did not declare; recording it as type 'unknown'", sensor_id)
        return self._insert_sensor(c, session_key, SensorMeta(sensor_id=sensor_id, sensor_type="unknown"))

    def _channel_key(self, c: sqlite3.Connection, name: str) -> int:
        key = self._channel_keys.get(name)
        if key is None:
            c.execute("INSERT OR IGNORE INTO channels(name) VALUES (?)", (name,))
            key = int(c.execute("SELECT channel_key FROM channels WHERE name=?", (name,)).fetchone()[0])
            self._channel_keys[name] = key
        return key

    def write_batch(self, session_id: str, frames: Sequence[RawFrame], events: Sequence[PendingEvent] = ()) -> None:
        """Append frames (in arrival order) and events, and queue their outbox messages: one transaction."""
        if not frames and not events:
            return
        with self.transaction() as c:
            self._write(c, session_id, frames, events)

    def write_session(
        self,
        *,
        name: str | None,
        source_kind: SourceKind,
        started_s: float | None,
        sensors: Sequence[SensorMeta],
        frames: Iterable[RawFrame],
        events: Sequence[PendingEvent] = (),
        tags: Iterable[str] = (),
        notes: Iterable[NoteInfo] = (),
        meta: dict[str, Any] | None = None,
        ended_s: float | None = None,
        uid: str | None = None,
        chunk: int = 4096,
    ) -> str:
        """Create a whole session (imports, archives) in ONE transaction: if anything fails, nothing is left."""
        sid = uid or new_session_uid()
        with self.transaction() as c:
            key = self._insert_session(c, sid, name, source_kind, started_s, sensors, tags, meta)
            buf: list[RawFrame] = []
            for f in frames:
                buf.append(f)
                if len(buf) >= chunk:
                    self._write(c, sid, buf, ())
                    buf = []
            self._write(c, sid, buf, events)
            for n in notes:
                c.execute(
                    "INSERT INTO session_notes(session_key, created_s, t_s, text) VALUES (?,?,?,?)",
                    (key, n.created_s, n.t_s, n.text),
                )
            c.execute("UPDATE sessions SET ended_s=? WHERE session_key=?", (ended_s or time.time(), key))
        return sid

    @staticmethod
    def _take_seq(c: sqlite3.Connection, table: str, cache: dict[int, int], sensor_key: int) -> int:
        """The next per-sensor sequence number of ``frames`` or ``events`` (read once, then counted here)."""
        seq = cache.get(sensor_key)
        if seq is None:
            row = c.execute(f"SELECT coalesce(max(seq) + 1, 0) FROM {table} WHERE sensor_key=?", (sensor_key,))
            seq = int(row.fetchone()[0])
        cache[sensor_key] = seq + 1
        return seq

    def _write(
        self, c: sqlite3.Connection, session_id: str, frames: Sequence[RawFrame], events: Sequence[PendingEvent]
    ) -> None:
        skey = self._session_key(c, session_id)
        sensor_keys: dict[str, int] = {}
        rows: list[tuple[int, int, int, float, int, bytes]] = []
        stats: dict[int, list[float]] = {}

        def key(sensor_id: str) -> int:
            k = sensor_keys.get(sensor_id)
            if k is None:
                k = sensor_keys[sensor_id] = self._sensor_key(c, skey, sensor_id)
            return k

        for f in frames:
            k = key(f.sensor_id)
            seq = self._take_seq(c, "frames", self._next_seq, k)
            rows.append((skey, k, seq, f.host_t_s, self._channel_key(c, f.channel), f.payload))
            st = stats.setdefault(k, [0.0, f.host_t_s, f.host_t_s])
            st[0] += 1
            st[2] = f.host_t_s
        c.executemany(
            "INSERT INTO frames(session_key, sensor_key, seq, host_t_s, channel_key, payload) VALUES (?,?,?,?,?,?)",
            rows,
        )
        for k, (n, first, last) in stats.items():
            c.execute(
                "UPDATE session_sensors SET n_frames = n_frames + ?,"
                " first_host_t_s = coalesce(first_host_t_s, ?), last_host_t_s = ? WHERE sensor_key=?",
                (int(n), first, last, k),
            )
        now = time.time()
        for ev in events:
            k = key(ev.sensor_id)
            eseq = self._take_seq(c, "events", self._next_event_seq, k)
            c.execute(
                "INSERT INTO events(session_key, sensor_key, seq, event_id, kind, t_s, body_json)"
                " VALUES (?,?,?,?,?,?,?)",
                (skey, k, eseq, ev.event_id, ev.event.kind, _event_t_s(ev.event), ev.event.model_dump_json()),
            )
            if ev.outbox is not None:
                self._enqueue(c, session_id, ev.outbox[0], ev.outbox[1], ev.event_id, now)

    # outbox ---------------------------------------------------------------------------------------
    def _enqueue(
        self, c: sqlite3.Connection, session_id: str | None, topic: str, payload: str, event_id: str, now: float
    ) -> None:
        c.execute(
            "INSERT OR IGNORE INTO outbox(session_uid, topic, payload, event_id, created_s) VALUES (?,?,?,?,?)",
            (session_id, topic, payload, event_id, now),
        )

    def enqueue_outbox(self, session_id: str | None, topic: str, payload_json: str, event_id: str) -> None:
        """Queue one MQTT message (idempotent on ``event_id``). Joins the open :meth:`transaction` if the calling
        thread holds one, so it commits atomically with the events written there; else commits on its own."""
        with self._lock:
            if self._conn.in_transaction:
                self._enqueue(self._conn, session_id, topic, payload_json, event_id, time.time())
                return
        with self.transaction() as c:
            self._enqueue(c, session_id, topic, payload_json, event_id, time.time())

    def pending_outbox(
        self, limit: int = 100, topic_prefix: str | None = None, exclude_prefixes: Sequence[str] = ()
    ) -> list[OutboxItem]:
        """Undelivered messages, oldest first; only those whose topic starts with ``topic_prefix`` when given, and
        none whose topic starts with one of ``exclude_prefixes``."""
        prefix = topic_prefix or ""
        excluded = " AND substr(topic, 1, ?) != ?" * len(exclude_prefixes)
        params: list[object] = [len(prefix), prefix]
        for other in exclude_prefixes:
            params += [len(other), other]
        with self._lock:
            rows = self._conn.execute(
                "SELECT id, session_uid, topic, payload, event_id, created_s FROM outbox"
                f" WHERE delivered_s IS NULL AND substr(topic, 1, ?) = ?{excluded} ORDER BY id LIMIT ?",
                (*params, int(limit)),
            ).fetchall()
        return [OutboxItem(int(r[0]), r[1], str(r[2]), str(r[3]), str(r[4]), float(r[5])) for r in rows]

    def mark_delivered(self, ids: Iterable[int]) -> None:
        now = time.time()
        with self.transaction() as c:
            c.executemany("UPDATE outbox SET delivered_s=? WHERE id=?", [(now, int(i)) for i in ids])

    # reading ---------------------------------------------------------------------------------------
    def _names(self, session_id: str) -> tuple[int, dict[int, str], dict[int, str]]:
        with self._lock:
            c = self._conn
            skey = self._session_key(c, session_id)
            sensors = {
                int(r[0]): str(r[1])
                for r in c.execute("SELECT sensor_key, sensor_id FROM session_sensors WHERE session_key=?", (skey,))
            }
            channels = {int(r[0]): str(r[1]) for r in c.execute("SELECT channel_key, name FROM channels")}
        return skey, sensors, channels

    def count_frames(self, session_id: str, sensor_id: str | None = None) -> int:
        with self._lock:
            skey = self._session_key(self._conn, session_id)
            if sensor_id is None:
                return int(self._conn.execute("SELECT count(*) FROM frames WHERE session_key=?", (skey,)).fetchone()[0])
            return int(
                self._conn.execute(
                    "SELECT count(*) FROM frames f JOIN session_sensors s ON f.sensor_key = s.sensor_key"
                    " WHERE f.session_key=? AND s.sensor_id=?",
                    (skey, sensor_id),
                ).fetchone()[0]
            )

    def iter_frames(
        self, session_id: str, *, after_row: int = 0, batch: int = 4096
    ) -> Iterator[tuple[int, int, RawFrame]]:
        """``(row_id, seq, frame)`` of a session in arrival order, read in batches (memory stays flat).

        Raises :class:`sqlite3.DatabaseError` on a damaged page; :meth:`read_frames` falls back to salvage then.
        """
        skey, sensors, channels = self._names(session_id)
        last = after_row
        while True:
            with self._lock:
                rows = self._conn.execute(
                    "SELECT id, sensor_key, seq, host_t_s, channel_key, payload FROM frames"
                    " WHERE session_key=? AND id>? ORDER BY id LIMIT ?",
                    (skey, last, batch),
                ).fetchall()
            if not rows:
                return
            for r in rows:
                yield int(r[0]), int(r[2]), RawFrame(sensors[int(r[1])], float(r[3]), bytes(r[5]), channels[int(r[4])])
            last = int(rows[-1][0])

    def iter_events(self, session_id: str) -> Iterator[StoredEvent]:
        skey, sensors, _ = self._names(session_id)
        with self._lock:
            rows = self._conn.execute(
                "SELECT sensor_key, seq, event_id, body_json FROM events WHERE session_key=? ORDER BY id", (skey,)
            ).fetchall()
        for r in rows:
            yield StoredEvent(session_id, sensors[int(r[0])], int(r[1]), str(r[2]), _EVENT_ADAPTER.validate_json(r[3]))

    def import_events(self, session_id: str, events: Iterable[PendingEvent]) -> None:
        self.write_batch(session_id, (), list(events))

    # damage -----------------------------------------------------------------------------------------
    def integrity_check(self, max_errors: int = 20) -> list[str]:
        """SQLite's ``integrity_check``: an empty list when the file is sound, else its messages."""
        try:
            with self._lock:
                rows = self._conn.execute(f"PRAGMA integrity_check({int(max_errors)})").fetchall()
        except sqlite3.DatabaseError as exc:
            return [str(exc)]
        msgs = [str(r[0]) for r in rows]
        return [] if msgs == ["ok"] else msgs

    def _max_id_guess(self, table: str, session_key: int) -> int | None:
        """The largest row id of ``table``: from the table b-tree, else from the per-session index, else from the
        frame counters (a lower bound when old sessions were deleted; the scan then goes on while rows come)."""
        queries = [f"SELECT max(id) FROM {table} NOT INDEXED"]
        if table == "frames":
            queries += [
                "SELECT max(id) FROM frames INDEXED BY frames_session WHERE session_key >= 0",
                "SELECT sum(n_frames) FROM session_sensors",
            ]
        else:
            queries.append("SELECT max(id) FROM events INDEXED BY events_session WHERE session_key >= 0")
        for q in queries:
            try:
                with self._lock:
                    v = self._conn.execute(q).fetchone()[0]
            except sqlite3.DatabaseError:
                continue
            if v is not None:
                return int(v)
        return None

    def _salvage_rows(
        self, table: str, columns: str, report: LossReport, session_key: int, *, chunk: int = 512
    ) -> Iterator[tuple[Any, ...]]:
        """Every readable row of ``table`` by rowid ranges on the table b-tree itself (indexes are not trusted);
        a range that fails is split in halves down to single rows, and rows that still fail are skipped."""
        upper = self._max_id_guess(table, session_key) or 0
        sql = f"SELECT {columns} FROM {table} NOT INDEXED WHERE id BETWEEN ? AND ? ORDER BY id"

        def read(a: int, b: int) -> Iterator[tuple[Any, ...]]:
            try:
                with self._lock:
                    rows = self._conn.execute(sql, (a, b)).fetchall()
            except sqlite3.DatabaseError:
                if a == b:
                    bad = report.unreadable_row_ranges
                    if bad and bad[-1][1] == a - 1:
                        bad[-1] = (bad[-1][0], a)
                    else:
                        bad.append((a, a))
                    return
                mid = (a + b) // 2
                yield from read(a, mid)
                yield from read(mid + 1, b)
                return
            yield from (tuple(r) for r in rows)

        a = 1
        while True:
            got = False
            for row in read(a, a + chunk - 1):
                got = True
                yield row
            a += chunk
            if a > upper and not got:
                break

    def salvage_frames(
        self, session_id: str, report: LossReport, *, after_row: int = 0
    ) -> Iterator[tuple[int, int, RawFrame]]:
        """Like :meth:`iter_frames` on a damaged store: yields every intact frame and fills ``report``."""
        skey, sensors, channels = self._names(session_id)
        with self._lock:
            expected = {
                int(r[0]): int(r[1])
                for r in self._conn.execute(
                    "SELECT sensor_key, n_frames FROM session_sensors WHERE session_key=?", (skey,)
                )
            }
        for k, name in sensors.items():
            report.sensors.setdefault(name, SensorLoss(name, expected=expected.get(k)))
        last_seq: dict[int, int] = {}
        cols = "id, session_key, sensor_key, seq, host_t_s, channel_key, payload"
        for r in self._salvage_rows("frames", cols, report, skey):
            if not _frame_row_ok(r, sensors, skey):
                if r[1] == skey or r[1] is None:
                    report.damaged_rows += 1
                continue
            k, seq = int(r[2]), int(r[3])
            loss = report.sensors[sensors[k]]
            prev = last_seq.get(k, -1)
            if seq > prev + 1:
                loss.missing_seq_ranges.append((prev + 1, seq - 1))
            last_seq[k] = max(prev, seq)
            loss.recovered += 1
            if int(r[0]) <= after_row:
                continue
            yield int(r[0]), seq, RawFrame(sensors[k], float(r[4]), bytes(r[6]), channels.get(int(r[5]), "?"))
        for k, name in sensors.items():
            loss = report.sensors[name]
            end = last_seq.get(k, -1)
            if loss.expected is not None and loss.expected > end + 1:
                loss.missing_seq_ranges.append((end + 1, loss.expected - 1))

    def salvage_events(self, session_id: str, report: LossReport) -> list[StoredEvent]:
        skey, sensors, _ = self._names(session_id)
        sub = LossReport(report.path, session_id)
        out: list[StoredEvent] = []
        for r in self._salvage_rows("events", "id, session_key, sensor_key, seq, event_id, body_json", sub, skey):
            if int(r[1]) != skey:
                continue
            try:
                ev = _EVENT_ADAPTER.validate_json(r[5])
            except ValueError:
                report.events_unreadable += 1
                continue
            out.append(StoredEvent(session_id, sensors.get(int(r[2]), "?"), int(r[3]), str(r[4]), ev))
        report.events_recovered = len(out)
        report.events_unreadable += sum(b - a + 1 for a, b in sub.unreadable_row_ranges)
        return out


class SessionReader:
    """Reads one session's frames and events, falling back to salvage on a damaged store.

    After iterating, :attr:`loss` is ``None`` when everything read cleanly, else a :class:`LossReport`.
    """

    def __init__(self, store: Store, session_id: str) -> None:
        self.store = store
        self.session_id = session_id
        self.loss: LossReport | None = None

    def _start_salvage(self) -> LossReport:
        if self.loss is None:
            self.loss = LossReport(str(self.store.path), self.session_id, integrity=self.store.integrity_check())
            log.warning("store %s is damaged; salvaging session %s", self.store.path, self.session_id)
        return self.loss

    def frames(self, *, batch: int = 4096) -> Iterator[tuple[int, RawFrame]]:
        """``(seq, frame)`` in arrival order."""
        last = 0
        try:
            for row_id, seq, frame in self.store.iter_frames(self.session_id, batch=batch):
                last = row_id
                yield seq, frame
            return
        except sqlite3.DatabaseError:
            report = self._start_salvage()
        for _row_id, seq, frame in self.store.salvage_frames(self.session_id, report, after_row=last):
            yield seq, frame

    def events(self) -> list[StoredEvent]:
        try:
            return list(self.store.iter_events(self.session_id))
        except sqlite3.DatabaseError:
            return self.store.salvage_events(self.session_id, self._start_salvage())
