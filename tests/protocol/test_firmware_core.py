"""The firmware's pure logic (ring buffer, backlog replay, command handling), run under CPython."""

from __future__ import annotations

import struct

import pytest

from firmware_proto.micropython import hsproto as P
from firmware_proto.micropython.sensorcore import SampleRing, SensorCore


def _records(first: int, n: int, has_gyr: bool = True) -> bytes:
    """Samples whose every axis holds its own index (mod 30000), so a replay can be checked sample by sample."""
    per = 6 if has_gyr else 3
    vals = [((first + i) % 30000) for i in range(n) for _ in range(per)]
    return struct.pack(f"<{len(vals)}h", *vals)


def _header(pkt: bytes) -> tuple[int, int, int, int, int, int]:
    b0, b1, n, idx, ts_lo, ts_hi = struct.unpack_from("<BBBHHB", pkt)
    return b0 >> 4, b0 & 15, b1, n, idx, ts_lo | ts_hi << 16


def _drain(core: SensorCore, mtu: int) -> list[bytes]:
    out = []
    while (p := core.next_packet(mtu)) is not None:
        out.append(p)
    return out


def _indices(packets: list[bytes], has_gyr: bool = True) -> list[int]:
    """The per-sample values (= sample index) carried by the packets, from the acc x channel."""
    out: list[int] = []
    bps = 12 if has_gyr else 6
    for p in packets:
        n = p[2]
        out += [struct.unpack_from("<h", p, 8 + k * bps)[0] for k in range(n)]
    return out


def test_start_streams_live_samples_in_mtu_sized_packets() -> None:
    core = SensorCore(1000, "LSM6DS3TR-C", "test 0")
    assert core.handle_command(bytes([P.OP_START])) == bytes([0x80, P.OP_START, P.RES_SUCCESS])
    core.push(0, _records(0, 50))
    pkts = _drain(core, 247)
    assert [p[2] for p in pkts] == [19, 19, 12]
    assert _indices(pkts) == list(range(50))
    assert [_header(p)[4] for p in pkts] == [0, 19, 38]
    # per-packet timestamps follow the 208 Hz sample clock from the anchor
    assert [_header(p)[5] for p in pkts] == [P.period_ticks(5, k) for k in (0, 19, 38)]
    core.push(P.period_ticks(5, 50), _records(50, 3))
    assert [p[2] for p in _drain(core, 23)] == [1, 1, 1]


def test_latency_cap_holds_partial_packets_until_due() -> None:
    core = SensorCore(1000, "LSM6DS3TR-C", "test 0")
    core.handle_command(bytes([P.OP_START]))
    core.push(0, _records(0, 5))
    assert core.next_packet(247, now_ticks=100) is None
    pkt = core.next_packet(247, now_ticks=core.max_latency_ticks)
    assert pkt is not None
    assert pkt[2] == 5


def test_overflow_counts_dropped_samples_exactly() -> None:
    core = SensorCore(100, "LSM6DS3TR-C", "test 0")
    core.handle_command(bytes([P.OP_START]))
    t = 0
    for i in range(0, 250, 10):
        core.push(t, _records(i, 10))
        t += P.period_ticks(5, 10)
    assert core.dropped == 150
    pkts = _drain(core, 247)
    assert _indices(pkts) == list(range(150, 250))
    st = struct.unpack("<BBBHIHI", core.status(80, 3900))
    assert st[4] == 150  # dropped
    assert st[5] == 0  # pending
    assert st[6] == 250  # head index


def test_backlog_replay_resends_from_the_requested_index() -> None:
    core = SensorCore(500, "LSM6DS3TR-C", "test 0")
    core.handle_command(bytes([P.OP_START]))
    core.push(0, _records(0, 100))
    _drain(core, 185)  # delivered... but the host only received up to index 59 before the link dropped
    core.push(P.period_ticks(5, 100), _records(100, 40))
    resp = core.handle_command(bytes([P.OP_SEND_BACKLOG]) + struct.pack("<I", 60))
    assert resp == bytes([0x80, P.OP_SEND_BACKLOG, P.RES_SUCCESS]) + struct.pack("<II", 60, 140)
    pkts = _drain(core, 185)
    assert _indices(pkts) == list(range(60, 140))
    assert _header(pkts[0])[5] == P.period_ticks(5, 60)


def test_backlog_older_than_the_ring_starts_at_the_oldest_sample() -> None:
    core = SensorCore(64, "LSM6DS3TR-C", "test 0")
    core.handle_command(bytes([P.OP_START]))
    core.push(0, _records(0, 200))
    _drain(core, 247)
    resp = core.handle_command(bytes([P.OP_SEND_BACKLOG]) + struct.pack("<I", 10))
    assert struct.unpack_from("<II", resp, 3) == (136, 200)
    assert _indices(_drain(core, 247)) == list(range(136, 200))
    # an index ahead of the sensor (e.g. after a sensor reboot) is refused
    resp = core.handle_command(bytes([P.OP_SEND_BACKLOG]) + struct.pack("<I", 5000))
    assert resp == bytes([0x80, P.OP_SEND_BACKLOG, P.RES_INVALID_PARAMETER])


def test_packets_never_mix_configurations() -> None:
    core = SensorCore(1000, "LSM6DS3TR-C", "test 0")
    core.handle_command(bytes([P.OP_START]))
    core.push(0, _records(0, 7))
    core.handle_command(bytes([P.OP_SET_GYR_RANGE, P.GYR_OFF]))
    core.handle_command(bytes([P.OP_SET_RATE, 6]))
    core.push(P.period_ticks(5, 7), _records(7, 30, has_gyr=False))
    pkts = _drain(core, 247)
    assert [(p[2], p[1] & 0x38) for p in pkts] == [(7, 2 << 3), (30, 7 << 3)]
    assert _indices(pkts[:1]) + _indices(pkts[1:], has_gyr=False) == list(range(37))
    assert [_header(p)[1] for p in pkts] == [5, 6]
    assert _header(pkts[1])[5] == P.period_ticks(5, 7)


def test_timestamps_reanchor_on_drift_but_stay_increasing() -> None:
    ring = SampleRing(100)
    ring.push(0, 5, 2, 2, _records(0, 10))
    ring.push(P.period_ticks(5, 10) + 5, 5, 2, 2, _records(10, 10))  # within tolerance: same line
    assert len(ring.anchors) == 1
    ring.push(P.period_ticks(5, 20) + 400, 5, 2, 2, _records(20, 10))  # clock drifted: new anchor
    assert len(ring.anchors) == 2
    assert ring.ts_of(20) == P.period_ticks(5, 20) + 400
    ring.push(0, 5, 2, 2, _records(30, 10))  # a time that goes backwards is clamped after the last sample
    assert ring.ts_of(30) == ring.ts_of(29) + 1


@pytest.mark.parametrize(
    ("cmd", "result"),
    [
        (b"", P.RES_INVALID_LENGTH),
        (bytes([0x42]), P.RES_UNSUPPORTED_OPCODE),
        (bytes([P.OP_SET_RATE]), P.RES_INVALID_LENGTH),
        (bytes([P.OP_SET_RATE, 9]), P.RES_INVALID_PARAMETER),
        (bytes([P.OP_SET_ACC_RANGE, 4]), P.RES_INVALID_PARAMETER),
        (bytes([P.OP_SET_GYR_RANGE, 5]), P.RES_INVALID_PARAMETER),
        (bytes([P.OP_START, 0]), P.RES_INVALID_LENGTH),
    ],
)
def test_bad_commands_get_error_responses_and_change_nothing(cmd: bytes, result: int) -> None:
    core = SensorCore(10, "LSM6DS3TR-C", "test 0")
    before = (core.rate_code, core.acc_code, core.gyr_code, core.streaming)
    resp = core.handle_command(cmd)
    assert resp[0] == 0x80
    assert resp[2] == result
    assert (core.rate_code, core.acc_code, core.gyr_code, core.streaming) == before


def test_time_sync_and_get_config() -> None:
    core = SensorCore(10, "LSM6DS3TR-C", "test 0")
    resp = core.handle_command(bytes([P.OP_TIME_SYNC]) + struct.pack("<I", 0xDEADBEEF), now_ticks=123456789)
    assert struct.unpack_from("<II", resp, 3) == (0xDEADBEEF, 123456789)
    core.handle_command(bytes([P.OP_SET_ACC_RANGE, 3]))
    assert core.handle_command(bytes([P.OP_GET_CONFIG]))[3:] == bytes([5, 3, 2, 0])


def test_after_a_link_drop_nothing_is_sent_until_the_host_says_where_to_resume() -> None:
    core = SensorCore(1000, "LSM6DS3TR-C", "test 0")
    core.handle_command(bytes([P.OP_START]))
    core.push(0, _records(0, 40))
    _drain(core, 247)
    core.link_lost()
    core.push(P.period_ticks(5, 40), _records(40, 30))
    assert core.next_packet(247) is None  # sampling went on, sending waits
    assert core.status()[1] & P.STATUS_STREAMING
    # the host got everything up to 37: backlog from 38
    core.handle_command(bytes([P.OP_SEND_BACKLOG]) + struct.pack("<I", 38))
    assert _indices(_drain(core, 247)) == list(range(38, 70))
    # another drop, and this time the host wants live data only: START skips to the newest
    core.link_lost()
    core.push(P.period_ticks(5, 70), _records(70, 10))
    core.handle_command(bytes([P.OP_START]))
    core.push(P.period_ticks(5, 80), _records(80, 5))
    assert _indices(_drain(core, 247)) == list(range(80, 85))
