"""Regenerate the golden vectors of protocol v1: ``python -m firmware_proto.vectors.generate``.

The bytes here are assembled field by field straight from PROTOCOL.md (``int.to_bytes`` per field), and the
decoded values are computed from the spec's tables: this file does NOT call the encoder (``hsproto``) or the
host decoder, so the vectors check both of them independently. The JSON files are committed; a test checks
that they equal this script's output.
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
G0 = 9.80665
TICKS = 32768
RATE_HZ = {3: 52.0, 4: 104.0, 5: 208.0, 6: 416.0, 7: 833.0}
ACC_LSB_G = {0: 0.000061, 1: 0.000122, 2: 0.000244, 3: 0.000488}
ACC_RANGE_G = {0: 2, 1: 4, 2: 8, 3: 16}
GYR_LSB_DPS = {0: 0.004375, 1: 0.00875, 2: 0.0175, 3: 0.035, 4: 0.070}
GYR_RANGE_DPS = {0: 125, 1: 245, 2: 500, 3: 1000, 4: 2000}
GYR_OFF = 7
MTU_CLASSES = (23, 104, 185, 247, 517)


def le(value: int, size: int, signed: bool = False) -> bytes:
    return value.to_bytes(size, "little", signed=signed)


def per_packet(mtu: int, has_gyr: bool) -> int:
    return min((mtu - 3 - 8) // (12 if has_gyr else 6), 255)


def data_bytes(
    rate: int, acc: int, gyr: int, index: int, ts: int, acc_c: list[list[int]], gyr_c: list[list[int]] | None
) -> bytes:
    out = bytes([0x10 | rate, (acc << 6) | (gyr << 3), len(acc_c)]) + le(index % 65536, 2) + le(ts % (1 << 24), 3)
    for k, a in enumerate(acc_c):
        for v in a:
            out += le(v, 2, signed=True)
        if gyr_c is not None:
            for v in gyr_c[k]:
                out += le(v, 2, signed=True)
    return out


def data_vector(
    name: str,
    rate: int,
    acc: int,
    gyr: int,
    index: int,
    ts: int,
    acc_c: list[list[int]],
    gyr_c: list[list[int]] | None,
    mtu: int | None = None,
) -> dict[str, Any]:
    raw = data_bytes(rate, acc, gyr, index, ts, acc_c, gyr_c)
    if mtu is not None:
        assert len(raw) <= mtu - 3, (name, len(raw), mtu)
    return {
        "name": name,
        "mtu": mtu,
        "hex": raw.hex(),
        "sample_index": index,  # as given to the encoder (may be above 16 bits: it is masked)
        "ts_ticks": ts,
        "version": 1,
        "rate_code": rate,
        "sampling_rate_hz": RATE_HZ[rate],
        "acc_range_code": acc,
        "acc_range_g": ACC_RANGE_G[acc],
        "gyr_range_code": gyr,
        "gyr_range_dps": None if gyr == GYR_OFF else GYR_RANGE_DPS[gyr],
        "n_samples": len(acc_c),
        "index_raw": index % 65536,
        "ts_ticks_raw": ts % (1 << 24),
        "acc_counts": acc_c,
        "gyr_counts": gyr_c,
        "acc_mps2": [[v * ACC_LSB_G[acc] * G0 for v in a] for a in acc_c],
        "gyr_radps": None if gyr_c is None else [[math.radians(v * GYR_LSB_DPS[gyr]) for v in g] for g in gyr_c],
    }


def samples(rng: random.Random, n: int) -> list[list[int]]:
    return [[rng.randint(-32768, 32767) for _ in range(3)] for _ in range(n)]


def data_vectors() -> list[dict[str, Any]]:
    rng = random.Random(20261121)
    out = []
    # every MTU class, full packets, 6-axis and accelerometer-only
    for mtu in MTU_CLASSES:
        for has_gyr in (True, False):
            n = per_packet(mtu, has_gyr)
            out.append(
                data_vector(
                    f"mtu{mtu}_{'6axis' if has_gyr else 'acc_only'}_full",
                    6,
                    2,
                    2 if has_gyr else GYR_OFF,
                    rng.randrange(0, 1 << 20),
                    rng.randrange(0, 1 << 30),
                    samples(rng, n),
                    samples(rng, n) if has_gyr else None,
                    mtu,
                )
            )
    # every rate, accelerometer range and gyroscope range
    for rate in RATE_HZ:
        out.append(
            data_vector(f"rate_code_{rate}", rate, 1, 1, 1000 + rate, 5000, samples(rng, 1), samples(rng, 1), 23)
        )
    for acc in ACC_RANGE_G:
        out.append(data_vector(f"acc_range_code_{acc}", 4, acc, 3, 7, 9, samples(rng, 2), samples(rng, 2)))
    for gyr in GYR_RANGE_DPS:
        out.append(data_vector(f"gyr_range_code_{gyr}", 5, 3, gyr, 8, 10, samples(rng, 2), samples(rng, 2)))
    # extremes
    ext = [[-32768, 32767, 0], [32767, -32768, -1], [1, -1, 0]]
    out.append(data_vector("int16_extremes", 7, 3, 4, 65535, (1 << 24) - 1, ext, ext[::-1], 185))
    out.append(data_vector("index_and_ts_masked", 6, 0, 0, (1 << 32) + 65535, (1 << 32) + 0xABCDEF, ext[:1], ext[1:2]))
    out.append(data_vector("zero_everything", 3, 0, 0, 0, 0, [[0, 0, 0]], [[0, 0, 0]], 23))
    out.append(data_vector("acc_only_mtu23_extremes", 4, 3, GYR_OFF, 12345, 54321, ext[:2], None, 23))
    # a 1 g reading at +-8 g: 4096 counts -> 4096 * 0.244 mg = 0.999 g
    out.append(data_vector("one_g_z_8g", 5, 2, 2, 42, 32768, [[0, 0, 4096]], [[0, 0, 0]], 23))
    return out


BAD = [
    ("empty", "", "short", 0),
    ("seven_bytes", "16500100000000", "short", 7),
    ("version_0", "0650010000000000000000000000000000000000", "version", 0),
    ("version_2", "2650010000000000000000000000000000000000", "version", 0),
    ("version_15", "f650010000000000000000000000000000000000", "version", 0),
    ("rate_code_0", "1050010000000000000000000000000000000000", "rate", 0),
    ("rate_code_8", "1850010000000000000000000000000000000000", "rate", 0),
    ("rate_code_15", "1f50010000000000000000000000000000000000", "rate", 0),
    ("gyr_range_code_5", "1668010000000000000000000000000000000000", "gyr_range", 1),
    ("gyr_range_code_6", "1670010000000000000000000000000000000000", "gyr_range", 1),
    ("reserved_bits", "1651010000000000000000000000000000000000", "reserved", 1),
    ("count_zero", "1650000000000000", "count", 2),
    ("truncated_6axis", "16500200000000000000000000000000000000000000", "truncated", 22),
    ("truncated_mid_sample", "165001000000000000", "truncated", 9),
    ("trailing_byte", "165001000000000000000000000000000000000000", "length", 20),
    ("acc_only_trailing", "16780100000000000000000000000000", "length", 14),
    ("acc_only_truncated", "1678030000000000000000000000000000000000", "truncated", 20),
]


def bad_vectors() -> list[dict[str, Any]]:
    return [{"name": n, "hex": h, "reason": r, "offset": o} for n, h, r, o in BAD]


# -- streams (host decoder only) ---------------------------------------------------------------------------------


def stream_packet(
    rate: int, index: int, ts: int, n: int, host_t_s: float, has_gyr: bool = True, version: int = 1
) -> dict[str, Any]:
    acc_c = [[(index + k) % 30000, 0, 4096] for k in range(n)]
    gyr_c = [[0, (index + k) % 30000, 0] for k in range(n)] if has_gyr else None
    raw = bytearray(data_bytes(rate, 2, 2 if has_gyr else GYR_OFF, index, ts, acc_c, gyr_c))
    raw[0] = (version << 4) | rate
    return {"hex": bytes(raw).hex(), "host_t_s": host_t_s}


def step(
    pkt: dict[str, Any],
    first_index: int | None = None,
    n: int = 0,
    missing: int = 0,
    ts_unwrapped: int = 0,
    skip: int = 0,
    rate: int = 6,
    error: tuple[str, int] | None = None,
) -> dict[str, Any]:
    if error is not None:
        return {**pkt, "expect": {"error": error[0], "offset": error[1]}}
    if first_index is None:
        return {**pkt, "expect": None}
    return {
        **pkt,
        "expect": {
            "first_index": first_index,
            "n_samples": n,
            "missing_before": missing,
            "t0_s": (ts_unwrapped + skip * TICKS / RATE_HZ[rate]) / TICKS,
            "dt_s": 1 / RATE_HZ[rate],
        },
    }


def period(rate: int, k: int) -> int:
    return round(k * TICKS / RATE_HZ[rate])


def stream_vectors() -> list[dict[str, Any]]:
    s: list[dict[str, Any]] = []
    r = 6  # 416 Hz
    n = 19

    # 1. index wraps 65535 -> 0 while streaming contiguously
    steps = []
    for k in range(4):
        idx = 65500 + k * n
        ts = 1000 + period(r, k * n)
        steps.append(step(stream_packet(r, idx, ts, n, 10 + k * 0.05), idx, n, 0, ts))
    s.append({"name": "index_wrap_contiguous", "steps": steps})

    # 2. the 24-bit clock wraps
    steps = []
    base = (1 << 24) - 2000
    for k in range(4):
        ts = base + period(r, k * n)
        steps.append(step(stream_packet(r, k * n, ts, n, 3 + k * 0.05), k * n, n, 0, ts))
    s.append({"name": "timestamp_wrap", "steps": steps})

    # 3. one lost packet: exactly 19 samples missing
    steps = [
        step(stream_packet(r, 0, 0, n, 0.0), 0, n, 0, 0),
        step(stream_packet(r, 19, period(r, 19), n, 0.05), 19, n, 0, period(r, 19)),
        step(stream_packet(r, 57, period(r, 57), n, 0.15), 57, n, 19, period(r, 57)),
    ]
    s.append({"name": "lost_packet", "steps": steps})

    # 4. a 100,000-sample gap at 416 Hz (the 16-bit index wraps; the clock tells how often)
    gap = 100_000
    i2 = 19 + gap
    steps = [
        step(stream_packet(r, 0, 500, n, 100.0), 0, n, 0, 500),
        step(stream_packet(r, i2, 500 + period(r, i2), n, 100.0 + i2 / 416), i2, n, gap, 500 + period(r, i2)),
    ]
    s.append({"name": "long_gap_index_wraps", "steps": steps})

    # 5. a 600 s gap at 52 Hz (the clock wraps more than once; host time tells how often)
    r52 = 3
    n52 = 19
    i2 = n52 + 31_200
    ts2 = 77 + period(r52, i2)
    steps = [
        step(stream_packet(r52, 0, 77, n52, 50.0), 0, n52, 0, 77, rate=r52),
        step(stream_packet(r52, i2, ts2, n52, 50.0 + 600.4), i2, n52, 31_200, ts2, rate=r52),
    ]
    s.append({"name": "very_long_gap_clock_wraps", "steps": steps})

    # 6. duplicate after a backlog replay
    steps = [
        step(stream_packet(r, 0, 0, n, 0.0), 0, n, 0, 0),
        step(stream_packet(r, 19, period(r, 19), n, 0.05), 19, n, 0, period(r, 19)),
        step(stream_packet(r, 19, period(r, 19), n, 0.30)),
        step(stream_packet(r, 0, 0, n, 0.31)),
        step(stream_packet(r, 38, period(r, 38), n, 0.32), 38, n, 0, period(r, 38)),
    ]
    s.append({"name": "duplicates_dropped", "steps": steps})

    # 7. a replay packetised differently overlaps: the overlap is trimmed
    steps = [
        step(stream_packet(r, 0, 0, n, 0.0), 0, n, 0, 0),
        step(stream_packet(r, 10, period(r, 10), n, 0.5), 19, 10, 0, period(r, 10), skip=9),
        step(stream_packet(r, 29, period(r, 29), 5, 0.51), 29, 5, 0, period(r, 29)),
    ]
    s.append({"name": "overlap_trimmed", "steps": steps})

    # 8. a packet from a gap arrives late: out of order
    steps = [
        step(stream_packet(r, 0, 0, n, 0.0), 0, n, 0, 0),
        step(stream_packet(r, 38, period(r, 38), n, 0.1), 38, n, 19, period(r, 38)),
        step(stream_packet(r, 19, period(r, 19), n, 0.2), error=("order", 3)),
        step(stream_packet(r, 57, period(r, 57), n, 0.25), 57, n, 0, period(r, 57)),
    ]
    s.append({"name": "out_of_order_refused", "steps": steps})

    # 9. the clock runs backwards while the index advances
    steps = [
        step(stream_packet(r, 0, 5000, n, 0.0), 0, n, 0, 5000),
        step(stream_packet(r, 19, 4000, n, 0.05), error=("timestamp", 5)),
        step(stream_packet(r, 19, 5000 + period(r, 19), n, 0.06), 19, n, 0, 5000 + period(r, 19)),
    ]
    s.append({"name": "clock_backwards_refused", "steps": steps})

    # 10. accelerometer-only at MTU 23 (2 samples per packet), 104 Hz
    r104 = 4
    steps = [
        step(
            stream_packet(r104, 2 * k, period(r104, 2 * k), 2, k * 0.02, has_gyr=False),
            2 * k,
            2,
            0,
            period(r104, 2 * k),
            rate=r104,
        )
        for k in range(3)
    ]
    s.append({"name": "acc_only_mtu23", "steps": steps})

    # 11. rate change 208 -> 416 Hz mid-stream
    r208 = 5
    t1 = period(r208, 14)
    steps = [
        step(stream_packet(r208, 0, 0, 14, 0.0), 0, 14, 0, 0, rate=r208),
        step(stream_packet(r, 14, t1, 14, 0.07), 14, 14, 0, t1, rate=r),
        step(stream_packet(r, 28, t1 + period(r, 14), 14, 0.1), 28, 14, 0, t1 + period(r, 14), rate=r),
    ]
    s.append({"name": "rate_change", "steps": steps})

    # 12. a corrupt packet in between leaves the stream state alone
    bad = stream_packet(r, 19, period(r, 19), n, 0.05, version=2)
    steps = [
        step(stream_packet(r, 0, 0, n, 0.0), 0, n, 0, 0),
        step(bad, error=("version", 0)),
        step(stream_packet(r, 19, period(r, 19), n, 0.06), 19, n, 0, period(r, 19)),
    ]
    s.append({"name": "corrupt_packet_skipped", "steps": steps})

    # 13. an overlapping replay whose clock disagrees: what is left after trimming would go back in time
    steps = [
        step(stream_packet(r, 0, 5000, n, 0.0), 0, n, 0, 5000),
        step(stream_packet(r, 10, 5000 + period(r, 10) - 2000, n, 0.5), error=("timestamp", 5)),
        step(stream_packet(r, 19, 5000 + period(r, 19), n, 0.51), 19, n, 0, 5000 + period(r, 19)),
    ]
    s.append({"name": "overlap_with_clock_backwards_refused", "steps": steps})
    return s


# -- control point, status, info ----------------------------------------------------------------------------------

COMMANDS = [
    ("start", "01", 1, None),
    ("stop", "02", 2, None),
    *((f"set_rate_{int(hz)}hz", f"03{c:02x}", 3, c) for c, hz in RATE_HZ.items()),
    *((f"set_acc_range_{g}g", f"04{c:02x}", 4, c) for c, g in ACC_RANGE_G.items()),
    *((f"set_gyr_range_{d}dps", f"05{c:02x}", 5, c) for c, d in GYR_RANGE_DPS.items()),
    ("set_gyr_off", "0507", 5, 7),
    ("time_sync", "06" + le(0xDEADBEEF, 4).hex(), 6, 0xDEADBEEF),
    ("send_backlog_from_70000", "07" + le(70000, 4).hex(), 7, 70000),
    ("send_backlog_from_max", "07ffffffff", 7, 0xFFFFFFFF),
    ("get_config", "08", 8, None),
]
BAD_COMMANDS = [
    ("empty", "", 0, 4),
    ("unknown_opcode", "42", 0x42, 2),
    ("response_opcode", "80", 0x80, 2),
    ("start_with_param", "0100", 1, 4),
    ("set_rate_no_param", "03", 3, 4),
    ("set_rate_code_2", "0302", 3, 3),
    ("set_rate_code_8", "0308", 3, 3),
    ("set_acc_code_4", "0404", 4, 3),
    ("set_gyr_code_5", "0505", 5, 3),
    ("time_sync_short", "06010203", 6, 4),
    ("backlog_long", "070102030405", 7, 4),
]


def response_vectors() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for op in (1, 2, 3, 4, 5):
        out.append({"name": f"ok_{op}", "hex": bytes([0x80, op, 1]).hex(), "opcode": op, "result": 1})
    for res in (2, 3, 4, 5):
        out.append({"name": f"error_{res}", "hex": bytes([0x80, 3, res]).hex(), "opcode": 3, "result": res})
    out.append(
        {
            "name": "time_sync",
            "hex": (bytes([0x80, 6, 1]) + le(0xDEADBEEF, 4) + le(0x89ABCDEF, 4)).hex(),
            "opcode": 6,
            "result": 1,
            "token": 0xDEADBEEF,
            "sensor_ticks": 0x89ABCDEF,
        }
    )
    out.append(
        {
            "name": "send_backlog",
            "hex": (bytes([0x80, 7, 1]) + le(69990, 4) + le(70500, 4)).hex(),
            "opcode": 7,
            "result": 1,
            "first_index": 69990,
            "head_index": 70500,
        }
    )
    out.append(
        {
            "name": "get_config",
            "hex": bytes([0x80, 8, 1, 6, 2, 7, 1]).hex(),
            "opcode": 8,
            "result": 1,
            "rate_code": 6,
            "acc_range_code": 2,
            "gyr_range_code": 7,
            "streaming": True,
        }
    )
    return out


BAD_RESPONSES = [
    ("short", "8001", "short", 2),
    ("not_a_response", "010101", "response", 0),
    ("unknown_op_success", "804201", "opcode", 1),
    ("time_sync_short", "80060101020304", "length", 7),
    ("ok_with_payload", "80010100", "length", 3),
]


def status_vectors() -> list[dict[str, Any]]:
    cases = [
        ("idle_unknown_battery", 0, 255, 0, 0, 0, 0),
        ("streaming", 1, 87, 3987, 0, 3, 123456),
        ("replaying_charging", 1 | 2 | 4, 100, 4200, 12, 5000, 0xFFFFFFFF),
        ("imu_fault_empty", 8, 0, 3300, 0xFFFFFFFF, 65535, 1),
    ]
    out = []
    for name, flags, pct, mv, dropped, pending, head in cases:
        raw = bytes([1, flags, pct]) + le(mv, 2) + le(dropped, 4) + le(pending, 2) + le(head, 4)
        out.append(
            {
                "name": name,
                "hex": raw.hex(),
                "flags": flags,
                "streaming": bool(flags & 1),
                "replaying": bool(flags & 2),
                "charging": bool(flags & 4),
                "imu_fault": bool(flags & 8),
                "battery_pct": pct,
                "battery_mv": mv,
                "dropped_samples": dropped,
                "pending_samples": pending,
                "head_index": head,
            }
        )
    return out


BAD_STATUS = [
    ("short", "01010203", "length", 4),
    ("long", "01" + "00" * 15, "length", 15),
    ("version_2", "02" + "00" * 14, "version", 0),
    ("battery_101", "010065" + "00" * 12, "battery", 2),
]

MOUNTINGS = ("unknown", "sacrum", "belt_back", "belt_left", "belt_right")


def info_bytes(
    mounting: int,
    up: int,
    fwd: int,
    cap: int,
    boot: int,
    rates: int,
    accs: int,
    gyrs: int,
    part: str,
    fw: str,
    features: int,
) -> bytes:
    return (
        bytes([1, 0, features, mounting])
        + le(up, 1, signed=True)
        + le(fwd, 1, signed=True)
        + le(cap, 4)
        + le(boot, 2)
        + le(rates, 2)
        + bytes([accs, gyrs, len(part)])
        + part.encode()
        + bytes([len(fw)])
        + fw.encode()
    )


def info_vectors() -> list[dict[str, Any]]:
    all_rates = sum(1 << c for c in RATE_HZ)
    cases = [
        (
            "xiao_sense_sacrum",
            "sacrum",
            3,
            -1,
            8192,
            0xBEEF,
            all_rates,
            0x0F,
            0x9F,
            "LSM6DS3TR-C",
            "hipsense-mpy 0.1.0",
            7,
        ),
        ("acc_only_belt_left", "belt_left", -2, 1, 1000, 1, 0b11000, 0x03, 0x80, "LIS3DH", "x", 6),
        ("unknown_mounting_empty_strings", "unknown", 0, 0, 0, 0, all_rates, 0x0F, 0x1F, "", "", 1),
    ]
    out = []
    for name, mount, up, fwd, cap, boot, rates, accs, gyrs, part, fw, feat in cases:
        raw = info_bytes(MOUNTINGS.index(mount), up, fwd, cap, boot, rates, accs, gyrs, part, fw, feat)
        out.append(
            {
                "name": name,
                "hex": raw.hex(),
                "features": feat,
                "has_gyro": bool(feat & 1),
                "has_backlog": bool(feat & 2),
                "has_battery": bool(feat & 4),
                "mounting": mount,
                "up_axis": up,
                "forward_axis": fwd,
                "buffer_capacity": cap,
                "boot_id": boot,
                "rate_codes": [c for c in RATE_HZ if rates >> c & 1],
                "sampling_rates_hz": [hz for c, hz in RATE_HZ.items() if rates >> c & 1],
                "acc_codes": [c for c in ACC_RANGE_G if accs >> c & 1],
                "acc_ranges_g": [g for c, g in ACC_RANGE_G.items() if accs >> c & 1],
                "gyr_codes": [c for c in (*GYR_RANGE_DPS, GYR_OFF) if gyrs >> c & 1],
                "gyr_ranges_dps": [d for c, d in GYR_RANGE_DPS.items() if gyrs >> c & 1],
                "gyr_can_be_off": bool(gyrs >> GYR_OFF & 1),
                "imu_part": part,
                "firmware": fw,
            }
        )
    return out


def _info_hex(**kw: Any) -> str:
    base = {"mounting": 1, "up": 3, "fwd": -1, "cap": 10, "boot": 1, "rates": 0xF8, "accs": 15, "gyrs": 31}
    base.update(kw)
    return info_bytes(**base, part="ab", fw="c", features=7).hex()  # type: ignore[arg-type]


def bad_info_vectors() -> list[dict[str, Any]]:
    good = _info_hex()
    cases = [
        ("short", good[:20], "short", 10),
        ("version_2", "02" + good[2:], "version", 0),
        ("mounting_5", _info_hex(mounting=5), "mounting", 3),
        ("up_axis_4", _info_hex(up=4), "axis", 4),
        ("forward_axis_minus_4", _info_hex(fwd=-4), "axis", 5),
        ("string_overruns", good[:-2], "string", 19),
        ("trailing_byte", good + "00", "length", 21),
        ("missing_second_string", good[: 2 * 19], "short", 19),
        ("not_ascii", good[: 2 * 17] + "ff" + good[2 * 18 :], "string", 17),
    ]
    return [{"name": n, "hex": h, "reason": r, "offset": o} for n, h, r, o in cases]


def build() -> dict[str, Any]:
    return {
        "data_packets.json": {
            "description": "IMU data notifications: hex <-> decoded fields (counts and SI: m/s^2 with gravity, "
            "rad/s). sample_index/ts_ticks are the encoder's inputs (masked to 16/24 bits on the air).",
            "vectors": data_vectors(),
        },
        "bad_packets.json": {
            "description": "Malformed data notifications and the PacketError reason and byte offset they must give.",
            "vectors": bad_vectors(),
        },
        "streams.json": {
            "description": "Packet sequences for the stateful host decoder: per step the expected block (first "
            "unwrapped sample index, samples, missing_before of the first sample, t_s of the first sample and "
            "spacing), null for a dropped duplicate, or the expected error.",
            "vectors": stream_vectors(),
        },
        "control.json": {
            "description": "Control point: commands (host -> sensor), refused commands with the result code the "
            "sensor must answer, responses (sensor -> host), malformed responses.",
            "commands": [{"name": n, "hex": h, "opcode": o, "argument": a} for n, h, o, a in COMMANDS],
            "bad_commands": [{"name": n, "hex": h, "opcode": o, "result": r} for n, h, o, r in BAD_COMMANDS],
            "responses": response_vectors(),
            "bad_responses": [{"name": n, "hex": h, "reason": r, "offset": o} for n, h, r, o in BAD_RESPONSES],
        },
        "status.json": {
            "description": "Status notifications (15 bytes) and malformed ones.",
            "vectors": status_vectors(),
            "bad": [{"name": n, "hex": h, "reason": r, "offset": o} for n, h, r, o in BAD_STATUS],
        },
        "info.json": {
            "description": "Info characteristic values and malformed ones.",
            "vectors": info_vectors(),
            "bad": bad_info_vectors(),
        },
    }


def render(doc: Any) -> str:
    return json.dumps(doc, indent=1) + "\n"


def main() -> None:
    for name, doc in build().items():
        (HERE / name).write_text(render(doc))
        print(f"wrote {HERE / name}")


if __name__ == "__main__":
    main()
