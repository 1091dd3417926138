"""Run the encoder and the sensor core against the golden vectors UNDER MICROPYTHON.

``micropython check_vectors.py ../vectors`` (from this folder). Prints one ``ok <n>`` line per vector file and
``ALL OK`` at the end; raises on the first mismatch. The CPython tests run it with the MicroPython Unix port, so
the firmware code is proven to run on a real MicroPython, not just on CPython.
"""

import json
import struct
import sys
from binascii import hexlify, unhexlify

import hsproto as P
import sensorcore
from lsm6dsox import FifoParser


def _hex(b):
    return hexlify(b).decode()


def _load(folder, name):
    with open(folder + "/" + name) as f:
        return json.load(f)


def _expect(cond, what):
    if not cond:
        raise AssertionError(what)


def check_data(folder):
    n = 0
    for v in _load(folder, "data_packets.json")["vectors"]:
        pkt = P.encode_data_packet(
            v["sample_index"],
            v["ts_ticks"],
            v["acc_counts"],
            v["gyr_counts"],
            v["acc_range_code"],
            v["gyr_range_code"],
            v["rate_code"],
            v["mtu"],
        )
        _expect(_hex(pkt) == v["hex"], "data " + v["name"])
        raw = unhexlify(v["hex"])
        again = P.encode_data_packet_raw(
            v["sample_index"],
            v["ts_ticks"],
            raw[P.HEADER_LEN :],
            v["acc_range_code"],
            v["gyr_range_code"],
            v["rate_code"],
        )
        _expect(again == raw, "raw " + v["name"])
        n += 1
    return n


def check_control(folder):
    doc = _load(folder, "control.json")
    n = 0
    for v in doc["commands"]:
        op, arg = P.parse_command(unhexlify(v["hex"]))
        _expect(op == v["opcode"] and arg == v["argument"], "command " + v["name"])
        n += 1
    for v in doc["bad_commands"]:
        try:
            P.parse_command(unhexlify(v["hex"]))
        except P.CommandError as e:
            _expect(e.result == v["result"] and e.opcode == v["opcode"], "bad command " + v["name"])
        else:
            raise AssertionError("bad command accepted: " + v["name"])
        n += 1
    for v in doc["responses"]:
        payload = b""
        if "token" in v:
            payload = P.time_sync_payload(v["token"], v["sensor_ticks"])
        elif "first_index" in v:
            payload = P.backlog_payload(v["first_index"], v["head_index"])
        elif "rate_code" in v:
            payload = P.config_payload(v["rate_code"], v["acc_range_code"], v["gyr_range_code"], v["streaming"])
        _expect(_hex(P.encode_response(v["opcode"], v["result"], payload)) == v["hex"], "response " + v["name"])
        n += 1
    return n


def check_status_info(folder):
    n = 0
    for v in _load(folder, "status.json")["vectors"]:
        raw = P.encode_status(
            v["flags"],
            v["battery_pct"],
            v["battery_mv"],
            v["dropped_samples"],
            v["pending_samples"],
            v["head_index"],
        )
        _expect(_hex(raw) == v["hex"], "status " + v["name"])
        n += 1
    for v in _load(folder, "info.json")["vectors"]:
        raw = P.encode_info(
            v["imu_part"],
            v["firmware"],
            v["mounting"],
            v["up_axis"],
            v["forward_axis"],
            v["buffer_capacity"],
            v["boot_id"],
            v["features"],
            v["rate_codes"],
            v["acc_codes"],
            v["gyr_codes"],
        )
        _expect(_hex(raw) == v["hex"], "info " + v["name"])
        n += 1
    return n


def check_core():
    """Ring overflow, backlog replay and config changes, as in tests/protocol/test_firmware_core.py."""
    core = sensorcore.SensorCore(64, "LSM6DSOX", "check")
    _expect(core.handle_command(bytes([P.OP_START])) == bytes([0x80, 1, 1]), "start")
    vals = []
    for i in range(200):
        vals += [i % 30000, 0, 0, 0, 0, 0]
    core.push(0, struct.pack("<%dh" % len(vals), *vals))
    _expect(core.dropped == 136, "dropped %d" % core.dropped)
    got = []
    while True:
        pkt = core.next_packet(247)
        if pkt is None:
            break
        for k in range(pkt[2]):
            got.append(struct.unpack_from("<h", pkt, 8 + 12 * k)[0])
    _expect(got == list(range(136, 200)), "replay after overflow")
    resp = core.handle_command(bytes([P.OP_SEND_BACKLOG]) + struct.pack("<I", 150))
    _expect(struct.unpack_from("<II", resp, 3) == (150, 200), "backlog response")
    pkt = core.next_packet(23)
    _expect(struct.unpack_from("<H", pkt, 3)[0] == 150 and pkt[2] == 1, "backlog first packet")
    clock = sensorcore.SampleClock(208.0)
    stamps = [clock.stamp(1000 + 160 * k, 1) for k in range(1, 50)]
    _expect(all(stamps[k] > stamps[k - 1] for k in range(1, len(stamps))), "clock increasing")
    parser = FifoParser(True)
    words = bytes([0x0A]) + struct.pack("<3h", 1, 2, 3) + bytes([0x12]) + struct.pack("<3h", 4, 5, 6)
    rec, n = parser.feed(words)
    _expect(n == 1 and rec == struct.pack("<6h", 4, 5, 6, 1, 2, 3), "fifo parser")
    return 1


def main(folder):
    print("ok", check_data(folder), "data_packets")
    print("ok", check_control(folder), "control")
    print("ok", check_status_info(folder), "status+info")
    print("ok", check_core(), "sensorcore")
    print("ALL OK", sys.implementation.name)


main(sys.argv[1] if len(sys.argv) > 1 else "../vectors")
