"""End-to-end check of the trend stack on this machine: HipSense publisher -> Mosquitto -> (Telegraf) -> InfluxDB ->
the dashboard's own InfluxQL queries. Not part of the test run; run it by hand:

    python dashboards/grafana/e2e_influxdb.py

Real parts: HipSense's MqttPublisher + MqttSink (with the real session store as outbox) publishing six weeks of
runs and glute sessions, a private Mosquitto on a free loopback port, Debian's InfluxDB 1.x (``apt-get install
influxdb``; InfluxQL is the same language Grafana sends to InfluxDB 1.8/2.x/3), and every query of
hipsense-trends.json with Grafana's ``$timeFilter``/``$sensor`` filled in.

The one stand-in: ``FakeTelegraf``. Telegraf has no Debian or PyPI package and nothing else can be downloaded here,
so an aiomqtt subscriber applies telegraf.conf through telegraf_json.py (the documented JSON parser mapping) and
writes line protocol to InfluxDB's /write like Telegraf's influxdb output. Everything downstream of it is real.

The publisher's clock is driven through the six weeks (MqttSink takes a clock), so messages carry the
``created_unix_s`` a live gateway would have stamped then. Expected weekly values are computed with numpy from the
events that were published and compared with what InfluxDB answers; a table is printed, and the exit code is 1
on any mismatch.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiomqtt
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))
sys.path.insert(0, str(HERE))

import telegraf_json as tj  # noqa: E402

from sensor.events import HoldEvent, RepEvent, RollingSummary, SetEvent, StepEvent  # noqa: E402
from sensor.publish.mqtt_client import BrokerSettings, MqttPublisher  # noqa: E402
from sensor.publish.mqtt_sink import MqttSink  # noqa: E402
from sensor.publish.payloads import Topics  # noqa: E402
from sensor.sessions.store import Store  # noqa: E402

SENSOR_ID = "hip"
WEEK0 = dt.datetime(2026, 9, 7, tzinfo=dt.UTC)  # a Monday: the dashboard's weeks start Monday 00:00 UTC
N_WEEKS = 6
GLUTE_SESSIONS_PER_WEEK = (1, 2, 3, 2, 0, 3)
STEPS_PER_RUN = 400
WEEK_S = 7 * 86400


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout_s} s")


@contextlib.contextmanager
def process(args: list[str], port: int, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_port(port)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Influx:
    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"

    def _post(self, path: str, params: dict[str, str], body: bytes = b"") -> bytes:
        url = f"{self.base}{path}?{urllib.parse.urlencode(params)}"
        with urllib.request.urlopen(urllib.request.Request(url, data=body, method="POST"), timeout=30) as r:
            return bytes(r.read())

    def write(self, lines: list[str]) -> None:
        self._post("/write", {"db": "hipsense", "precision": "ns"}, "\n".join(lines).encode())

    def query(self, q: str) -> list[dict[str, Any]]:
        doc = json.loads(self._post("/query", {"db": "hipsense", "epoch": "s", "q": q}))
        (result,) = doc["results"]
        if "error" in result:
            raise RuntimeError(f"{q}: {result['error']}")
        return list(result.get("series", []))


class FakeTelegraf:
    """Stand-in for Telegraf (see the module docstring): subscribe as telegraf.conf says, parse, write in batches."""

    def __init__(self, mqtt_port: int, influx: Influx) -> None:
        self.mqtt_port = mqtt_port
        self.influx = influx
        self.consumers = tj.load_consumers()
        self.received: dict[str, int] = defaultdict(int)
        self.reliable: list[tuple[str, bytes]] = []  # QoS 1 messages as received, to re-deliver them
        self.ready = asyncio.Event()
        self._lines: list[str] = []

    async def run(self) -> None:
        async with aiomqtt.Client("127.0.0.1", self.mqtt_port, identifier="fake-telegraf") as client:
            for c in self.consumers:
                for topic in c.topics:
                    await client.subscribe(topic, qos=c.qos)
            self.ready.set()
            async for msg in client.messages:
                topic = str(msg.topic)
                (consumer,) = [c for c in self.consumers if c.matches(topic)]
                assert isinstance(msg.payload, bytes)
                self._lines.append(tj.line_protocol(tj.parse(consumer, msg.payload)))
                self.received[consumer.measurement] += 1
                if consumer.qos == 1:
                    self.reliable.append((topic, msg.payload))
                if len(self._lines) >= 1000:
                    await self.flush()

    async def flush(self) -> None:
        lines, self._lines = self._lines, []
        if lines:
            await asyncio.to_thread(self.influx.write, lines)


class Clock:
    def __init__(self) -> None:
        self.now = WEEK0.timestamp()

    def __call__(self) -> float:
        return self.now


class Truth:
    """What was published, for the expected values."""

    def __init__(self) -> None:
        self.steps: list[tuple[int, str, str, bool, float, float]] = []  # week, side, activity, in_turn, drop, cad
        self.asym: dict[int, list[float]] = defaultdict(list)
        self.slopes: list[float] = []
        self.glute_sessions: dict[int, int] = defaultdict(int)
        self.reps: dict[tuple[int, str], int] = defaultdict(int)
        self.sets: dict[tuple[int, str], int] = defaultdict(int)


async def wait_until(cond: Any, what: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not cond():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


async def run_session(
    publisher: MqttPublisher,
    store: Store,
    clock: Clock,
    tele: FakeTelegraf,
    truth: Truth,
    rng: np.random.Generator,
    week: int,
    start: float,
    kind: str,
) -> None:
    session_id = f"{kind}-{week}-{int(start)}"
    sink = MqttSink(publisher=publisher, outbox=store, topics=Topics("hipsense", SENSOR_ID), session_id=session_id,
                    clock=clock)  # fmt: skip
    clock.now = start
    await sink.start_session()
    summary = None
    if kind == "run":
        sent_before = tele.received["hipsense_step"]
        left, right = [], []
        for k in range(STEPS_PER_RUN):
            side = "left" if k % 2 == 0 else "right"
            activity = "walking" if k < 40 else "running"
            in_turn = bool(rng.random() < 0.05)
            # the left glute strengthens over the weeks; turns add lean that the trend must not see
            base = 8.5 - 0.4 * week if side == "left" else 6.0
            drop = float(rng.normal(base, 1.0) + (4.0 if in_turn else 0.0) - (2.0 if activity == "walking" else 0.0))
            cadence = float(rng.normal(164.0 + 1.5 * week, 3.0))
            t_s = 0.36 * k
            clock.now = start + t_s
            ev = StepEvent(t_s=t_s, side=side, pelvic_drop_deg=drop, cadence_spm=cadence, in_turn=in_turn,
                           activity=activity, confidence=0.9)  # fmt: skip
            await sink.on_events(SENSOR_ID, [ev])
            truth.steps.append((week, side, activity, in_turn, drop, cadence))
            if activity == "running" and not in_turn:
                (left if side == "left" else right).append(drop)
            if k % 100 == 99:  # QoS 0 steps: let them through before the live queue (256) could overflow
                await wait_until(lambda n=k + 1: tele.received["hipsense_step"] >= sent_before + n, "steps")
        ml, mr = float(np.median(left)), float(np.median(right))
        asym = 100.0 * abs(ml - mr) / ((ml + mr) / 2.0)
        slope = float(rng.normal(0.5, 0.2))
        summary = RollingSummary(t_s=0.36 * STEPS_PER_RUN, activity="running", steps=STEPS_PER_RUN,
                                 median_drop_left_deg=ml, median_drop_right_deg=mr, asymmetry_index_pct=asym,
                                 fatigue_slope_deg_per_10min=slope)  # fmt: skip
        truth.asym[week].append(asym)
        truth.slopes.append(slope)
    else:
        t = 0.0
        plan = [("glute_bridge", 12, None), ("single_leg_bridge", 10, "left"), ("hip_thrust", 8, None)]
        for exercise, n, side in plan:
            t0 = t
            for i in range(n):
                t += 2.5
                clock.now = start + t
                rep = RepEvent(t_start_s=t - 2.5, t_end_s=t, exercise=exercise, side=side, index_in_set=i + 1,
                               duration_s=2.5, confidence=0.9)  # fmt: skip
                await sink.on_events(SENSOR_ID, [rep])
                truth.reps[(week, exercise)] += 1
            clock.now = start + t
            await sink.on_events(SENSOR_ID, [SetEvent(t_start_s=t0, t_end_s=t, exercise=exercise,
                                                      exercise_confidence=0.9, reps=n, side=side)])  # fmt: skip
            truth.sets[(week, exercise)] += 1
            t += 60.0
        clock.now = start + t
        await sink.on_events(SENSOR_ID, [HoldEvent(t_start_s=t, t_end_s=t + 30.0, exercise="static_lunge",
                                                   duration_s=30.0)])  # fmt: skip
        t += 90.0
        truth.glute_sessions[week] += 1
    clock.now = start + (0.36 * STEPS_PER_RUN if kind == "run" else t) + 5.0
    await sink.end_session(summary)


async def publish_weeks(mqtt_port: int, store: Store, tele: FakeTelegraf, truth: Truth) -> MqttPublisher:
    rng = np.random.default_rng(20261107)
    clock = Clock()
    settings = BrokerSettings.from_url(f"mqtt://127.0.0.1:{mqtt_port}")
    async with MqttPublisher(settings, status_topic=Topics("hipsense", SENSOR_ID).status, outbox=store) as pub:
        await pub.wait_connected(10)
        for week in range(N_WEEKS):
            monday = WEEK0.timestamp() + week * WEEK_S
            for day, hour in ((1, 7), (5, 8)):  # Tuesday and Saturday runs
                await run_session(pub, store, clock, tele, truth, rng, week, monday + day * 86400 + hour * 3600, "run")
            for j in range(GLUTE_SESSIONS_PER_WEEK[week]):
                start = monday + (2 * j) * 86400 + 18 * 3600  # Mon/Wed/Fri evenings
                await run_session(pub, store, clock, tele, truth, rng, week, start, "glute")
        assert await pub.wait_flushed(30), "outbox not flushed"
        return pub


def expected(truth: Truth) -> dict[str, dict[tuple[int, str], float]]:
    exp: dict[str, dict[tuple[int, str], float]] = defaultdict(dict)
    for w in range(N_WEEKS):
        for side in ("left", "right"):
            d = [s[4] for s in truth.steps if s[0] == w and s[1] == side and s[2] == "running" and not s[3]]
            exp["drop"][(w, side)] = float(np.median(d))
        c = [s[5] for s in truth.steps if s[0] == w and s[2] == "running" and not s[3]]
        exp["cadence"][(w, "")] = float(np.median(c))
        exp["asymmetry"][(w, "")] = float(np.mean(truth.asym[w]))
        exp["glute_sessions"][(w, "")] = float(truth.glute_sessions[w])
        for act in ("walking", "running"):
            exp["steps"][(w, act)] = float(sum(1 for s in truth.steps if s[0] == w and s[2] == act))
    for (w, ex), n in truth.reps.items():
        exp["reps"][(w, ex)] = float(n)
    for (w, ex), n in truth.sets.items():
        exp["sets"][(w, ex)] = float(n)
    return exp


PANEL_KEYS = {  # panel title prefix -> (expected key, target refIds and their series label)
    "Weekly median pelvic drop": "drop",
    "Asymmetry": "asymmetry",
    "Weekly median cadence": "cadence",
    "Glute sessions per week": "glute_sessions",
    "Reps per week": "reps",
    "Sets per week": "sets",
    "Steps per week": "steps",
}


def measured(influx: Influx, dashboard: dict[str, Any]) -> tuple[dict[str, dict[tuple[int, str], float]], int]:
    t0 = int(WEEK0.timestamp())
    t1 = t0 + N_WEEKS * WEEK_S
    got: dict[str, dict[tuple[int, str], float]] = defaultdict(dict)
    raw_points = 0
    for panel in dashboard["panels"]:
        key = next((v for k, v in PANEL_KEYS.items() if panel["title"].startswith(k)), None)
        for target in panel["targets"]:
            q = target["query"].replace("$timeFilter", f"time >= {t0}s AND time < {t1}s").replace("$sensor", SENSOR_ID)
            series = influx.query(q)
            if "GROUP BY" not in q:
                raw_points += sum(len(s["values"]) for s in series)
                continue
            assert key is not None, panel["title"]
            label = target["alias"] if key == "drop" else ""
            for s in series:
                tag = next(iter(s.get("tags", {}).values()), label.split(" ")[0])
                for t, v in s["values"]:
                    if v is not None:
                        got[key][((t - t0) // WEEK_S, tag)] = float(v)
    return got, raw_points


async def pipeline(mqtt_port: int, influx: Influx, store: Store) -> tuple[FakeTelegraf, Truth, int]:
    """Publish the six weeks, let the stand-in store them, re-deliver the QoS 1 ones; returns live drops too."""
    tele = FakeTelegraf(mqtt_port, influx)
    truth = Truth()
    async with asyncio.TaskGroup() as tg:
        consumer = tg.create_task(tele.run(), name="fake-telegraf")
        await asyncio.wait_for(tele.ready.wait(), 10)
        pub = await publish_weeks(mqtt_port, store, tele, truth)
        n_sessions = 2 * N_WEEKS + sum(GLUTE_SESSIONS_PER_WEEK)
        want = {
            "hipsense_step": len(truth.steps),
            "hipsense_rep": sum(truth.reps.values()),
            "hipsense_set": sum(truth.sets.values()) + sum(GLUTE_SESSIONS_PER_WEEK),  # + holds
            "hipsense_session": 2 * n_sessions,
        }
        await wait_until(lambda: all(tele.received[k] >= v for k, v in want.items()), "all messages")
        # QoS 1 is at-least-once: deliver every rep/set/session message a second time, as a gateway restart or a
        # lost PUBACK would; InfluxDB must keep one point each (same time, same tags).
        again = list(tele.reliable)
        async with aiomqtt.Client("127.0.0.1", mqtt_port, identifier="redeliver") as client:
            for topic, payload in again:
                await client.publish(topic, payload, qos=1)
        n_reliable = sum(v for k, v in want.items() if k != "hipsense_step")
        await wait_until(lambda: len(tele.reliable) >= 2 * n_reliable, "re-delivered messages")
        await tele.flush()
        consumer.cancel()
    return tele, truth, pub.stats.live_dropped


def main() -> int:
    if shutil.which("influxd") is None or shutil.which("mosquitto") is None:
        print("needs Debian's influxdb and mosquitto: apt-get install influxdb mosquitto")
        return 2
    dashboard = json.loads((HERE / "hipsense-trends.json").read_text())
    version = subprocess.run(["influxd", "version"], capture_output=True, text=True, check=True).stdout
    with tempfile.TemporaryDirectory(prefix="hipsense-e2e-") as tmp:
        d = Path(tmp)
        mqtt_port, http_port, rpc_port = free_port(), free_port(), free_port()
        (d / "mosquitto.conf").write_text(f"listener {mqtt_port} 127.0.0.1\nallow_anonymous true\n")
        (d / "influxdb.conf").write_text(
            f'reporting-disabled = true\nbind-address = "127.0.0.1:{rpc_port}"\n'
            f'[meta]\n  dir = "{d}/meta"\n[data]\n  dir = "{d}/data"\n  wal-dir = "{d}/wal"\n'
            "  query-log-enabled = false\n"
            f'[http]\n  bind-address = "127.0.0.1:{http_port}"\n  log-enabled = false\n'
            "[monitor]\n  store-enabled = false\n[continuous_queries]\n  enabled = false\n"
        )
        with (
            process(["mosquitto", "-c", str(d / "mosquitto.conf")], mqtt_port, d / "mosquitto.log"),
            process(["influxd", "run", "-config", str(d / "influxdb.conf")], http_port, d / "influxd.log"),
        ):
            influx = Influx(http_port)
            influx.query("CREATE DATABASE hipsense")
            store = Store(d / "sessions.db", durability="normal")
            t_start = time.perf_counter()
            try:
                tele, truth, live_dropped = asyncio.run(pipeline(mqtt_port, influx, store))
            finally:
                store.close()
            t_pipeline = time.perf_counter() - t_start
            got, raw_points = measured(influx, dashboard)
    exp = expected(truth)
    print(f"InfluxDB: {version.strip()}; Mosquitto private on 127.0.0.1:{mqtt_port}; Telegraf: stand-in")
    print(f"published and stored in {t_pipeline:.1f} s: " + ", ".join(f"{k}={v}" for k, v in tele.received.items())
          + f" (QoS 1 ones twice); live dropped by the publisher: {live_dropped}")  # fmt: skip
    print(f"{'panel':<16}{'week':>5}  {'series':<18}{'expected':>12}{'InfluxDB':>12}  ok")
    bad = 0
    for key in ("drop", "cadence", "asymmetry", "glute_sessions", "reps", "sets", "steps"):
        for wk, label in sorted(set(exp[key]) | set(got[key])):
            e, g = exp[key].get((wk, label)), got[key].get((wk, label))
            ok = e is not None and g is not None and abs(e - g) <= 1e-6 * max(1.0, abs(e))
            bad += not ok
            es, gs = ("-" if e is None else f"{e:.3f}"), ("-" if g is None else f"{g:.3f}")
            print(f"{key:<16}{wk:>5}  {label:<18}{es:>12}{gs:>12}  {'yes' if ok else 'NO'}")
    want_raw = 2 * len(truth.slopes)  # asymmetry points + fatigue slope points, one per run
    print(f"raw per-session points (asymmetry + fatigue slope): expected {want_raw}, InfluxDB {raw_points}")
    bad += raw_points != want_raw
    print("RESULT:", "all match" if bad == 0 else f"{bad} mismatches")
    return 0 if bad == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
