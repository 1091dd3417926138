"""Shared parts of the long-run benches (bench_load.py, bench_soak.py): the gateway of ``hipsense run`` on a virtual
world, an MQTT subscriber that counts what arrives, a resource sampler and the check of what the store recorded.

Everything runs in one process: the virtual sensors (Bumble peripherals driving the firmware's SensorCore), the
in-process radio (Bumble LocalLink), and the gateway (:func:`sensor.gateway.run_gateway`, the wiring of
``hipsense run``: Bleak on the Bumble backend -> SensorLink -> LinkDecoder -> pipeline -> Recorder + MqttSink).
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
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiomqtt
import numpy as np

from firmware_proto.virtual_sensor import VirtualWorld, WorldClock
from sensor.sessions.replay import session_decoder_factory
from sensor.sessions.store import Store

QOS1_TOPICS = ("rep", "set", "alert", "bout", "session")
_PAGE = os.sysconf("SC_PAGE_SIZE")


def dump_tasks_on_sigusr1() -> None:
    """``kill -USR1 <pid>`` prints every asyncio task's stack (a long run that seems stuck says where)."""
    loop = asyncio.get_running_loop()

    def dump() -> None:
        for task in asyncio.all_tasks(loop):
            print(f"--- {task.get_name()}", file=sys.stderr)
            coro: Any = task.get_coro()
            while coro is not None:  # follow the await chain (Task.print_stack shows only the outer frame)
                frame = getattr(coro, "cr_frame", None) or getattr(coro, "ag_frame", None)
                if frame is not None:
                    print(f"    {frame.f_code.co_filename}:{frame.f_lineno} {frame.f_code.co_name}", file=sys.stderr)
                coro = getattr(coro, "cr_await", None) or getattr(coro, "ag_await", None)
        sys.stderr.flush()

    loop.add_signal_handler(signal.SIGUSR1, dump)


def rss_mib() -> float:
    """Resident set size of this process (MiB), from /proc."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * _PAGE / 2**20


class StreamStart:
    """Notes each virtual sensor's ring head when a host first starts its stream: the first sample it must deliver.

    (START makes the firmware send from its ring head on; what was sampled before no host asked for.)
    """

    def __init__(self, world: VirtualWorld) -> None:
        self.first_index: dict[int, int] = {}
        for i, s in enumerate(world.sensors):
            self._wrap(i, s.core)

    def _wrap(self, i: int, core: Any) -> None:
        handle = core.handle_command

        def wrapped(data: bytes, ticks: int) -> Any:
            out = handle(data, ticks)
            if core.streaming and i not in self.first_index:
                self.first_index[i] = int(core.cursor)
            return out

        core.handle_command = wrapped


class GovernedClock(WorldClock):
    """A world clock whose speed a governor may change while it runs (``now()`` stays continuous).

    A sped-up world on a shared machine can outrun the process: the sensors then sample faster than the gateway
    takes their data and their rings fill, which is the machine's limit, not the gateway's. The governor
    (:meth:`govern`) slows the world when the lag grows and speeds it up again (up to ``max_speed``) when it is gone.
    """

    def __init__(self, speed: float) -> None:
        super().__init__(speed)
        self.max_speed = float(speed)
        self._w = self._t0
        self._m = time.monotonic()

    def now(self) -> float:
        return self._w + (time.monotonic() - self._m) * self.speed

    def set_speed(self, speed: float) -> None:
        m = time.monotonic()
        self._w += (m - self._m) * self.speed
        self._m = m
        self.speed = float(speed)

    def install(self, world: VirtualWorld) -> None:
        """Replace the world's clock (before entering it): the sensors read this one."""
        world.clock = self
        for s in world.sensors:
            s.clock = self

    async def govern(self, world: VirtualWorld, lag_s: Callable[[], float], stop: asyncio.Event) -> None:
        """Every wall second: slow down when the lag (world seconds) passes 20 s, speed up below 5 s."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)
            rate = max((s.config.sampling_rate_hz for s in world.sensors), default=1.0)
            ring_s = max((max(s.head_index - s.core.cursor, 0) for s in world.sensors), default=0) / rate
            lag = max(ring_s, lag_s())
            if lag > 20.0:
                self.set_speed(max(1.0, self.speed * 0.7))
            elif lag < 5.0 and self.speed < self.max_speed:
                self.set_speed(min(self.max_speed, self.speed * 1.15))


# ---------------------------------------------------------------------------------------------------------------
# resource sampling
# ---------------------------------------------------------------------------------------------------------------
@dataclass
class Sample:
    wall_s: float
    world_s: float
    cpu_s: float
    rss_mib: float
    sensor_backlog: int  # samples produced by the sensors but not yet handed to the radio (their rings)
    host_lag_s: float  # world time minus the newest host time the pipeline handed on


@dataclass
class Sampler:
    """Samples RSS, CPU and backlogs every ``period_s`` of wall time (``run`` until ``stop`` is set)."""

    world: VirtualWorld
    host_lag_s: Callable[[], float]
    period_s: float = 10.0
    progress: bool = True
    samples: list[Sample] = field(default_factory=list)

    def take(self, t0_wall: float, t0_world: float, cpu0: float) -> None:
        backlog = sum(max(s.head_index - s.core.cursor, 0) for s in self.world.sensors)
        sample = Sample(
            wall_s=time.perf_counter() - t0_wall,
            world_s=self.world.clock.now() - t0_world,
            cpu_s=time.process_time() - cpu0,
            rss_mib=rss_mib(),
            sensor_backlog=backlog,
            host_lag_s=self.host_lag_s(),
        )
        self.samples.append(sample)
        if self.progress:
            connected = sum(s.is_connected for s in self.world.sensors)
            sent = sum(s.stats.samples_sent for s in self.world.sensors)
            print(
                f"[{sample.wall_s:6.0f} s wall] sensor {sample.world_s / 60:6.1f} min, {connected} connected, "
                f"{sent} samples sent, ring {backlog}, host lag {sample.host_lag_s:.1f} s, "
                f"RSS {sample.rss_mib:.0f} MiB, CPU {sample.cpu_s:.0f} s, speed {self.world.clock.speed:.1f}",
                file=sys.stderr,
                flush=True,
            )

    async def run(self, stop: asyncio.Event) -> None:
        t0, w0, c0 = time.perf_counter(), self.world.clock.now(), time.process_time()
        while not stop.is_set():
            self.take(t0, w0, c0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.period_s)
        self.take(t0, w0, c0)

    def rss_table(self, rows: int = 12) -> str:
        """RSS and lag at about ``rows`` evenly spaced instants."""
        if not self.samples:
            return "(no samples)"
        idx = sorted({round(float(i)) for i in np.linspace(0, len(self.samples) - 1, min(rows, len(self.samples)))})
        lines = [f"{'wall s':>8} {'sensor min':>10} {'CPU s':>8} {'RSS MiB':>8} {'sensor ring':>11} {'host lag s':>10}"]
        for i in idx:
            s = self.samples[i]
            lines.append(
                f"{s.wall_s:8.0f} {s.world_s / 60:10.1f} {s.cpu_s:8.0f} {s.rss_mib:8.1f} "
                f"{s.sensor_backlog:11d} {s.host_lag_s:10.1f}"
            )
        return "\n".join(lines)

    def rss_summary(self, warmup_frac: float = 0.2) -> str:
        """RSS after warm-up (the first ``warmup_frac`` of the run), at the last sample while streaming, and after
        the gateway closed (the pipelines' end-of-session work included)."""
        rss = [s.rss_mib for s in self.samples]
        k = min(int(len(rss) * warmup_frac), len(rss) - 1)
        streaming = rss[-2] if len(rss) > 1 else rss[-1]
        return (
            f"RSS after warm-up {rss[k]:.1f} MiB, last while streaming {streaming:.1f} MiB "
            f"({streaming - rss[k]:+.1f}), after the gateway closed {rss[-1]:.1f} MiB"
        )


# ---------------------------------------------------------------------------------------------------------------
# the subscriber
# ---------------------------------------------------------------------------------------------------------------
@dataclass
class Received:
    qos1_ids: Counter[str] = field(default_factory=Counter)  # event_id -> times received
    qos1_by_topic: Counter[str] = field(default_factory=Counter)
    steps: Counter[str] = field(default_factory=Counter)  # sensor_id -> step messages
    connects: int = 0
    errors: list[str] = field(default_factory=list)


class Subscriber:
    """Counts what reaches a subscriber of ``<prefix>/#`` at QoS 1: a ``mosquitto_sub`` process (restarted if it
    exits, e.g. over a broker restart) writing ``topic payload`` lines to a file.

    A separate process, so the subscriber is never starved by the busy gateway loop in this process (an in-loop
    subscriber falls behind and the broker drops what overflows its queue for it: the bench would measure
    itself). ``persistent=True``: a fixed client id with a persistent session (``-c``, MQTT 3.1.1
    ``clean_session`` false), so the broker queues QoS 1 messages for it while it is away and keeps them over its
    own restart (persistence on).
    """

    def __init__(self, host: str, port: int, prefix: str, *, persistent: bool, client_id: str, out: Path) -> None:
        self.host, self.port, self.prefix = host, port, prefix
        self.persistent = persistent
        self.client_id = client_id
        self.out = out
        self.received = Received()
        self.subscribed = asyncio.Event()
        self.last_message = time.monotonic()
        self._offset = 0

    def _on(self, topic: str, payload: bytes) -> None:
        self.last_message = time.monotonic()
        parts = topic.split("/")
        if len(parts) < 3 or not payload.startswith(b"{"):
            return
        sensor_id, kind = parts[-2], parts[-1]
        if kind == "step":
            self.received.steps[sensor_id] += 1
        elif kind in QOS1_TOPICS:
            body = json.loads(payload)
            self.received.qos1_ids[str(body["event_id"])] += 1
            self.received.qos1_by_topic[kind] += 1

    def poll(self) -> None:
        """Count the complete lines written since the last poll."""
        if not self.out.exists():
            return
        with open(self.out, "rb") as f:
            f.seek(self._offset)
            data = f.read()
        end = data.rfind(b"\n") + 1
        for line in data[:end].splitlines():
            topic, _, payload = line.partition(b" ")
            if topic.endswith(b"/probe"):
                self.subscribed.set()
            self._on(topic.decode(), payload)
        self._offset += end

    async def run(self, stop: asyncio.Event) -> None:
        cmd = ["mosquitto_sub", "-h", self.host, "-p", str(self.port), "-t", f"{self.prefix}/#", "-q", "1", "-v"]
        cmd += ["-i", self.client_id] + (["-c"] if self.persistent else [])
        with open(self.out, "ab") as sink:  # noqa: ASYNC230 (opened once, before the loop matters)
            while not stop.is_set():
                proc = await asyncio.create_subprocess_exec(*cmd, stdout=sink, stderr=asyncio.subprocess.DEVNULL)
                try:
                    while proc.returncode is None and not stop.is_set():
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(proc.wait(), 0.3)
                        if not self.subscribed.is_set():
                            await self._probe()
                finally:
                    if proc.returncode is None:
                        proc.terminate()
                        await proc.wait()
                    self.received.connects += 1
                if not stop.is_set():
                    self.received.errors.append(f"mosquitto_sub exited with {proc.returncode}")
                    await asyncio.sleep(0.3)
        self.poll()

    async def _probe(self) -> None:
        """Publish a probe until the subscriber has it: then it is subscribed."""
        with contextlib.suppress(aiomqtt.MqttError):
            async with aiomqtt.Client(self.host, self.port, protocol=aiomqtt.ProtocolVersion.V311) as c:
                await c.publish(f"{self.prefix}/bench/probe", b"probe", qos=1)
        await asyncio.sleep(0.2)
        self.poll()

    async def settle(self, expected_ids: set[str], *, quiet_s: float = 2.0, max_s: float = 60.0) -> None:
        """Wait until every expected id arrived and nothing came for ``quiet_s`` (or ``max_s`` passed)."""
        t_end = time.monotonic() + max_s
        while time.monotonic() < t_end:
            self.poll()
            if expected_ids <= set(self.received.qos1_ids) and time.monotonic() - self.last_message > quiet_s:
                return
            await asyncio.sleep(0.2)


# ---------------------------------------------------------------------------------------------------------------
# what was produced and recorded
# ---------------------------------------------------------------------------------------------------------------
@dataclass
class Recorded:
    samples: int = 0
    missing: int = 0
    first_index: int | None = None
    last_index: int | None = None
    contiguous: bool = True
    t_monotonic: bool = True
    duplicates_skipped: int = 0


def recorded_samples(store_path: Path, session_id: str) -> dict[str, Recorded]:
    """Decode the session's recorded frames (as a replay does) and check indices and host times per sensor."""
    out: dict[str, Recorded] = defaultdict(Recorded)
    last_t: dict[str, float] = {}
    with Store(store_path) as store:
        make = session_decoder_factory(store, session_id)
        decoders: dict[str, Any] = {}
        for _row, _seq, frame in store.iter_frames(session_id):
            dec = decoders.get(frame.sensor_id)
            if dec is None:
                dec = decoders[frame.sensor_id] = make(frame.sensor_id)
            block = dec.decode(frame)
            if block is None or len(block) == 0:
                continue
            r = out[frame.sensor_id]
            idx = np.asarray(block.sample_index)
            if r.last_index is not None and int(idx[0]) != r.last_index + 1:
                r.contiguous = False
            if len(idx) > 1 and not bool(np.all(np.diff(idx) == 1)):
                r.contiguous = False
            t = np.asarray(block.t_s)
            prev = last_t.get(frame.sensor_id, -np.inf)
            if not (t[0] > prev and bool(np.all(np.diff(t) > 0))):
                r.t_monotonic = False
            last_t[frame.sensor_id] = float(t[-1])
            if r.first_index is None:
                r.first_index = int(idx[0])
            r.last_index = int(idx[-1])
            r.samples += len(block)
            r.missing += block.n_missing
        for sid, dec in decoders.items():
            out[sid].duplicates_skipped = int(dec.skipped.get("duplicate", 0))
    return dict(out)


def outbox_messages(store_path: Path, session_id: str) -> dict[str, tuple[str, str]]:
    """``event_id -> (sensor_id, topic kind)`` of every QoS 1 message the session queued in the outbox."""
    with contextlib.closing(sqlite3.connect(f"file:{store_path}?mode=ro", uri=True)) as c:
        rows = c.execute("SELECT event_id, topic FROM outbox WHERE session_uid = ?", (session_id,)).fetchall()
    out = {}
    for eid, topic in rows:
        parts = str(topic).split("/")
        out[str(eid)] = (parts[-2], parts[-1])
    return out
