"""The firmware's board-facing pure parts under CPython: FIFO parsing, sample clock, battery curve."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_proto.micropython import hsproto as P
from firmware_proto.micropython.lsm6dsox import TAG_ACC, TAG_GYRO, FifoParser
from firmware_proto.micropython.sensorcore import SampleClock, SensorCore, lipo_percent
from sensor.model import RawFrame
from sensor.protocol import hipsense_v1 as H


def _word(sensor: int, cnt: int, xyz: tuple[int, int, int]) -> bytes:
    return bytes([(sensor << 3) | (cnt << 1)]) + struct.pack("<3h", *xyz)


@settings(deadline=None)
@given(
    n=st.integers(1, 60),
    gyro_first=st.booleans(),
    cuts=st.lists(st.integers(0, 120), max_size=6),
    has_gyr=st.booleans(),
)
def test_fifo_parser_pairs_words_whatever_the_read_boundaries(
    n: int, gyro_first: bool, cuts: list[int], has_gyr: bool
) -> None:
    words = b""
    expected = b""
    for i in range(n):
        acc = (i, -i, 1000 + i)
        gyr = (-7 * i, 3, i % 100)
        cnt = i % 4
        aw, gw = _word(TAG_ACC, cnt, acc), _word(TAG_GYRO, cnt, gyr)
        if has_gyr:
            words += gw + aw if gyro_first else aw + gw
            expected += struct.pack("<6h", *acc, *gyr)
        else:
            words += aw
            expected += struct.pack("<3h", *acc)
    per = 2 if has_gyr else 1
    bounds = sorted({0, len(words), *(min(c, n * per) * 7 for c in cuts)})
    parser = FifoParser(has_gyr)
    out, total = b"", 0
    for k in range(1, len(bounds)):
        a, b = bounds[k - 1], bounds[k]
        rec, got = parser.feed(words[a:b])
        out += rec
        total += got
    assert total == n
    assert out == expected


@pytest.mark.parametrize(("rate_hz", "odr_error"), [(52, 1.02), (104, 1.0), (208, 1.015), (416, 0.985), (833, 1.0)])
def test_sample_clock_follows_a_drifting_imu_without_the_read_jitter(rate_hz: float, odr_error: float) -> None:
    """IMU ODR off by up to 2 %, FIFO polled every 5 ms +-1 ms: after settling every stamp is within a quarter
    of a sample period of the truth, and the stamps increase."""
    rng = np.random.default_rng(7)
    true_hz = rate_hz * odr_error
    clock = SampleClock(float(rate_hz))
    produced = 0
    t_read_s = 0.0
    errors, stamps = [], []
    for _ in range(6000):
        t_read_s += 0.005 + rng.uniform(-0.001, 0.001)
        total = int(t_read_s * true_hz) + 1  # samples taken at i / true_hz <= now
        n = total - produced
        stamp = clock.stamp((10 + t_read_s) * P.TICKS_PER_S, n)
        if n == 0:
            assert stamp is None
            continue
        stamps.append(stamp)
        errors.append(stamp / P.TICKS_PER_S - 10 - produced / true_hz)
        produced = total
    settled = np.abs(np.array(errors[len(errors) // 3 :]))
    assert settled.max() < 0.25 / rate_hz
    assert (np.diff(stamps) > 0).all()
    assert clock.period == pytest.approx(P.TICKS_PER_S / true_hz, rel=2e-3)


def test_clock_stamps_through_the_ring_decode_to_the_true_times() -> None:
    """Sensor core fed by the sample clock, decoded by the host: every sample near its true time."""
    rng = np.random.default_rng(11)
    true_hz = 416 * 0.985
    core = SensorCore(5000, "LSM6DSOX", "test")
    core.handle_command(bytes([P.OP_SET_RATE, 6]))
    core.handle_command(bytes([P.OP_START]))
    clock = SampleClock(416.0)
    dec = H.HipSenseV1Decoder("s")
    produced, t = 0, 0.0
    t_all, idx_all = [], []
    for _ in range(2000):
        t += 0.005 + rng.uniform(-0.001, 0.001)
        n = int(t * true_hz) + 1 - produced
        stamp = clock.stamp((10 + t) * P.TICKS_PER_S, n)
        if n:
            vals = [0] * (6 * n)
            core.push(stamp, struct.pack(f"<{6 * n}h", *vals))
            produced += n
        while (pkt := core.next_packet(247)) is not None:
            b = dec.decode(RawFrame("s", t, pkt, H.DATA_UUID))
            assert b is not None
            t_all.append(b.t_s)
            idx_all.append(b.sample_index)
    t_s = np.concatenate(t_all)
    idx = np.concatenate(idx_all)
    assert (np.diff(t_s) > 0).all()
    assert idx.tolist() == list(range(produced))
    err = t_s - 10 - idx / true_hz
    # bound: re-anchor tolerance (16 ticks = 0.49 ms) + nominal in-packet spacing of a 1.5 % fast ODR over
    # 19 samples (0.68 ms); that is within half a sample period
    assert np.abs(err[2000:]).max() < 0.5 / 416


@pytest.mark.parametrize(("mv", "pct"), [(3000, 0), (3300, 0), (3750, 30), (3950, 76), (4200, 100), (4350, 100)])
def test_lipo_percent(mv: int, pct: int) -> None:
    assert lipo_percent(mv) == pct


def test_lipo_percent_is_monotonic() -> None:
    values = [lipo_percent(mv) for mv in range(3200, 4300, 5)]
    assert values == sorted(values)
