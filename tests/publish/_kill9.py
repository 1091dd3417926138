"""The kill -9 campaign shared by tests/publish/test_kill9.py and bench/bench_kill9.py.

A chain of gateway processes (:mod:`tests.publish._kill9_gateway`: virtual sensor over Bumble, recorder into one
SQLite store, MQTT sink + outbox publishing to a real broker) records into the SAME store; each one is SIGKILLed at
a planned point, and the next one is the restart. After every kill the store is opened as a restart would open it
and checked; a subscriber connected to the broker for the whole campaign collects every event id; a last clean
process (stopped with SIGINT) must flush whatever is still pending.

Kill points (``phase``):

* ``connect``: a timed kill after the interpreter started, at a random fraction (0 .. 1.2) of the time the previous
  process took from there to its first frame (opening the store, creating the session, connecting the broker and
  the BLE link: a few tenths of a second); what it actually hit is reported (``hit``);
* ``stream``: a timed kill 0.3 .. 4 s after the first frame arrived;
* ``commit``: the process kills itself between writing a transaction's rows and ``COMMIT`` (the N-th commit, N >= 6:
  past the session's creation and the first outbox writes, so while streaming);
* ``in-commit``: the same, but from a timer thread 0 .. 4 ms after ``COMMIT`` began (the WAL write and fsync);
* ``publish``: the process kills itself after the broker acknowledged a window of QoS 1 messages and before the
  outbox rows are marked delivered.

Loss is measured against what the gateway received: each ``rx`` line says how many frames the sinks (the recorder
first) had been handed, and when. ``lost_s`` is the age, at the kill, of the oldest received frame not in the store
(0 when nothing received is missing); the recorder's bound is one second. For self-kills the kill instant is the
one the crash hook wrote to stderr just before the SIGKILL (the parent notices the death later, by up to a poll and
more on a loaded machine).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sqlite3
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from sensor.crashpoints import ENV_VAR, KILL_LINE
from sensor.sessions.store import Store

from .brokers import Collector, collecting

REPO = Path(__file__).resolve().parents[2]
Phase = Literal["connect", "stream", "commit", "in-commit", "publish"]
PHASES: tuple[Phase, ...] = ("connect", "stream", "commit", "in-commit", "publish")
CONNECT_GUESS_S = 0.5  # started -> first frame, until a process has shown it
PROCESS_TIMEOUT_S = 30.0  # a planned self-kill that never comes is replaced by a timed kill (reported)
FLUSH_TIMEOUT_S = 60.0
LOSS_BOUND_S = 1.0


@dataclass(frozen=True)
class KillPlan:
    phase: Phase
    delay_s: float = 0.0  # connect: a fraction of the connect time; stream: seconds after the first frame
    crash_at: str | None = None  # HIPSENSE_TEST_CRASH_AT for the self-kills


def plan_kills(n: int, seed: int, phases: tuple[Phase, ...] = PHASES) -> list[KillPlan]:
    """``n`` kill points cycling through ``phases`` with seeded random parameters."""
    rng = np.random.default_rng(seed)
    plans: list[KillPlan] = []
    for i in range(n):
        phase = phases[i % len(phases)]
        if phase == "connect":
            plans.append(KillPlan(phase, delay_s=float(rng.uniform(0.0, 1.2))))
        elif phase == "stream":
            plans.append(KillPlan(phase, delay_s=float(rng.uniform(0.3, 4.0))))
        elif phase == "commit":
            plans.append(KillPlan(phase, crash_at=f"store.commit:{int(rng.integers(6, 30))}"))
        elif phase == "in-commit":
            k, delay = int(rng.integers(6, 30)), float(rng.uniform(0.0, 0.004))
            plans.append(KillPlan(phase, crash_at=f"store.commit:{k}@{delay:.4f}"))
        else:
            plans.append(KillPlan(phase, crash_at="mqtt.acked:1"))  # the first window: often the restart's backlog
    return plans


@dataclass
class KillResult:
    plan: KillPlan
    hit: str = "spawned"  # the last step the process reported: started / session / streaming
    self_killed: bool = False  # the crash hook fired (else the parent's timed kill)
    alive_s: float = 0.0
    rx_frames: int = 0
    stored_frames: int = 0
    lost_frames: int = 0
    lost_s: float = 0.0
    open_error: str | None = None
    integrity: list[str] = field(default_factory=list)
    seq_gaps: int = 0
    pending_after_kill: int = 0
    flushed_by_next: bool | None = None  # None: nothing was pending
    flush_s: float | None = None  # from the restart's spawn until the broker delivered every pending event

    @property
    def corrupt(self) -> bool:
        return self.open_error is not None or bool(self.integrity) or self.seq_gaps > 0


@dataclass
class Campaign:
    kills: list[KillResult]
    outbox_rows: int
    unflushed: list[str]  # event ids in the outbox that the subscriber never received
    pending_at_end: int  # outbox rows still undelivered after the clean final run
    final_integrity: list[str]
    duplicates: int  # raw re-deliveries (at least once: a consumer de-duplicates on event_id)


class _Proc:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.spawned = time.monotonic()
        self.started: float | None = None
        self.session: str | None = None
        self.rx: list[tuple[int, float]] = []  # (frames so far, unix time)
        self.first_rx_mono: float | None = None
        self.done = False
        self.changed = asyncio.Event()

    async def read(self) -> None:
        assert self.proc.stdout is not None
        while raw := await self.proc.stdout.readline():
            parts = raw.decode().split()
            if not parts:
                continue
            if parts[0] == "started":
                self.started = time.monotonic()
            elif parts[0] == "session":
                self.session = parts[1]
            elif parts[0] == "rx":
                self.rx.append((int(parts[1]), float(parts[2])))
                if self.first_rx_mono is None:
                    self.first_rx_mono = time.monotonic()
            elif parts[0] == "done":
                self.done = True
            self.changed.set()

    @property
    def hit(self) -> str:
        return "streaming" if self.rx else "session" if self.session else "started" if self.started else "spawned"


async def _spawn(workdir: Path, store: Path, url: str, prefix: str, crash_at: str | None, index: int) -> _Proc:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop(ENV_VAR, None)
    if crash_at is not None:
        env[ENV_VAR] = crash_at
    with (workdir / f"gateway-{index}.stderr").open("wb") as err:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.publish._kill9_gateway", str(store), url, prefix,
            cwd=REPO, env=env, stdout=asyncio.subprocess.PIPE, stderr=err,
        )  # fmt: skip
    return _Proc(proc)


def _self_kill_time(stderr: Path, seen: float) -> float:
    """The kill instant the crash hook wrote (``seen``, when the parent noticed the death, if it wrote none)."""
    stamps = [float(line.split()[1]) for line in stderr.read_text(errors="replace").splitlines()
              if line.startswith(KILL_LINE)]  # fmt: skip
    return stamps[-1] if stamps else seen


async def _until(p: _Proc, predicate: Callable[[], bool], timeout_s: float) -> bool:
    """Wait until ``predicate()`` or the process exits or the timeout; returns ``predicate()``."""
    deadline = time.monotonic() + timeout_s
    while not predicate() and p.proc.returncode is None:
        p.changed.clear()
        left = deadline - time.monotonic()
        if left <= 0:
            break
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(p.changed.wait(), min(left, 0.05))
    return predicate()


_parsed: dict[int, tuple[int, set[str]]] = {}


def received_ids(sub: Collector) -> set[str]:
    """Every event id the subscriber received (parsed incrementally: the campaign polls this)."""
    n, ids = _parsed.get(id(sub), (0, set()))
    for m in sub.messages[n:]:
        if m.payload.startswith(b"{"):
            event_id = json.loads(m.payload).get("event_id")
            if event_id:
                ids.add(event_id)
    _parsed[id(sub)] = (len(sub.messages), ids)
    return ids


def _outbox(store: Path, *, pending_only: bool) -> list[str]:
    with contextlib.closing(sqlite3.connect(f"file:{store}?mode=ro", uri=True)) as c:
        where = " WHERE delivered_s IS NULL" if pending_only else ""
        return [str(r[0]) for r in c.execute(f"SELECT event_id FROM outbox{where} ORDER BY id")]


def _check_store(store: Path, session: str | None, result: KillResult, rx: list[tuple[int, float]], t_kill: float):
    """Open the store as the restart does (read-write), check it, and measure what was lost."""
    try:
        with Store(store) as s:
            result.integrity = s.integrity_check()
            stored = s.count_frames(session) if session is not None else 0
            if session is not None:
                seqs = [seq for _, seq, _ in s.iter_frames(session)]
                result.seq_gaps = int(seqs != list(range(len(seqs))))
            result.pending_after_kill = len(s.pending_outbox(100_000))
    except Exception as exc:  # any failure to open after a kill is the finding we report
        result.open_error = f"{type(exc).__name__}: {exc}"
        return
    result.stored_frames = stored
    result.rx_frames = rx[-1][0] if rx else 0
    result.lost_frames = max(0, result.rx_frames - stored)
    if result.lost_frames:
        first_lost = next(t for n, t in rx if n > stored)  # the batch holding frame index `stored`
        result.lost_s = max(0.0, t_kill - first_lost)


async def run_campaign(
    workdir: Path,
    broker_host: str,
    broker_port: int,
    prefix: str,
    plans: list[KillPlan],
    *,
    on_result: Callable[[int, KillResult], None] | None = None,
) -> Campaign:
    store = workdir / "sessions.db"
    url = f"mqtt://{broker_host}:{broker_port}"
    kills: list[KillResult] = []
    connect_s = CONNECT_GUESS_S
    async with collecting(broker_host, broker_port, f"{prefix}/#") as sub:
        pending: set[str] = set()  # outbox rows left undelivered by the last kill
        for i, plan in enumerate(plans):
            p = await _spawn(workdir, store, url, prefix, plan.crash_at, i)
            res = KillResult(plan)
            async with asyncio.TaskGroup() as tg:
                reader = tg.create_task(p.read(), name=f"kill9-reader-{i}")
                flush_task = tg.create_task(_await_flush(store, pending, p), name=f"kill9-flush-{i}")
                if plan.phase == "connect":
                    await _until(p, lambda p=p: p.started is not None, PROCESS_TIMEOUT_S)  # type: ignore[misc]
                    await _until(p, lambda: False, plan.delay_s * connect_s)
                elif plan.phase == "stream":
                    await _until(p, lambda p=p: p.first_rx_mono is not None, PROCESS_TIMEOUT_S)  # type: ignore[misc]
                    await _until(p, lambda: False, plan.delay_s)
                else:
                    await _until(p, lambda: False, PROCESS_TIMEOUT_S)
                if p.proc.returncode is None:
                    t_kill = time.time()
                    p.proc.kill()
                else:  # the crash hook fired: it wrote the instant of the kill to stderr
                    t_kill = time.time()
                    res.self_killed = p.proc.returncode == -signal.SIGKILL
                await p.proc.wait()
                if res.self_killed:
                    t_kill = _self_kill_time(workdir / f"gateway-{i}.stderr", t_kill)
                await reader
                flush_task.cancel()
            assert p.proc.returncode == -signal.SIGKILL, f"gateway {i} ended with {p.proc.returncode}, see {workdir}"
            res.hit = p.hit
            res.alive_s = time.monotonic() - p.spawned
            if p.started is not None and p.first_rx_mono is not None:
                connect_s = p.first_rx_mono - p.started
            if pending:
                _judge_flush(kills[-1], store, pending, sub, flush_task)
            _check_store(store, p.session, res, p.rx, t_kill)
            pending = set(_outbox(store, pending_only=True)) if res.open_error is None and store.exists() else set()
            kills.append(res)
            if on_result is not None:
                on_result(i, res)
        # the last restart runs until the backlog is delivered, then stops cleanly (SIGINT, as Ctrl-C)
        final = await _spawn(workdir, store, url, prefix, None, len(plans))
        async with asyncio.TaskGroup() as tg:
            reader = tg.create_task(final.read(), name="kill9-reader-final")
            flush_task = tg.create_task(_await_flush(store, pending, final), name="kill9-flush-final")
            await _until(final, lambda: final.first_rx_mono is not None and flush_task.done(), FLUSH_TIMEOUT_S)
            final.proc.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(final.proc.wait(), 30)
            finally:
                if final.proc.returncode is None:
                    final.proc.kill()
                    await final.proc.wait()
            await reader
            flush_task.cancel()
        if pending:
            _judge_flush(kills[-1], store, pending, sub, flush_task)
        assert final.done, f"the final gateway did not stop cleanly (exit {final.proc.returncode}), see {workdir}"
        all_ids = _outbox(store, pending_only=False)
        with contextlib.suppress(TimeoutError):
            await sub.wait_for(lambda c: set(all_ids) <= received_ids(c), 10)
    got = received_ids(sub)
    raw = sum(1 for m in sub.messages if m.payload.startswith(b"{") and b'"event_id"' in m.payload)
    with Store(store) as s:
        return Campaign(
            kills=kills,
            outbox_rows=len(all_ids),
            unflushed=[e for e in all_ids if e not in got],
            pending_at_end=len(s.pending_outbox(100_000)),
            final_integrity=s.integrity_check(),
            duplicates=raw - len(got),
        )


def _judge_flush(res: KillResult, store: Path, pending: set[str], sub: Collector, task: asyncio.Task[float]) -> None:
    """Did the restart after ``res`` deliver (PUBACK, marked in the outbox) every row ``res`` left pending?"""
    still = pending & set(_outbox(store, pending_only=True))
    res.flushed_by_next = not still and pending <= received_ids(sub)
    res.flush_s = task.result() if task.done() and not task.cancelled() else None


async def _await_flush(store: Path, pending: set[str], p: _Proc) -> float:
    """Seconds from the restart's spawn until none of ``pending`` is undelivered in the outbox."""
    # polling another process's file: there is no event to await
    while pending and pending & set(_outbox(store, pending_only=True)):  # noqa: ASYNC110
        await asyncio.sleep(0.1)
    return time.monotonic() - p.spawned
