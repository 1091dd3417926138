"""Decode throughput of protocol v1 on one core: batched and streaming host decoders vs a naive peer.

Run: ``python bench/bench_decode.py [--quick]``. Prints a table of decoded samples per second for ATT MTU 23,
185 and 247 (6-axis at 416 Hz, full packets), plus what 8 sensors x 416 Hz cost per second of data.

Peers, in the same process on the same packets:
* ``decode_packets``: stateless batch decode (header validation + int16 views + SI scaling, numpy);
* ``decoder.decode_batch``: the stateful stream decoder, frames handed over 1000 at a time (unwrap, gaps);
* ``decode_batch every 50ms``: the same, handed what one sensor's notification queue holds after 50 ms;
* ``decoder.decode``: the stream decoder, one notification at a time (the live path);
* ``naive struct``: a straightforward decoder, ``struct.unpack_from`` per sample into Python lists.
"""

from __future__ import annotations

import argparse
import struct
import time
from collections.abc import Callable
from functools import partial

import numpy as np

from firmware_proto.micropython import hsproto as P
from sensor.model import RawFrame
from sensor.protocol import hipsense_v1 as H

RATE_CODE = 6  # 416 Hz


def make_frames(mtu: int, n_packets: int, seed: int = 1) -> list[RawFrame]:
    rng = np.random.default_rng(seed)
    n = P.max_samples_per_packet(mtu, True)
    body = rng.integers(-32768, 32767, size=(n_packets, n * 6), dtype=np.int16).astype("<i2")
    frames = []
    for k in range(n_packets):
        i = k * n
        raw = P.encode_data_packet_raw(i, P.period_ticks(RATE_CODE, i), body[k].tobytes(), 2, 2, RATE_CODE)
        frames.append(RawFrame("s", 1000.0 + i / 416.0, raw, H.DATA_UUID))
    return frames


def naive_decode(payloads: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
    acc: list[tuple[float, float, float]] = []
    gyr: list[tuple[float, float, float]] = []
    for p in payloads:
        b0, b1, n, _idx, _lo, _hi = struct.unpack_from("<BBBHHB", p)
        if b0 >> 4 != 1:
            raise ValueError("version")
        a_lsb = P.ACC_RANGES[b1 >> 6][1] * 9.80665
        g_lsb = np.radians(P.GYR_RANGES[(b1 >> 3) & 7][1])
        for k in range(n):
            ax, ay, az, gx, gy, gz = struct.unpack_from("<6h", p, 8 + 12 * k)
            acc.append((ax * a_lsb, ay * a_lsb, az * a_lsb))
            gyr.append((gx * g_lsb, gy * g_lsb, gz * g_lsb))
    return np.array(acc), np.array(gyr)


def stream_batches(frames: list[RawFrame], size: int) -> object:
    dec = H.HipSenseV1Decoder("s")
    return [dec.decode_batch(frames[i : i + size]) for i in range(0, len(frames), size)]


def stream_each(frames: list[RawFrame]) -> object:
    dec = H.HipSenseV1Decoder("s")
    return [dec.decode(f) for f in frames]


def best_of(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer packets (a smoke run)")
    args = ap.parse_args()
    samples_target = 60_000 if args.quick else 400_000
    repeat = 2 if args.quick else 3
    print(f"{'MTU':>4} {'samples/pkt':>11} {'method':<24} {'samples/s':>14} {'us/packet':>10} {'x naive':>8}")
    per_packet_us: dict[int, float] = {}
    per_packet_batched_us: dict[int, float] = {}
    for mtu in (23, 185, 247):
        n = P.max_samples_per_packet(mtu, True)
        n_packets = samples_target // n
        frames = make_frames(mtu, n_packets)
        payloads = [f.payload for f in frames]
        total = n_packets * n

        # sanity: the peers agree on the numbers
        ref_acc, _ = naive_decode(payloads[:50])
        np.testing.assert_allclose(H.decode_packets(payloads[:50]).acc_mps2, ref_acc, rtol=1e-12)
        drain = max(1, round(416 * 0.05 / n))  # packets queued in 50 ms at 416 Hz
        rows = [
            ("decode_packets (batch)", partial(H.decode_packets, payloads)),
            ("decoder.decode_batch", partial(stream_batches, frames, 1000)),
            ("decode_batch every 50ms", partial(stream_batches, frames, drain)),
            ("decoder.decode (live)", partial(stream_each, frames)),
            ("naive struct per sample", partial(naive_decode, payloads)),
        ]
        times = {name: best_of(fn, repeat) for name, fn in rows}
        t_naive = times["naive struct per sample"]
        for name, _ in rows:
            t = times[name]
            print(f"{mtu:>4} {n:>11} {name:<24} {total / t:>14,.0f} {1e6 * t / n_packets:>10.1f} {t_naive / t:>8.1f}")
        per_packet_us[mtu] = 1e6 * times["decoder.decode (live)"] / n_packets
        per_packet_batched_us[mtu] = 1e6 * times["decode_batch every 50ms"] / n_packets
    print()
    print("Live load of 8 sensors x 416 Hz (6-axis), share of one core:")
    print(f"{'MTU':>6} {'notif/s':>8} {'one by one':>11} {'queue drained every 50 ms':>26}")
    for mtu, us in per_packet_us.items():
        pkts = 8 * 416 / P.max_samples_per_packet(mtu, True)
        print(f"{mtu:>6} {pkts:>8.0f} {pkts * us / 1e4:>10.2f}% {pkts * per_packet_batched_us[mtu] / 1e4:>25.2f}%")


if __name__ == "__main__":
    main()
