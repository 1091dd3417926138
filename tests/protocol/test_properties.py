"""Property tests of protocol v1: round trips, garbage in -> PacketError only, exact gap/duplicate/wrap counts,
chunk-size invariance, and the firmware core + host decoder end to end."""

from __future__ import annotations

import contextlib
import struct

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firmware_proto.micropython import hsproto as P
from firmware_proto.micropython.sensorcore import SensorCore
from sensor.errors import PacketError
from sensor.model import ImuBlock, RawFrame
from sensor.protocol import hipsense_v1 as H

int16 = st.integers(-32768, 32767)
triple = st.tuples(int16, int16, int16)
rate_codes = st.sampled_from(sorted(P.RATE_HZ))
acc_codes = st.sampled_from(sorted(P.ACC_RANGES))
gyr_codes = st.sampled_from([*sorted(P.GYR_RANGES), P.GYR_OFF])
CHANNELS = [H.DATA_UUID, H.STATUS_UUID, H.INFO_UUID, H.CONTROL_UUID, "other"]


@st.composite
def packets(draw: st.DrawFn) -> tuple[bytes, list[tuple[int, int, int]], list[tuple[int, int, int]] | None, int, int]:
    gyr = draw(gyr_codes)
    acc = draw(acc_codes)
    n = draw(st.integers(1, P.max_samples_per_packet(517, gyr != P.GYR_OFF)))
    a = draw(st.lists(triple, min_size=n, max_size=n))
    g = None if gyr == P.GYR_OFF else draw(st.lists(triple, min_size=n, max_size=n))
    raw = P.encode_data_packet(
        draw(st.integers(0, 2**40)), draw(st.integers(0, 2**40)), a, g, acc, gyr, draw(rate_codes)
    )
    return raw, a, g, acc, gyr


@settings(deadline=None)
@given(packets())
def test_encode_decode_round_trip_counts_exact(pkt: tuple) -> None:  # type: ignore[type-arg]
    raw, a, g, acc, gyr = pkt
    p = H.decode_packet(raw)
    assert p.acc_counts.tolist() == [list(x) for x in a]
    assert (p.gyr_counts is None) == (g is None)
    if g is not None:
        assert p.gyr_counts is not None
        assert p.gyr_counts.tolist() == [list(x) for x in g]
    assert (p.acc_range_code, p.gyr_range_code) == (acc, gyr)
    b = H.decode_packets([raw, raw])
    assert b.acc_counts.tolist() == [list(x) for x in a] * 2


@settings(deadline=None)
@given(
    acc_code=acc_codes,
    gyr_code=st.sampled_from(sorted(P.GYR_RANGES)),
    unit=st.lists(st.tuples(*[st.floats(-0.999, 0.999)] * 6), min_size=1, max_size=19),
)
def test_si_round_trip_within_one_lsb(acc_code: int, gyr_code: int, unit: list[tuple[float, ...]]) -> None:
    """Physical values -> counts (what the IMU does) -> packet -> SI: within half an LSB of the input."""
    acc_lsb = P.ACC_RANGES[acc_code][1] * 9.80665
    gyr_lsb = np.radians(P.GYR_RANGES[gyr_code][1])
    x = np.array(unit)
    acc_in = x[:, :3] * 32767 * acc_lsb
    gyr_in = x[:, 3:] * 32767 * gyr_lsb
    acc_c = np.rint(acc_in / acc_lsb).astype(int)
    gyr_c = np.rint(gyr_in / gyr_lsb).astype(int)
    raw = P.encode_data_packet(0, 0, acc_c.tolist(), gyr_c.tolist(), acc_code, gyr_code, 5)
    p = H.decode_packet(raw)
    assert np.abs(p.acc_mps2 - acc_in).max() <= 0.5 * acc_lsb * (1 + 1e-9)
    assert p.gyr_radps is not None
    assert np.abs(p.gyr_radps - gyr_in).max() <= 0.5 * gyr_lsb * (1 + 1e-9)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_only_ever_raise_packet_error(data: bytes) -> None:
    errors: list[PacketError] = []
    for fn in (H.decode_packet, H.decode_response, H.decode_status, H.decode_info):
        try:
            fn(data)
        except PacketError as e:
            errors.append(e)
    for e in errors:
        assert 0 <= e.offset <= max(len(data), 1)
        assert e.reason
    with contextlib.suppress(PacketError):
        H.decode_packets([data, data[:5], data[::-1]])
    result = P.RES_SUCCESS
    try:
        P.parse_command(data)
    except P.CommandError as e:
        result = e.result
    assert result in (P.RES_SUCCESS, P.RES_UNSUPPORTED_OPCODE, P.RES_INVALID_LENGTH, P.RES_INVALID_PARAMETER)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(st.binary(max_size=60), st.sampled_from(CHANNELS), st.floats(0, 1e4)), max_size=12),
    st.booleans(),
)
def test_stream_decoder_on_garbage_raises_only_packet_error(frames: list, mutate: bool) -> None:  # type: ignore[type-arg]
    """Random frames, or valid packets with random bytes flipped: decode() raises PacketError or returns a
    block/None; decode_batch() never raises."""
    rng = np.random.default_rng(len(frames))
    raws = []
    for data, ch, t in frames:
        payload = data
        if mutate and ch == H.DATA_UUID:
            good = bytearray(P.encode_data_packet(int(t), int(t * 32768), [(1, 2, 3)] * 3, [(4, 5, 6)] * 3, 1, 1, 5))
            for _ in range(2):
                good[int(rng.integers(len(good)))] = int(rng.integers(256))
            payload = bytes(good)
        raws.append(RawFrame("s", t, payload, ch))
    dec = H.HipSenseV1Decoder()
    for f in raws:
        with contextlib.suppress(PacketError):
            dec.decode(f)
    H.HipSenseV1Decoder().decode_batch(raws)


@st.composite
def streams(draw: st.DrawFn) -> dict:  # type: ignore[type-arg]
    rate = draw(rate_codes)
    has_gyr = draw(st.booleans())
    n_packets = draw(st.integers(1, 40))
    sizes = draw(st.lists(st.integers(1, 19), min_size=n_packets, max_size=n_packets))
    gaps = draw(
        st.lists(
            st.one_of(st.just(0), st.just(0), st.integers(1, 40), st.integers(1, 2**25)),
            min_size=n_packets,
            max_size=n_packets,
        )
    )
    gaps[0] = 0
    return {
        "rate": rate,
        "has_gyr": has_gyr,
        "sizes": sizes,
        "gaps": gaps,
        "i0": draw(st.integers(0, 2**40)),
        "ts0": draw(st.integers(0, 2**40)),
        "host0": draw(st.floats(0, 2e9)),
        "jitter": draw(st.lists(st.floats(0, 0.5), min_size=n_packets, max_size=n_packets)),
        "chunks": draw(st.lists(st.sampled_from([1, 2, 3, 5, 8, 24, 31, 40]), min_size=1, max_size=5)),
    }


def _make_stream(s: dict) -> tuple[list[RawFrame], list[tuple[int, int, int]]]:  # type: ignore[type-arg]
    """Packets as the firmware makes them (timestamps on the anchor line) and (index, n, gap) per packet."""
    frames, expect = [], []
    hz = P.RATE_HZ[s["rate"]]
    i = s["i0"]
    for k, (n, gap) in enumerate(zip(s["sizes"], s["gaps"], strict=True)):
        i += gap
        ts = s["ts0"] + P.period_ticks(s["rate"], i - s["i0"])
        acc = [((i + j) % 30000, 1, 2) for j in range(n)]
        gyr = [(3, (i + j) % 30000, 4) for j in range(n)] if s["has_gyr"] else None
        raw = P.encode_data_packet(i, ts, acc, gyr, 2, 2 if s["has_gyr"] else P.GYR_OFF, s["rate"])
        host = s["host0"] + (i - s["i0"]) / hz + s["jitter"][k]
        frames.append(RawFrame("s", host, raw, H.DATA_UUID))
        expect.append((i, n, gap))
        i += n
    return frames, expect


@settings(max_examples=150, deadline=None)
@given(streams())
def test_gaps_and_wraps_are_counted_exactly(s: dict) -> None:  # type: ignore[type-arg]
    frames, expect = _make_stream(s)
    dec = H.HipSenseV1Decoder()
    base_idx = s["i0"] % 65536 - s["i0"]
    ts_base = s["ts0"] % (1 << 24) - s["ts0"]
    hz = P.RATE_HZ[s["rate"]]
    blocks = []
    for f, (i, n, gap) in zip(frames, expect, strict=True):
        b = dec.decode(f)
        assert b is not None
        blocks.append(b)
        assert b.sample_index.tolist() == list(range(i + base_idx, i + base_idx + n))
        assert b.missing_before.tolist() == [gap] + [0] * (n - 1)
        ts = s["ts0"] + P.period_ticks(s["rate"], i - s["i0"]) + ts_base
        np.testing.assert_allclose(b.t_s, ts / 32768 + np.arange(n) / hz, rtol=0, atol=1e-9)
    assert dec.n_missing == sum(s["gaps"])
    # streaming == batch, whatever the chunking of the frames
    dec2 = H.HipSenseV1Decoder()
    got: list[ImuBlock] = []
    pos, c = 0, 0
    while pos < len(frames):
        size = s["chunks"][c % len(s["chunks"])]
        got += dec2.decode_batch(frames[pos : pos + size])
        pos, c = pos + size, c + 1
    for name in ("t_s", "acc_mps2", "sample_index", "missing_before"):
        np.testing.assert_array_equal(
            np.concatenate([getattr(b, name) for b in got]), np.concatenate([getattr(b, name) for b in blocks])
        )
    assert dec2.last_sample_index == dec.last_sample_index


@settings(max_examples=60, deadline=None)
@given(
    capacity=st.integers(20, 400),
    mtu=st.sampled_from([23, 104, 185, 247]),
    ops=st.lists(
        st.tuples(st.sampled_from(["push", "send", "lose", "dup", "reconnect"]), st.integers(1, 60)), max_size=40
    ),
)
def test_firmware_core_and_host_decoder_end_to_end(capacity: int, mtu: int, ops: list[tuple[str, int]]) -> None:
    """The sensor's ring buffer and backlog replay against the host decoder, with lost and duplicated
    notifications: the host sees every sample at most once, in order, with the right values, and the gaps it
    reports are exactly the samples it never got."""
    core = SensorCore(capacity, "LSM6DS3TR-C", "test")
    core.handle_command(bytes([P.OP_START]))
    dec = H.HipSenseV1Decoder("s")
    pushed = 0
    t_host = 0.0
    received: list[int] = []
    missing = 0
    lost_any = False
    last_pkt: bytes | None = None
    delivered: list[RawFrame] = []
    blocks: list[ImuBlock] = []

    def deliver(pkt: bytes) -> None:
        nonlocal missing
        frame = RawFrame("s", t_host, pkt, H.DATA_UUID)
        delivered.append(frame)
        b = dec.decode(frame)
        if b is not None:
            blocks.append(b)
            received.extend(b.sample_index.tolist())
            missing += b.n_missing
            values = np.rint(b.acc_mps2[:, 0] / (P.ACC_RANGES[core.acc_code][1] * 9.80665)).astype(int)
            assert values.tolist() == [i % 30000 for i in b.sample_index.tolist()]

    for op, k in ops:
        if op == "push":
            vals = [((pushed + j) % 30000, 0, 0, 0, 0, 0) for j in range(k)]
            rec = struct.pack(f"<{6 * k}h", *[v for s in vals for v in s])
            core.push(P.period_ticks(core.rate_code, pushed), rec)
            pushed += k
            t_host += k / core.sampling_rate_hz
        elif op in ("send", "lose", "dup"):
            for _ in range(k % 5 + 1):
                pkt = core.next_packet(mtu)
                if pkt is None:
                    break
                if op == "lose":
                    lost_any = True
                    continue
                deliver(pkt)
                last_pkt = pkt
            if op == "dup" and last_pkt is not None:
                deliver(last_pkt)
        else:  # link drop + reconnect: ask for the backlog after the last sample received
            core.link_lost()
            assert core.next_packet(mtu) is None
            nxt = 0 if dec.last_sample_index is None else dec.last_sample_index + 1
            resp = H.decode_response(core.handle_command(H.send_backlog_command(nxt)))
            assert resp.ok
    while (pkt := core.next_packet(mtu)) is not None:
        deliver(pkt)
    assert received == sorted(set(received))
    # the whole delivered stream in one batch (vectorised path or its fallback) gives the same samples
    batch = H.HipSenseV1Decoder("s").decode_batch(delivered)
    if blocks:
        one = ImuBlock.concat(blocks)
        got = ImuBlock.concat(batch)
        for name in ("t_s", "acc_mps2", "gyr_radps", "sample_index", "missing_before"):
            np.testing.assert_array_equal(getattr(got, name), getattr(one, name))
    else:
        assert batch == []
    if received:
        assert missing == received[-1] - received[0] + 1 - len(received)
        if pushed <= capacity and not lost_any:
            assert missing == 0


@settings(deadline=None)
@given(
    acc_code=acc_codes,
    gyr_code=gyr_codes,
    x=st.lists(st.tuples(*[st.floats(-1.2, 1.2)] * 6), min_size=1, max_size=30),
)
def test_counts_from_si_quantise_and_saturate_like_an_imu(acc_code: int, gyr_code: int, x: list) -> None:  # type: ignore[type-arg]
    """SI -> counts -> records -> packet -> SI: within half an LSB inside the range, clipped at full scale."""
    a = np.array(x)[:, :3] * 32768 * P.ACC_RANGES[acc_code][1] * 9.80665
    has_gyr = gyr_code != P.GYR_OFF
    g = np.array(x)[:, 3:] * 32768 * np.radians(P.GYR_RANGES[gyr_code][1]) if has_gyr else None
    acc_c, gyr_c = H.counts_from_si(a, g, acc_code, gyr_code)
    raw = P.encode_data_packet_raw(0, 0, H.sample_records(acc_c, gyr_c), acc_code, gyr_code, 4)
    p = H.decode_packet(raw)
    lsb = P.ACC_RANGES[acc_code][1] * 9.80665
    lim_hi, lim_lo = 32767 * lsb, -32768 * lsb
    np.testing.assert_allclose(p.acc_mps2, np.clip(a, lim_lo, lim_hi), atol=0.5 * lsb * (1 + 1e-9), rtol=0)
    if g is not None:
        glsb = np.radians(P.GYR_RANGES[gyr_code][1])
        assert p.gyr_radps is not None
        np.testing.assert_allclose(
            p.gyr_radps, np.clip(g, -32768 * glsb, 32767 * glsb), atol=0.5 * glsb * (1 + 1e-9), rtol=0
        )
    else:
        assert p.gyr_radps is None
