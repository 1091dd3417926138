"""Decode speed of the third-party sensor codecs (samples/s, us per notification, share of one core for one
live sensor at its stream rate), with naive peers.

Peers, run in the same process on the same notifications: a per-frame ``struct`` loop as in WitMotion's Python
SDK, and a per-bit Python loop for Polar's delta frames as in the community ports of Polar's SDK. Each peer's
output is checked against ours before timing.

Run: ``python bench/bench_thirdparty_decode.py [--seconds 1.0]``
"""

from __future__ import annotations

import argparse
import struct
import time
from collections.abc import Callable

import numpy as np

from sensor.model import ImuBlock, RawFrame
from sensor.protocol import polar, witmotion
from sensor.protocol.polar import MeasurementType


def _block(n: int, rate_hz: float, seed: int = 0) -> ImuBlock:
    rng = np.random.default_rng(seed)
    t = 1000.0 + np.arange(n) / rate_hz
    acc = np.cumsum(rng.normal(0, 0.2, (n, 3)), axis=0) * 0.1 + np.array([0, 0, 9.81])
    gyr = np.cumsum(rng.normal(0, 0.02, (n, 3)), axis=0) * 0.1
    return ImuBlock.from_arrays("bench", t, acc, gyr)


def _naive_witmotion(payload: bytes) -> list[tuple[float, ...]]:
    out = []
    for i in range(0, len(payload), 20):
        if payload[i] != 0x55 or payload[i + 1] != 0x61:
            continue
        v = struct.unpack_from("<9h", payload, i + 2)
        out.append((*(x / 32768 * 16 for x in v[0:3]), *(x / 32768 * 2000 for x in v[3:6])))
    return out


def _naive_polar_compressed(payload: bytes) -> list[list[int]]:
    ref = list(struct.unpack_from("<3h", payload, 10))
    samples, pos = [ref], 16
    while pos < len(payload):
        width, count = payload[pos], payload[pos + 1]
        pos += 2
        bit = 0
        for _ in range(count):
            delta = []
            for _ in range(3):
                v = 0
                for b in range(width):
                    byte = payload[pos + (bit >> 3)]
                    v |= ((byte >> (bit & 7)) & 1) << b
                    bit += 1
                if v & (1 << (width - 1)):
                    v -= 1 << width
                delta.append(v)
            samples.append([a + d for a, d in zip(samples[-1], delta, strict=True)])
        pos += (bit + 7) // 8
    return samples


def _rate(run: Callable[[], int], seconds: float) -> tuple[float, float]:
    """Repeat ``run`` (which returns samples decoded) for about ``seconds``; samples/s and runs/s."""
    run()
    n_runs, n_samples, t0 = 0, 0, time.perf_counter()
    while (elapsed := time.perf_counter() - t0) < seconds:
        n_samples += run()
        n_runs += 1
    return n_samples / elapsed, n_runs / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="time per row")
    args = parser.parse_args()
    rows: list[tuple[str, float, float, int, float]] = []

    # WitMotion at 100 Hz: one frame per notification (MTU 23) and 12 per notification (MTU 247)
    wit_block = _block(2400, 100.0)
    for per in (1, 12):
        notes = witmotion.encode_block(wit_block, frames_per_notification=per)
        frames = [RawFrame("w", 1000.0 + i * per / 100.0, p, witmotion.NOTIFY_UUID) for i, p in enumerate(notes)]

        def run_wit(frames: list[RawFrame] = frames) -> int:
            dec = witmotion.WitMotionDecoder("w", sampling_rate_hz=100.0)
            return sum(len(b) for f in frames if (b := dec.decode(f)) is not None)

        def run_naive(notes: list[bytes] = notes) -> int:
            return sum(len(_naive_witmotion(p)) for p in notes)

        ours = witmotion.parse_notification(notes[0])
        assert np.allclose(np.array(_naive_witmotion(notes[0]))[:, :3], ours.acc_g)
        rows.append((f"witmotion, {per} frame(s)/notification", *_rate(run_wit, args.seconds), len(notes), 100.0))
        peer = f"  peer: struct loop (vendor SDK style), {per}/notif."
        rows.append((peer, *_rate(run_naive, args.seconds), len(notes), 100.0))

    # Polar H10 ACC 200 Hz raw int16, Verity Sense ACC+GYRO 52 Hz compressed, at MTU 247
    h10 = _block(4000, 200.0)
    raw = polar.encode_block(ImuBlock.from_arrays("p", h10.t_s, h10.acc_mps2), compressed=False)
    comp = polar.encode_block(ImuBlock.from_arrays("p", h10.t_s, h10.acc_mps2), compressed=True)
    vs = _block(2080, 52.0)
    merged = sorted(
        polar.encode_block(vs, measurement=MeasurementType.ACC)
        + polar.encode_block(vs, measurement=MeasurementType.GYRO),
        key=lambda p: int.from_bytes(p[1:9], "little"),
    )
    for label, notes, kwargs in (
        ("polar H10 ACC raw int16", raw, {"model": "h10", "sampling_rate_hz": 200.0}),
        ("polar H10 ACC delta-compressed", comp, {"model": "h10", "sampling_rate_hz": 200.0}),
        ("polar Verity ACC+GYRO compressed, merged", merged, {"model": "verity_sense", "sampling_rate_hz": 52.0}),
    ):
        stream_hz = float(kwargs["sampling_rate_hz"])  # type: ignore[arg-type]
        frames = [RawFrame("p", 0.0, p, polar.PMD_DATA_UUID) for p in notes]

        def run_polar(frames: list[RawFrame] = frames, kwargs: dict[str, object] = kwargs) -> int:
            dec = polar.make_decoder("p", **kwargs)
            return sum(len(b) for f in frames if (b := dec.decode(f)) is not None)

        rows.append((label, *_rate(run_polar, args.seconds), len(notes), stream_hz))

    assert _naive_polar_compressed(comp[0]) == polar.parse_frame(comp[0]).samples.tolist()

    def run_naive_polar() -> int:
        return sum(len(_naive_polar_compressed(p)) for p in comp)

    rows.append(
        ("  peer: per-bit Python loop, H10 compressed", *_rate(run_naive_polar, args.seconds), len(comp), 200.0)
    )

    print(f"{'decoder':<52} {'samples/s':>12} {'us/notification':>16} {'stream Hz':>10} {'% core/sensor':>14}")
    for label, samples_per_s, runs_per_s, n_notes, stream_hz in rows:
        us_per_note = 1e6 / (runs_per_s * n_notes)
        core_pct = 100.0 * stream_hz / samples_per_s
        print(f"{label:<52} {samples_per_s:>12,.0f} {us_per_note:>16.1f} {stream_hz:>10.0f} {core_pct:>14.3f}")


if __name__ == "__main__":
    main()
