"""The host codec (sensor.protocol.hipsense_v1, numpy) against the golden vectors."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from firmware_proto.vectors import ids, load
from sensor.errors import CommandRejectedError, PacketError
from sensor.model import RawFrame
from sensor.protocol import hipsense_v1 as H

DATA = load("data_packets.json")["vectors"]
BAD = load("bad_packets.json")["vectors"]
STREAMS = load("streams.json")["vectors"]
CONTROL = load("control.json")
STATUS = load("status.json")
INFO = load("info.json")

# SI values in the vectors come from the spec's LSB table; both sides compute count * LSB in float64.
RTOL = 1e-12


def _check_packet(p: H.DataPacket, v: dict[str, Any]) -> None:
    assert p.version == v["version"]
    assert p.rate_code == v["rate_code"]
    assert p.sampling_rate_hz == v["sampling_rate_hz"]
    assert p.acc_range_code == v["acc_range_code"]
    assert p.acc_range_g == v["acc_range_g"]
    assert p.gyr_range_code == v["gyr_range_code"]
    assert p.gyr_range_dps == v["gyr_range_dps"]
    assert p.n_samples == v["n_samples"]
    assert p.index_raw == v["index_raw"]
    assert p.ts_ticks_raw == v["ts_ticks_raw"]
    assert p.acc_counts.tolist() == v["acc_counts"]
    np.testing.assert_allclose(p.acc_mps2, v["acc_mps2"], rtol=RTOL, atol=0)
    if v["gyr_counts"] is None:
        assert p.gyr_counts is None
        assert p.gyr_radps is None
    else:
        assert p.gyr_counts is not None
        assert p.gyr_counts.tolist() == v["gyr_counts"]
        np.testing.assert_allclose(p.gyr_radps, v["gyr_radps"], rtol=RTOL, atol=0)  # type: ignore[arg-type]


@pytest.mark.parametrize("v", DATA, ids=ids(DATA))
def test_decode_packet(v: dict[str, Any]) -> None:
    _check_packet(H.decode_packet(bytes.fromhex(v["hex"])), v)


def test_decode_packets_batch_equals_vectors() -> None:
    batch = H.decode_packets([bytes.fromhex(v["hex"]) for v in DATA])
    assert len(batch) == len(DATA)
    for k, v in enumerate(DATA):
        s = slice(int(batch.offsets[k]), int(batch.offsets[k + 1]))
        assert int(batch.index_raw[k]) == v["index_raw"]
        assert int(batch.ts_ticks_raw[k]) == v["ts_ticks_raw"]
        assert int(batch.rate_code[k]) == v["rate_code"]
        assert int(batch.acc_range_code[k]) == v["acc_range_code"]
        assert int(batch.gyr_range_code[k]) == v["gyr_range_code"]
        assert batch.acc_counts[s].tolist() == v["acc_counts"]
        np.testing.assert_allclose(batch.acc_mps2[s], v["acc_mps2"], rtol=RTOL, atol=0)
        if v["gyr_counts"] is None:
            assert not batch.has_gyr[k]
        else:
            assert batch.gyr_counts[s].tolist() == v["gyr_counts"]
            np.testing.assert_allclose(batch.gyr_radps[s], v["gyr_radps"], rtol=RTOL, atol=0)


def test_one_g_reads_one_g() -> None:
    v = next(v for v in DATA if v["name"] == "one_g_z_8g")
    p = H.decode_packet(bytes.fromhex(v["hex"]))
    assert p.acc_mps2[0, 2] == pytest.approx(9.80665, rel=1e-3)


@pytest.mark.parametrize("v", BAD, ids=ids(BAD))
def test_bad_packet_gives_reason_and_offset(v: dict[str, Any]) -> None:
    raw = bytes.fromhex(v["hex"])
    with pytest.raises(PacketError) as e:
        H.decode_packet(raw)
    assert (e.value.reason, e.value.offset) == (v["reason"], v["offset"])
    assert e.value.sensor_type == "hipsense_v1"
    # the batch decoder names the same problem, and which packet it was in
    good = bytes.fromhex(DATA[0]["hex"])
    with pytest.raises(PacketError, match="packet 1") as e2:
        H.decode_packets([good, raw, good])
    assert (e2.value.reason, e2.value.offset) == (v["reason"], v["offset"])


def _run_stream(steps: list[dict[str, Any]]) -> None:
    dec = H.HipSenseV1Decoder("hip")
    for k, st in enumerate(steps):
        frame = RawFrame("hip", st["host_t_s"], bytes.fromhex(st["hex"]), H.DATA_UUID)
        exp = st["expect"]
        if exp is not None and "error" in exp:
            with pytest.raises(PacketError) as e:
                dec.decode(frame)
            assert (e.value.reason, e.value.offset) == (exp["error"], exp["offset"]), f"step {k}"
            continue
        block = dec.decode(frame)
        if exp is None:
            assert block is None, f"step {k}: duplicate not dropped"
            continue
        assert block is not None, f"step {k}"
        n = exp["n_samples"]
        assert block.sample_index.tolist() == list(range(exp["first_index"], exp["first_index"] + n)), f"step {k}"
        assert block.missing_before.tolist() == [exp["missing_before"]] + [0] * (n - 1), f"step {k}"
        np.testing.assert_allclose(block.t_s, exp["t0_s"] + exp["dt_s"] * np.arange(n), rtol=0, atol=1e-9)
        # the samples carry their own index in acc x (mod 30000): the right samples were kept
        lsb = block.acc_mps2[0, 2] / 4096
        assert np.rint(block.acc_mps2[:, 0] / lsb).astype(int).tolist() == [
            i % 30000 for i in range(exp["first_index"], exp["first_index"] + n)
        ]


@pytest.mark.parametrize("v", STREAMS, ids=ids(STREAMS))
def test_stream_decoder(v: dict[str, Any]) -> None:
    _run_stream(v["steps"])


@pytest.mark.parametrize("v", STREAMS, ids=ids(STREAMS))
def test_stream_decoder_batch_equals_one_by_one(v: dict[str, Any]) -> None:
    frames = [RawFrame("hip", st["host_t_s"], bytes.fromhex(st["hex"]), H.DATA_UUID) for st in v["steps"]]
    one = H.HipSenseV1Decoder("hip")
    blocks = []
    for f in frames:
        try:
            b = one.decode(f)
        except PacketError:
            continue
        if b is not None:
            blocks.append(b)
    batch = H.HipSenseV1Decoder("hip").decode_batch(frames)
    for name in ("t_s", "acc_mps2", "sample_index", "missing_before"):
        np.testing.assert_array_equal(
            np.concatenate([getattr(b, name) for b in batch]), np.concatenate([getattr(b, name) for b in blocks])
        )


@pytest.mark.parametrize("v", CONTROL["commands"], ids=ids(CONTROL["commands"]))
def test_encode_command(v: dict[str, Any]) -> None:
    assert H.encode_command(v["opcode"], v["argument"]).hex() == v["hex"]


def test_named_command_helpers_match_the_vectors() -> None:
    by_name = {v["name"]: v["hex"] for v in CONTROL["commands"]}
    assert H.start_command().hex() == by_name["start"]
    assert H.stop_command().hex() == by_name["stop"]
    assert H.get_config_command().hex() == by_name["get_config"]
    for hz in (52, 104, 208, 416, 833):
        assert H.set_rate_command(hz).hex() == by_name[f"set_rate_{hz}hz"]
    for g in (2, 4, 8, 16):
        assert H.set_acc_range_command(g).hex() == by_name[f"set_acc_range_{g}g"]
    for d in (125, 245, 500, 1000, 2000):
        assert H.set_gyr_range_command(d).hex() == by_name[f"set_gyr_range_{d}dps"]
    assert H.set_gyr_range_command(None).hex() == by_name["set_gyr_off"]
    assert H.time_sync_command(0xDEADBEEF).hex() == by_name["time_sync"]
    assert H.send_backlog_command(70000).hex() == by_name["send_backlog_from_70000"]
    assert H.send_backlog_command((1 << 32) * 3 - 1).hex() == by_name["send_backlog_from_max"]
    with pytest.raises(ValueError, match="100"):
        H.set_rate_command(100)
    with pytest.raises(ValueError, match="takes no argument"):
        H.encode_command(1, 5)


@pytest.mark.parametrize("v", CONTROL["responses"], ids=ids(CONTROL["responses"]))
def test_decode_response(v: dict[str, Any]) -> None:
    r = H.decode_response(bytes.fromhex(v["hex"]))
    for key in ("opcode", "result", "token", "sensor_ticks", "first_index", "head_index", "rate_code"):
        assert getattr(r, key) == v.get(key), key
    assert r.ok == (v["result"] == 1)
    if r.ok:
        assert r.raise_for_result() is r
    else:
        with pytest.raises(CommandRejectedError) as e:
            r.raise_for_result()
        assert e.value.result == v["result"]


@pytest.mark.parametrize("v", CONTROL["bad_responses"], ids=ids(CONTROL["bad_responses"]))
def test_bad_response(v: dict[str, Any]) -> None:
    with pytest.raises(PacketError) as e:
        H.decode_response(bytes.fromhex(v["hex"]))
    assert (e.value.reason, e.value.offset) == (v["reason"], v["offset"])


@pytest.mark.parametrize("v", STATUS["vectors"], ids=ids(STATUS["vectors"]))
def test_decode_status(v: dict[str, Any]) -> None:
    s = H.decode_status(bytes.fromhex(v["hex"]))
    for key in ("streaming", "replaying", "charging", "imu_fault", "battery_mv", "dropped_samples"):
        assert getattr(s, key) == v[key], key
    assert s.pending_samples == v["pending_samples"]
    assert s.head_index == v["head_index"]
    assert s.battery_pct == (None if v["battery_pct"] == 255 else v["battery_pct"])


@pytest.mark.parametrize("v", STATUS["bad"], ids=ids(STATUS["bad"]))
def test_bad_status(v: dict[str, Any]) -> None:
    with pytest.raises(PacketError) as e:
        H.decode_status(bytes.fromhex(v["hex"]))
    assert (e.value.reason, e.value.offset) == (v["reason"], v["offset"])


@pytest.mark.parametrize("v", INFO["vectors"], ids=ids(INFO["vectors"]))
def test_decode_info(v: dict[str, Any]) -> None:
    i = H.decode_info(bytes.fromhex(v["hex"]))
    for key in ("has_gyro", "has_backlog", "has_battery", "mounting", "up_axis", "forward_axis", "boot_id"):
        assert getattr(i, key) == v[key], key
    assert i.buffer_capacity == v["buffer_capacity"]
    assert list(i.sampling_rates_hz) == v["sampling_rates_hz"]
    assert list(i.acc_ranges_g) == v["acc_ranges_g"]
    assert list(i.gyr_ranges_dps) == v["gyr_ranges_dps"]
    assert i.gyr_can_be_off == v["gyr_can_be_off"]
    assert (i.imu_part, i.firmware) == (v["imu_part"], v["firmware"])
    if i.buffer_capacity:
        assert math.isclose(i.buffer_depth_s(416.0), i.buffer_capacity / 416.0)


@pytest.mark.parametrize("v", INFO["bad"], ids=ids(INFO["bad"]))
def test_bad_info(v: dict[str, Any]) -> None:
    with pytest.raises(PacketError) as e:
        H.decode_info(bytes.fromhex(v["hex"]))
    assert (e.value.reason, e.value.offset) == (v["reason"], v["offset"])


def test_status_and_control_frames_give_no_block_but_update_status() -> None:
    dec = H.HipSenseV1Decoder("hip")
    st = STATUS["vectors"][1]
    assert dec.decode(RawFrame("hip", 0.0, bytes.fromhex(st["hex"]), H.STATUS_UUID)) is None
    assert dec.last_status is not None
    assert dec.last_status.head_index == st["head_index"]
    resp = CONTROL["responses"][0]
    assert dec.decode(RawFrame("hip", 0.0, bytes.fromhex(resp["hex"]), H.CONTROL_UUID)) is None
    with pytest.raises(PacketError):
        dec.decode(RawFrame("hip", 0.0, b"\x02", H.STATUS_UUID))
    assert dec.n_errors == 1
