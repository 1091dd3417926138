"""Write the seed corpora ``fuzz/corpus/<target>/`` from the golden vectors and small valid files.

    python -m fuzz.make_seeds          # (re)writes the generated seeds; finds added by hand stay

Seeds are named ``seed-<what>``; minimised finds of fuzzing runs are committed as ``find-<what>`` next to them.
Every seed is small (a few hundred bytes to a few KB): the fuzzer mutates them, the test suite replays them.
"""

from __future__ import annotations

import io
import json
import sqlite3
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from firmware_proto.vectors import load
from fuzz.targets import HOST_STEPS_S, encode_frames, encode_members
from sensor.model import ImuBlock
from sensor.protocol import hipsense_v1 as v1
from sensor.protocol import polar, witmotion
from sensor.protocol.polar import ControlOp, MeasurementType, SettingType
from sensor.sessions import hipsense_csv

CORPUS = Path(__file__).resolve().parent / "corpus"


def _ctl(dt_s: float, channel: int = 0) -> int:
    step = min(range(len(HOST_STEPS_S)), key=lambda i: abs(HOST_STEPS_S[i] - dt_s))
    return (channel << 4) | step


def _smooth(n: int, rate_hz: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    t = np.arange(n) / rate_hz
    w = 2 * np.pi * 1.4
    acc = np.column_stack([0.9 * np.sin(w * t), 0.4 * np.cos(w * t), 9.80665 + 2.5 * np.sin(2 * w * t)])
    gyr = np.column_stack([0.5 * np.sin(w * t + 0.2), 0.3 * np.cos(w * t), 0.2 * np.sin(2 * w * t)])
    return t, acc, gyr


def _csv(header: list[str], cols: list[np.ndarray], delim: str = ",") -> bytes:
    buf = io.StringIO()
    buf.write(delim.join(f'"{h}"' for h in header) + "\n")
    np.savetxt(buf, np.column_stack(cols), delimiter=delim, fmt="%.5g")
    return buf.getvalue().encode()


def v1_seeds() -> dict[str, dict[str, bytes]]:
    data = load("data_packets.json")["vectors"]
    packets = {f"seed-{v['name']}": bytes.fromhex(v["hex"]) for v in data[::3]}
    for doc, keys in (
        ("bad_packets.json", ("vectors",)),
        ("status.json", ("vectors", "bad")),
        ("info.json", ("vectors", "bad")),
        ("control.json", ("responses", "bad_responses")),
    ):
        d = load(doc)
        for k in keys:
            for v in d[k][:4]:
                packets[f"seed-{Path(doc).stem}-{v['name']}"] = bytes.fromhex(v["hex"])
    streams: dict[str, bytes] = {}
    for vec in load("streams.json")["vectors"]:
        items, prev = [], None
        for step in vec["steps"]:
            dt = 0.0 if prev is None else step["host_t_s"] - prev
            prev = step["host_t_s"]
            items.append((_ctl(dt), bytes.fromhex(step["hex"])))
        streams[f"seed-{vec['name']}"] = encode_frames(items)
    # a long clean stream (the vectorised decode_batch path needs >= 24 frames), with status and info frames
    status = bytes.fromhex(load("status.json")["vectors"][0]["hex"])
    info = bytes.fromhex(load("info.json")["vectors"][0]["hex"])
    long = [(_ctl(0.0, 14), info), (_ctl(0.0, 13), status)]
    for i in range(30):
        payload = v1_packet_bytes(index=65530 + i * 2, ts=(16_777_000 + i * 158) % (1 << 24), n=2)
        long.append((_ctl(0.01), payload))
    streams["seed-long-wrap"] = encode_frames(long)
    # a sensor restart: the info characteristic's boot id changes, the index and clock start again
    reboot = [(_ctl(0.0, 14), info)]
    reboot += [(_ctl(0.01), v1_packet_bytes(index=100 + 2 * i, ts=5000 + 158 * i, n=2)) for i in range(4)]
    info2 = bytearray(info)
    info2[10:12] = (int.from_bytes(info[10:12], "little") + 1).to_bytes(2, "little")
    reboot += [(_ctl(3.0, 14), bytes(info2))]
    reboot += [(_ctl(0.01), v1_packet_bytes(index=2 * i, ts=100 + 158 * i, n=2)) for i in range(4)]
    link = {
        "seed-v1-reboot": b"\x00" + encode_frames(reboot),
        "seed-v1-long": b"\x00" + streams["seed-long-wrap"],
        "seed-v1-gap": b"\x00" + streams[next(k for k in streams if "gap" in k or "loss" in k)],
    }
    return {"v1_packet": packets, "v1_stream": streams, "link_decoder": link}


def v1_packet_bytes(index: int, ts: int, n: int, gyr: bool = True) -> bytes:
    b0 = (v1.PROTOCOL_VERSION << 4) | 5  # 208 Hz
    b1 = (1 << 6) | ((1 if gyr else v1.GYR_OFF) << 3)
    header = bytes((b0, b1, n)) + (index & 0xFFFF).to_bytes(2, "little") + (ts & 0xFFFFFF).to_bytes(3, "little")
    rng = np.random.default_rng(index)
    return header + rng.integers(-2000, 2000, size=n * (6 if gyr else 3), dtype="<i2").tobytes()


def third_party_seeds() -> dict[str, dict[str, bytes]]:
    _t, acc, gyr = _smooth(12, 100.0)
    wit = witmotion.encode_samples(acc, gyr)
    wit_items = [(_ctl(0.01 * (i > 0)), wit[i * 40 : i * 40 + 40]) for i in range(6)]
    wit_items.append((_ctl(0.5), witmotion.encode_register_reply(0x64, (3900,))))
    commands = witmotion.UNLOCK + witmotion.encode_set_rate(100.0) + witmotion.encode_read_register(0x64)
    witm = {
        "seed-stream": encode_frames(wit_items),
        "seed-commands": bytes((5,)) + witmotion.UNLOCK + bytes((5,)) + witmotion.encode_read_register(0x64),
        "seed-one-frame": wit[:20],
        "seed-command-set": commands[:5],
    }
    block = ImuBlock.from_arrays("p", 1.0 + np.arange(40) / 52.0, acc[np.arange(40) % 12], gyr[np.arange(40) % 12])
    acc_frames = polar.encode_block(block, max_payload=120)
    gyr_frames = polar.encode_block(block, measurement=MeasurementType.GYRO, max_payload=120)
    raw = polar.encode_block(block, compressed=False, max_payload=120)
    factor = polar.encode_settings({SettingType.FACTOR: 2.44e-4, SettingType.SAMPLE_RATE: 52})
    start_ok = polar.encode_response(ControlOp.START, MeasurementType.ACC, parameters=factor)
    items = [(_ctl(0.0, 3), start_ok)]
    for a, g in zip(acc_frames, gyr_frames, strict=False):
        items += [(_ctl(0.1, 0), a), (_ctl(0.01, 1), g)]
    pol = {
        "seed-merged-stream": encode_frames(items),
        "seed-raw-stream": encode_frames([(_ctl(0.1), r) for r in raw[:3]]),
        "seed-start-command": polar.encode_start(
            MeasurementType.ACC,
            {SettingType.SAMPLE_RATE: 52, SettingType.RESOLUTION: 16, SettingType.RANGE: 8, SettingType.CHANNELS: 3},
        ),
        "seed-features": polar.encode_features((MeasurementType.ACC, MeasurementType.GYRO)),
        "seed-compressed-frame": acc_frames[0],
    }
    link = {
        "seed-witmotion": b"\x01" + witm["seed-stream"],
        "seed-polar-verity": b"\x02" + pol["seed-merged-stream"],
        "seed-polar-h10": b"\x03" + pol["seed-raw-stream"],
    }
    return {"witmotion": witm, "polar": pol, "link_decoder": link}


def file_seeds() -> dict[str, dict[str, bytes]]:
    t, acc, gyr = _smooth(24, 50.0)
    block = ImuBlock.from_arrays("hip", t, acc, gyr)
    hcsv = hipsense_csv.format_csv(block, comments=["sensor: seed"]).encode()
    acc_only = hipsense_csv.format_csv(ImuBlock.from_arrays("hip", t, acc)).encode()
    g_units = acc_only.replace(b"_mps2", b"_g")
    phy_acc = _csv(["Time (s)", *(f"Acceleration {a} (m/s^2)" for a in "xyz")], [t, *acc.T])
    phy_acc_semi = _csv(["Time (s)", *(f"Acceleration {a} (m/s^2)" for a in "xyz")], [t, *acc.T], ";")
    phy_gyr = _csv(["Time (s)", *(f"Gyroscope {a} (rad/s)" for a in "xyz")], [t + 0.003, *gyr.T])
    phy_time = b"event,experiment time,system time,system time text\nSTART,0.0,1760000000.123,x\n"
    ns = (1_760_000_000 + t) * 1e9
    sl_total = _csv(["time", "seconds_elapsed", "z", "y", "x"], [ns, t, *acc[:, ::-1].T])
    sl_user = _csv(["time", "seconds_elapsed", "z", "y", "x"], [ns, t, *(acc[:, ::-1].T * 0.1)])
    sl_grav = _csv(["time", "seconds_elapsed", "z", "y", "x"], [ns, t, *(acc[:, ::-1].T * 0.9)])
    sl_gyr = _csv(["time", "seconds_elapsed", "z", "y", "x"], [ns + 1e6, t + 0.001, *gyr[:, ::-1].T])
    sl_meta = b"version,device name,recording time\n1.0,phone,2025-10-09\n"
    doc, archive = _export_seeds(block)
    return {
        "hipsense_csv": {"seed-6axis": hcsv, "seed-acc-only": acc_only, "seed-acc-g": g_units},
        "import_file": {
            "seed-hipsense-csv": b"\x00" + hcsv,
            "seed-phyphox-acc": b"\x00" + phy_acc,
            "seed-phyphox-semicolon": b"\x02" + phy_acc_semi,
            "seed-sensor-logger-total": b"\x00" + sl_total,
            "seed-json-export": b"\x01" + doc,
            "seed-hipsense-csv-into-store": b"\x04" + acc_only,
            "seed-phyphox-acc-into-store": b"\x04" + phy_acc,
            "seed-phyphox-zip": b"\x03"
            + _zip({"Accelerometer.csv": _head(phy_acc, 10), "Gyroscope.csv": _head(phy_gyr, 10)}),
        },
        "import_export": {
            "seed-phyphox-zip": encode_members(
                1, [("Accelerometer.csv", phy_acc), ("Gyroscope.csv", phy_gyr), ("meta/time.csv", phy_time)]
            ),
            "seed-phyphox-dir": encode_members(2, [("Raw Data.csv", phy_acc), ("Gyroscope.csv", phy_gyr)]),
            "seed-sensor-logger-zip": encode_members(
                1,
                [
                    ("Accelerometer.csv", sl_user),
                    ("Gravity.csv", sl_grav),
                    ("Gyroscope.csv", sl_gyr),
                    ("Metadata.csv", sl_meta),
                ],
            ),
            "seed-sensor-logger-total-dir": encode_members(4, [("TotalAcceleration.csv", sl_total)]),
        },
        "import_archive": {"seed-one-session": archive},
        "config": config_seeds(),
        "scenario": scenario_seeds(),
        "mounting": mounting_seeds(),
    }


def _head(text: bytes, lines: int) -> bytes:
    return b"".join(text.splitlines(keepends=True)[:lines])


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, content in members.items():
            z.writestr(zipfile.ZipInfo(name, date_time=(2025, 10, 9, 12, 0, 0)), content, zipfile.ZIP_DEFLATED)
    return buf.getvalue()


def _export_seeds(block: ImuBlock) -> tuple[bytes, bytes]:
    """A JSON export and a compact archive of a tiny imported session."""
    from sensor.sessions.exporters import export_session
    from sensor.sessions.importers import import_file
    from sensor.sessions.store import Store

    with tempfile.TemporaryDirectory() as d:
        p = Path(d)
        hipsense_csv.write_csv(p / "rec.csv", ImuBlock.from_arrays("hip", block.t_s[:8], block.acc_mps2[:8]))
        store = Store(p / "s.db")
        try:
            sid = import_file(store, p / "rec.csv", name="seed").session_id
            export_session(store, sid, "json", p / "x.json")
            export_session(store, sid, "hipsense", p / "x.hipsense")
        finally:
            store.close()
        con = sqlite3.connect(p / "x.hipsense")
        con.execute("PRAGMA journal_mode=DELETE")
        con.execute("PRAGMA page_size=512")
        con.execute("VACUUM")
        con.close()
        doc = json.loads((p / "x.json").read_text())
        return json.dumps(doc, separators=(",", ":")).encode(), (p / "x.hipsense").read_bytes()


def config_seeds() -> dict[str, bytes]:
    full = b"""data_dir = "/tmp/hs"
[[sensors]]
alias = "hip"
address = "AA:BB:CC:DD:EE:FF"
sensor_type = "hipsense_v1"
mounting = "sacrum"

[[sensors]]
alias = "wit"
address = "11:22:33:44:55:66"
sensor_type = "witmotion"

[broker]
url = "mqtts://user@broker.local:8883"
password_env = "HS_PW"
topic_prefix = "hipsense"
ha_discovery = "device"
live_tilt_rate_hz = 10.0
keepalive_s = 30
"""
    return {"seed-full": full, "seed-empty": b"", "seed-broker-only": b'[broker]\nurl = "mqtt://127.0.0.1:1883"\n'}


def mounting_seeds() -> dict[str, bytes]:
    from sensor.pipeline.calibration import Mounting

    c, s = np.cos(0.3), np.sin(0.3)
    rot = Mounting(np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]]), np.array([0.01, -0.02, 0.0]), 0.8, "gait")
    return {
        "seed-identity": json.dumps(Mounting.identity().to_dict()).encode(),
        "seed-rotated": json.dumps(rot.to_dict()).encode(),
    }


def scenario_seeds() -> dict[str, bytes]:
    from sensor.sim.presets import PRESETS

    out = {}
    for name in ("demo", *sorted(PRESETS)[:2]):
        sc = PRESETS[name]()
        out[f"seed-{name}-yaml"] = b"\x00" + sc.to_yaml().encode()
    out["seed-demo-json"] = b"\x01" + PRESETS["demo"]().to_json().encode()
    return out


def main() -> None:
    groups: dict[str, dict[str, bytes]] = {}
    for part in (v1_seeds(), third_party_seeds(), file_seeds()):
        for target, seeds in part.items():
            groups.setdefault(target, {}).update(seeds)
    for target, seeds in groups.items():
        d = CORPUS / target
        d.mkdir(parents=True, exist_ok=True)
        for old in d.glob("seed-*"):
            old.unlink()
        for name, data in seeds.items():
            (d / name).write_bytes(data)
        print(f"{target:<16} {len(seeds):3d} seeds {sum(map(len, seeds.values())):7d} bytes")


if __name__ == "__main__":
    main()
