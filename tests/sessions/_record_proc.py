"""A recording process for the robustness tests: streams synthetic 208 Hz IMU frames in real time into a store
through the Recorder, and prints ``<samples handed to the recorder>`` after every frame (flushed), until killed.

Usage: python -m tests.sessions._record_proc STORE_PATH [SAMPLES_PER_FRAME]
"""

from __future__ import annotations

import asyncio
import sys
import time

from sensor.sessions import imu_f64
from sensor.sessions.recorder import Recorder
from sensor.sessions.store import SensorMeta, Store
from tests.sessions._synth import synth_block

RATE_HZ = 208.0


async def main(path: str, per_frame: int) -> None:
    block = synth_block("hip", duration_s=120.0, rate_hz=RATE_HZ, seed=11)
    frames = imu_f64.frames_from_block(block, samples_per_frame=per_frame, host_t0_s=time.time())
    with Store(path) as store:
        meta = SensorMeta(sensor_id="hip", sensor_type=imu_f64.SENSOR_TYPE, sampling_rate_hz=RATE_HZ)
        async with Recorder(store, name="killme", sensors=[meta]) as rec:
            print(f"session {rec.session_id}", flush=True)
            t0 = time.monotonic()
            sent = 0
            for i, f in enumerate(frames):
                # pace like a live link: frame i arrives when its last sample has been measured
                delay = (i + 1) * per_frame / RATE_HZ - (time.monotonic() - t0)
                if delay > 0:
                    await asyncio.sleep(delay)
                await rec.on_frames([f])
                sent += per_frame
                sys.stdout.write(f"{sent}\n")
                sys.stdout.flush()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 8))
