"""The firmware encoder (hsproto, plain Python) against the golden vectors."""

from __future__ import annotations

from typing import Any

import pytest

from firmware_proto.micropython import hsproto as P
from firmware_proto.vectors import generate, ids, load

DATA = load("data_packets.json")["vectors"]
CONTROL = load("control.json")
STATUS = load("status.json")["vectors"]
INFO = load("info.json")["vectors"]


def test_committed_vectors_equal_the_generator_output() -> None:
    for name, doc in generate.build().items():
        assert (generate.HERE / name).read_text() == generate.render(doc), f"{name}: run the generator"


@pytest.mark.parametrize("v", DATA, ids=ids(DATA))
def test_encode_data_packet(v: dict[str, Any]) -> None:
    pkt = P.encode_data_packet(
        v["sample_index"],
        v["ts_ticks"],
        v["acc_counts"],
        v["gyr_counts"],
        v["acc_range_code"],
        v["gyr_range_code"],
        v["rate_code"],
        mtu=v["mtu"],
    )
    assert pkt.hex() == v["hex"]


@pytest.mark.parametrize("v", DATA, ids=ids(DATA))
def test_encode_raw_path_and_flat_input_agree(v: dict[str, Any]) -> None:
    flat_acc = [x for s in v["acc_counts"] for x in s]
    flat_gyr = None if v["gyr_counts"] is None else [x for s in v["gyr_counts"] for x in s]
    assert (
        P.encode_data_packet(
            v["sample_index"],
            v["ts_ticks"],
            flat_acc,
            flat_gyr,
            v["acc_range_code"],
            v["gyr_range_code"],
            v["rate_code"],
        ).hex()
        == v["hex"]
    )
    body = bytes.fromhex(v["hex"])[P.HEADER_LEN :]
    raw = P.encode_data_packet_raw(
        v["sample_index"], v["ts_ticks"], body, v["acc_range_code"], v["gyr_range_code"], v["rate_code"]
    )
    assert raw.hex() == v["hex"]


@pytest.mark.parametrize("mtu", [23, 104, 185, 247, 517])
def test_full_packets_fill_but_never_exceed_the_notification(mtu: int) -> None:
    for has_gyr in (True, False):
        n = P.max_samples_per_packet(mtu, has_gyr)
        size = P.HEADER_LEN + n * P.bytes_per_sample(has_gyr)
        assert size <= mtu - 3 < size + P.bytes_per_sample(has_gyr)


def test_encoder_refuses_values_that_do_not_fit() -> None:
    with pytest.raises(ValueError, match="int16"):
        P.encode_data_packet(0, 0, [(32768, 0, 0)], [(0, 0, 0)], 0, 0, 3)
    with pytest.raises(ValueError, match="rate code"):
        P.encode_data_packet(0, 0, [(0, 0, 0)], [(0, 0, 0)], 0, 0, 2)
    with pytest.raises(ValueError, match="does not fit"):
        P.encode_data_packet(0, 0, [(0, 0, 0)] * 2, [(0, 0, 0)] * 2, 0, 0, 3, mtu=23)
    with pytest.raises(ValueError, match="use 7"):
        P.encode_data_packet(0, 0, [(0, 0, 0)], None, 0, 0, 3)
    with pytest.raises(ValueError, match=r"1\.\.255"):
        P.encode_header(0, 0, 256, 3, 0, 0)


@pytest.mark.parametrize("v", CONTROL["commands"], ids=ids(CONTROL["commands"]))
def test_parse_command(v: dict[str, Any]) -> None:
    assert P.parse_command(bytes.fromhex(v["hex"])) == (v["opcode"], v["argument"])


@pytest.mark.parametrize("v", CONTROL["bad_commands"], ids=ids(CONTROL["bad_commands"]))
def test_parse_command_refuses_with_the_result_code(v: dict[str, Any]) -> None:
    with pytest.raises(P.CommandError) as e:
        P.parse_command(bytes.fromhex(v["hex"]))
    assert (e.value.opcode, e.value.result) == (v["opcode"], v["result"])


@pytest.mark.parametrize("v", CONTROL["responses"], ids=ids(CONTROL["responses"]))
def test_encode_response(v: dict[str, Any]) -> None:
    payload = b""
    if "token" in v:
        payload = P.time_sync_payload(v["token"], v["sensor_ticks"])
    elif "first_index" in v:
        payload = P.backlog_payload(v["first_index"], v["head_index"])
    elif "rate_code" in v:
        payload = P.config_payload(v["rate_code"], v["acc_range_code"], v["gyr_range_code"], v["streaming"])
    assert P.encode_response(v["opcode"], v["result"], payload).hex() == v["hex"]


@pytest.mark.parametrize("v", STATUS, ids=ids(STATUS))
def test_encode_status(v: dict[str, Any]) -> None:
    raw = P.encode_status(
        v["flags"], v["battery_pct"], v["battery_mv"], v["dropped_samples"], v["pending_samples"], v["head_index"]
    )
    assert raw.hex() == v["hex"]


@pytest.mark.parametrize("v", INFO, ids=ids(INFO))
def test_encode_info(v: dict[str, Any]) -> None:
    raw = P.encode_info(
        v["imu_part"],
        v["firmware"],
        v["mounting"],
        v["up_axis"],
        v["forward_axis"],
        v["buffer_capacity"],
        v["boot_id"],
        features=v["features"],
        rate_codes=v["rate_codes"],
        acc_codes=v["acc_codes"],
        gyr_codes=v["gyr_codes"],
    )
    assert raw.hex() == v["hex"]
