"""Session store speed: record, replay --fast, and import, on one core.

Run: ``python bench/bench_sessions.py [--minutes 60] [--import-minutes 10]``. Prints one table.

* data: a simulated run at 208 Hz (``sensor.sim``), encoded as protocol v1 notifications by the firmware's own
  encoder (9 samples per notification, as the virtual sensor sends them);
* record: the :class:`Recorder` sink fed as fast as possible (commits on size, ``synchronous=FULL``), and the
  store's ``write_batch`` alone with FULL and NORMAL durability, in the same process;
* replay --fast: :class:`ReplaySource` (``speed=None``) through ``sensor.app.run_pipeline`` with the registry's
  hipsense_v1 decoder, no analyzer (the decode path; the integrator adds the pipeline), and the same for a session
  imported into the ``imu-f64`` channel;
* import: HipSense CSV, a phyphox zip (accelerometer + gyroscope CSVs) and a Sensor Logger zip
  (TotalAcceleration + Gyroscope), rows per second of the accelerometer file, parsing + checks + one transaction.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from sensor.app import run_pipeline
from sensor.model import ImuBlock
from sensor.sessions.hipsense_csv import write_csv
from sensor.sessions.importers import import_file
from sensor.sessions.recorder import Recorder
from sensor.sessions.replay import ReplaySource, session_decoder_factory
from sensor.sessions.store import SensorMeta, Store
from sensor.sim import Running, Scenario, SensorModel, simulate
from tests.sessions._files import write_phyphox_zip, write_sensor_logger_zip
from tests.sessions._v1frames import v1_frames

META = SensorMeta(sensor_id="hip", sensor_type="hipsense_v1", protocol_version=1, sampling_rate_hz=208.0)


def _row(name: str, data_s: float, wall_s: float, units: float, unit: str) -> tuple[str, str, str, str, str]:
    return (name, f"{data_s:,.0f}", f"{wall_s:.3f}", f"{data_s / wall_s:,.0f}x", f"{units / wall_s:,.0f} {unit}")


async def _record(store: Store, frames: list, durability: str) -> tuple[str, float]:  # type: ignore[type-arg]
    t0 = time.perf_counter()
    async with Recorder(store, name=f"bench {durability}", sensors=[META]) as rec:
        for i in range(0, len(frames), 50):  # notification bursts as a link queue hands them over
            await rec.on_frames(frames[i : i + 50])
            await asyncio.sleep(0)
    return rec.session_id, time.perf_counter() - t0


async def _replay(store: Store, sid: str) -> tuple[int, float]:
    t0 = time.perf_counter()
    stats = await run_pipeline(ReplaySource(store, sid, speed=None), session_decoder_factory(store, sid), None, [])
    return stats.samples, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=60.0, help="length of the recorded run (default 60)")
    ap.add_argument("--import-minutes", type=float, default=10.0, help="length of the imported files (default 10)")
    args = ap.parse_args()
    duration_s = args.minutes * 60.0
    block = simulate(
        Scenario(segments=[Running(duration_s=duration_s)], sensor=SensorModel(sampling_rate_hz=208.0), seed=1)
    ).block
    block = ImuBlock.from_arrays(
        "hip",
        block.t_s,
        block.acc_mps2,
        block.gyr_radps,
        sample_index=block.sample_index,
        missing_before=block.missing_before,
    )
    frames = v1_frames(block)
    rows = []
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        with Store(tmp / "rec.db") as store:
            sid, wall = asyncio.run(_record(store, frames, "full"))
            rows.append(_row("record: Recorder sink (FULL)", duration_s, wall, len(frames), "frames/s"))
            for durability in ("full", "normal"):
                with Store(tmp / f"wb-{durability}.db", durability=durability) as st:  # type: ignore[arg-type]
                    s2 = st.create_session(sensors=[META])
                    t0 = time.perf_counter()
                    for i in range(0, len(frames), 104):  # one commit per 0.5 s of data, as the recorder does
                        st.write_batch(s2, frames[i : i + 104])
                    rows.append(
                        _row(
                            f"record: write_batch per 0.5 s ({durability.upper()})",
                            duration_s,
                            time.perf_counter() - t0,
                            len(frames),
                            "frames/s",
                        )
                    )
            n, wall = asyncio.run(_replay(store, sid))
            rows.append(_row("replay --fast: v1 frames -> decode", n / 208.0, wall, n, "samples/s"))
        size_mb = (tmp / "rec.db").stat().st_size / 1e6

        mins = args.import_minutes
        imp_block: ImuBlock = block.slice(0, round(mins * 60 * 208))
        csv_path = tmp / "run.csv"
        write_csv(csv_path, imp_block)
        write_phyphox_zip(tmp / "phyphox.zip", mins * 60, rate_hz=200.0)
        write_sensor_logger_zip(tmp / "sl.zip", mins * 60, rate_hz=100.0)
        with Store(tmp / "imp.db") as st:
            for name, path, n_rows in (
                ("import: HipSense CSV", csv_path, len(imp_block)),
                ("import: phyphox zip (acc + gyr)", tmp / "phyphox.zip", round(mins * 60 * 200)),
                ("import: Sensor Logger zip (total acc + gyr)", tmp / "sl.zip", round(mins * 60 * 100)),
            ):
                t0 = time.perf_counter()
                res = import_file(st, path)
                rows.append(_row(name, res.duration_s, time.perf_counter() - t0, n_rows, "rows/s"))
            sid_csv = st.session_ids()[0]
            n, wall = asyncio.run(_replay(st, sid_csv))
            rows.append(_row("replay --fast: imported imu-f64 -> decode", n / 208.0, wall, n, "samples/s"))

    head = ("what", "data s", "wall s", "x realtime", "throughput")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(5)]
    print(
        f"session store bench: {args.minutes:g} min of 208 Hz running, {len(frames):,} v1 notifications, "
        f"store {size_mb:.1f} MB"
    )
    for r in [head, *rows]:
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))))


if __name__ == "__main__":
    main()
