"""Load: a team on a track. N virtual sensors at 208 Hz -> one gateway process -> session store + Mosquitto.

The gateway is :func:`sensor.gateway.run_gateway`, the wiring of ``hipsense run``: Bleak on the Bumble backend ->
SensorLink -> LinkDecoder -> pipeline -> Recorder (session store, the MQTT outbox) + one MqttSink per sensor. The
sensors are Bumble virtual sensors on an in-process LocalLink sharing a sped-up world clock (``--speed``); each
samples ``--minutes`` of sensor time (a looped track session: stand, run laps with turns, stand) and then stops
sampling, so the check is exact: every sample it generated must be in the store, every QoS 1 message its events
queued must reach a subscriber on the broker, and the steps (QoS 0 live messages) are counted too.

Printed: per sensor samples generated / sent / recorded (+ gaps, index continuity, host-time monotonicity), steps
produced / received, QoS 1 messages queued / received / duplicated; RSS and lag (sensor rings, host lag) at
intervals; process CPU per sensor-second. CPU covers the whole process: the virtual sensors and the virtual radio
run here too (on a real deployment they are hardware), so the gateway's own share is lower. On the shared 2-core
machine CPU and achieved speed are noisy.

    python bench/bench_load.py                  # 8 sensors, 30 min of sensor time
    python bench/bench_load.py --quick          # 8 sensors, 2 min (iteration)
    python bench/bench_load.py --minutes 5 --speed 2
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from _live import (
    GovernedClock,
    Sampler,
    StreamStart,
    Subscriber,
    dump_tasks_on_sigusr1,
    outbox_messages,
    recorded_samples,
)

from firmware_proto.virtual_sensor import SampleSource, VirtualSensorConfig, VirtualWorld, sensor_address
from sensor.ble.link import BleBackend
from sensor.config import BrokerConfig, SensorEntry
from sensor.events import Event, StepEvent
from sensor.gateway import GatewayOptions, run_gateway
from sensor.model import RawFrame
from sensor.sim import Running, Scenario, SensorModel, Standing, Turn

RATE_HZ = 208.0
RING_SAMPLES = 1 << 17  # 10 min at 208 Hz: a sped-up world turns a wall-clock stall into minutes of sensor time


def track_scenario() -> Scenario:
    """Stand, four laps of a 400 m track at ~3.3 m/s (two bends each), stand; looped by the virtual sensor."""
    turns = [Turn(at_s=20.0 + 60.0 * k + 30.0 * b, angle_deg=180.0, duration_s=9.0) for k in range(4) for b in (0, 1)]
    return Scenario(
        name="track",
        segments=[
            Standing(duration_s=20.0),
            Running(duration_s=240.0, speed_mps=3.3, cadence_spm=172.0, turns=turns),
            Standing(duration_s=40.0),
        ],
        sensor=SensorModel(sampling_rate_hz=RATE_HZ),
        seed=21,
    )


class HostLag:
    """A sink that notes the newest host time the pipeline has handed on (world now minus that is the host lag)
    and counts the steps it produced."""

    def __init__(self, clock: GovernedClock) -> None:
        self.clock = clock
        self.newest_host_t_s = 0.0
        self.steps: Counter[str] = Counter()  # steps produced per sensor (the gateway keeps no events)
        self.frames = 0

    def lag_s(self) -> float:
        return max(self.clock.now() - self.newest_host_t_s, 0.0) if self.newest_host_t_s else 0.0

    async def on_frames(self, frames: Sequence[RawFrame]) -> None:
        self.frames += len(frames)
        if frames:
            self.newest_host_t_s = max(self.newest_host_t_s, frames[-1].host_t_s)

    async def on_events(self, sensor_id: str, events: Sequence[Event]) -> None:
        self.steps[sensor_id] += sum(1 for e in events if isinstance(e, StepEvent))


async def run(n: int, minutes: float, speed: float, broker: str, period_s: float, workdir: Path) -> dict[str, Any]:
    dump_tasks_on_sigusr1()
    host, _, port = broker.partition(":")
    prefix = f"hs-load-{uuid.uuid4().hex[:8]}"
    configs = [
        VirtualSensorConfig(
            address=sensor_address(i),
            sampling_rate_hz=RATE_HZ,
            duration_s=minutes * 60.0,
            buffer_samples=RING_SAMPLES,
            seed=i,
        )
        for i in range(1, n + 1)
    ]
    source = SampleSource(scenario=track_scenario())
    source.window(RATE_HZ, 0, 1)  # simulate the looped session once, before the clock matters
    sub_out = workdir / "subscriber.txt"
    sub = Subscriber(host, int(port or 1883), prefix, persistent=False, client_id=f"{prefix}-sub", out=sub_out)
    store_path = workdir / "sessions.db"
    clock = GovernedClock(speed)
    lag = HostLag(clock)
    sub_stop, gw_stop, sampler_stop = asyncio.Event(), asyncio.Event(), asyncio.Event()
    world = VirtualWorld(configs, speed=speed, source=source)
    clock.install(world)
    async with world, asyncio.TaskGroup() as tg:
        starts = StreamStart(world)
        tg.create_task(sub.run(sub_stop), name="subscriber")
        await asyncio.wait_for(sub.subscribed.wait(), 10.0)
        sampler = Sampler(world, lag.lag_s, period_s)
        tg.create_task(sampler.run(sampler_stop), name="sampler")
        tg.create_task(clock.govern(world, lag.lag_s, sampler_stop))

        async def stopper() -> None:
            while not all(s.finished for s in world.sensors):  # noqa: ASYNC110 (polling the sensors' state)
                await asyncio.sleep(0.2)
            await asyncio.sleep(1.0)  # wall time: let what is in flight arrive before the gateway hangs up
            gw_stop.set()

        tg.create_task(stopper(), name="stopper")
        opts = GatewayOptions(
            sensors=[SensorEntry(alias=f"runner{i}", address=c.address) for i, c in enumerate(configs, 1)],
            backend_for=lambda _e: BleBackend(world.central),
            clock=world.clock,
            store_path=store_path,
            session_name="load",
            broker=BrokerConfig(topic_prefix=prefix, ha_discovery="off"),
            broker_url=f"mqtt://{host}:{port or 1883}",
            web=False,
            announce=lambda _t: None,
            stop=gw_stop,
            extra_sinks=[lag],
        )
        c0, t0, w0 = time.process_time(), time.perf_counter(), world.clock.now()
        result = await run_gateway(opts)
        cpu_s, wall_s, world_s = time.process_time() - c0, time.perf_counter() - t0, world.clock.now() - w0
        sampler_stop.set()
        assert result.session_id is not None
        queued = outbox_messages(store_path, result.session_id)
        await sub.settle(set(queued), quiet_s=2.0, max_s=60.0)
        sub_stop.set()
    recorded = recorded_samples(store_path, result.session_id)
    return {
        "n": n,
        "minutes": minutes,
        "speed": speed,
        "world": world,
        "starts": starts,
        "lag": lag,
        "configs": configs,
        "result": result,
        "recorded": recorded,
        "queued": queued,
        "received": sub.received,
        "sampler": sampler,
        "cpu_s": cpu_s,
        "wall_s": wall_s,
        "world_s": world_s,
    }


def report(r: dict[str, Any]) -> bool:
    """Print the tables; True when nothing was lost or duplicated."""
    world, result, recorded, queued, received = r["world"], r["result"], r["recorded"], r["queued"], r["received"]
    steps = r["lag"].steps
    q_by_sensor = Counter(sid for sid, _ in queued.values())
    got_by_sensor: Counter[str] = Counter()
    dup_by_sensor: Counter[str] = Counter()
    for eid, (sid, _) in queued.items():
        if received.qos1_ids[eid]:
            got_by_sensor[sid] += 1
        dup_by_sensor[sid] += max(received.qos1_ids[eid] - 1, 0)
    unknown = set(received.qos1_ids) - set(queued)
    ok = not unknown
    print(
        f"\n{r['n']} sensors x {RATE_HZ:g} Hz, {r['minutes']:g} min of sensor time each; speed knob {r['speed']:g}, "
        f"achieved {r['world_s'] / r['wall_s']:.2f}x real time ({r['wall_s']:.0f} s wall)"
    )
    print(
        f"{'sensor':<9} {'generated':>9} {'sent':>9} {'recorded':>9} {'lost':>5} {'gaps':>4} {'contig':>6} "
        f"{'t mono':>6} {'steps prod':>10} {'steps recv':>10} {'QoS1 queued':>11} {'QoS1 recv':>9} {'dups':>4}"
    )
    for i, s in enumerate(world.sensors, 1):
        sid = f"runner{i}"
        rec = recorded.get(sid)
        n_rec = rec.samples if rec else 0
        first = r["starts"].first_index.get(i - 1, 0)
        generated = s.head_index - first
        lost = generated - n_rec
        row_ok = (
            rec is not None
            and lost == 0
            and rec.missing == 0
            and rec.contiguous
            and rec.t_monotonic
            and rec.first_index == first
            and rec.last_index == s.head_index - 1
            and got_by_sensor[sid] == q_by_sensor[sid]
            and dup_by_sensor[sid] == 0
            and received.steps[sid] == steps[sid]
        )
        ok = ok and row_ok
        print(
            f"{sid:<9} {generated:9d} {s.stats.samples_sent:9d} {n_rec:9d} {lost:5d} {rec.missing if rec else -1:4d} "
            f"{'yes' if rec and rec.contiguous else 'NO':>6} {'yes' if rec and rec.t_monotonic else 'NO':>6} "
            f"{steps[sid]:10d} {received.steps[sid]:10d} {q_by_sensor[sid]:11d} {got_by_sensor[sid]:9d} "
            f"{dup_by_sensor[sid]:4d}"
        )
    print(f"QoS 1 received by topic: {dict(received.qos1_by_topic)}; unknown ids received: {len(unknown)}")
    sampler: Sampler = r["sampler"]
    print("\nRSS and lag over the run (sensor ring = samples not yet sent, host lag = world s behind)")
    print(sampler.rss_table())
    print(sampler.rss_summary())
    sensor_s = sum(rec.samples for rec in recorded.values()) / RATE_HZ
    print(
        f"\nprocess CPU {r['cpu_s']:.0f} s for {sensor_s:.0f} sensor-seconds: "
        f"{100 * r['cpu_s'] / sensor_s:.2f} % of one core per sensor ({1e6 * r['cpu_s'] / (sensor_s * RATE_HZ):.1f} "
        "us per sample; includes the virtual sensors and radio; shared 2-core machine, noisy)"
    )
    print(f"pipeline events: {result.stats.events_by_kind}")
    for sid, p in result.publishers.items():
        print(f"  {sid}: MQTT {p}")
    print("ZERO LOSS: " + ("yes" if ok else "NO"))
    return ok


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sensors", type=int, default=8)
    ap.add_argument("--minutes", type=float, default=30.0, help="sensor time per sensor (default 30)")
    ap.add_argument("--speed", type=float, default=4.0, help="top world clock speed (x real time)")
    ap.add_argument("--quick", action="store_true", help="2 minutes of sensor time")
    ap.add_argument("--broker", default="127.0.0.1:1883", help="host:port of the MQTT broker (Mosquitto)")
    ap.add_argument("--sample-every", type=float, default=None, help="wall seconds between RSS samples")
    ap.add_argument("--log", default=None, help="log INFO of these loggers (comma-separated, e.g. sensor.ble)")
    ap.add_argument("--store-dir", type=Path, default=None, help="keep the session store here")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("bumble").setLevel(logging.ERROR)  # "no connection for ..." after every hang-up
    for name in (args.log or "").split(","):
        if name:
            logging.getLogger(name).setLevel(logging.INFO)
    minutes = 2.0 if args.quick else args.minutes
    period = args.sample_every or max(2.0, minutes * 60.0 / args.speed / 40.0)
    with tempfile.TemporaryDirectory(prefix="hs-load-") as tmp:
        workdir = args.store_dir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        r = asyncio.run(run(args.sensors, minutes, args.speed, args.broker, period, workdir))
        ok = report(r)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
