from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from sensor.errors import ImportFormatError, StoreError
from sensor.events import RepEvent, SetEvent, StepEvent
from sensor.sessions import imu_f64
from sensor.sessions.exporters import export_session, load_session
from sensor.sessions.importers import detect_format, import_file, parse_axes
from sensor.sessions.store import PendingEvent, SensorMeta, Store
from tests.sessions._files import (
    START_EPOCH_S,
    phyphox_acc_csv,
    smooth_imu,
    write_phyphox_zip,
    write_sensor_logger_zip,
)
from tests.sessions._synth import synth_block


def _samples(store: Store, sid: str):  # type: ignore[no-untyped-def]
    return load_session(store, sid).samples


# ------------------------------------------------------------------------------------------- phyphox
def test_phyphox_zip_with_gyroscope(tmp_path: Path) -> None:
    z = write_phyphox_zip(tmp_path / "run.zip", 20.0)
    assert detect_format(z) == "phyphox"
    with Store(tmp_path / "s.db") as st:
        res = import_file(st, z)
        b = _samples(st, res.session_id)["phone"]
        info = st.get_session(res.session_id)
    t, acc, gyr = smooth_imu(20.0, 200.0)
    keep = np.isin(t, b.t_s)
    # the accelerometer is the time base: its values come back to the printed precision (9 significant digits)
    np.testing.assert_allclose(b.acc_mps2, acc[keep], rtol=1e-8, atol=1e-8)
    # the gyroscope was sampled at other instants and linearly interpolated: error far below any sensor noise
    assert b.gyr_radps is not None
    assert np.abs(b.gyr_radps - gyr[keep]).max() < 1e-3
    assert info.started_s == pytest.approx(START_EPOCH_S)
    assert info.source_kind == "import"
    assert info.sensors[0].sampling_rate_hz == pytest.approx(200.0, rel=1e-6)
    assert res.format == "phyphox"
    assert res.samples == len(b) > 3900


def test_phyphox_single_csv_semicolon_decimal_comma(tmp_path: Path) -> None:
    t, acc, _ = smooth_imu(5.0, 100.0)
    p = tmp_path / "Accelerometer.csv"
    p.write_text(phyphox_acc_csv(t, acc, delim=";", decimal_comma=True))
    with Store(tmp_path / "s.db") as st:
        res = import_file(st, p)
        b = _samples(st, res.session_id)["phone"]
    np.testing.assert_allclose(b.acc_mps2, acc, rtol=1e-8)
    assert b.gyr_radps is None
    assert any("accelerometer-only" in w for w in res.warnings)


def test_phyphox_without_gravity_is_refused_with_reason(tmp_path: Path) -> None:
    z = write_phyphox_zip(tmp_path / "lin.zip", 5.0, linear=True)
    with Store(tmp_path / "s.db") as st, pytest.raises(ImportFormatError) as ei:
        import_file(st, z)
    assert "without g" in str(ei.value)
    assert "Linear Accelerometer.csv" in ei.value.path
    assert ei.value.column == "Linear Acceleration x (m/s^2)"


# ------------------------------------------------------------------------------------------- Sensor Logger
def test_sensor_logger_total_acceleration_and_gyroscope(tmp_path: Path) -> None:
    z = write_sensor_logger_zip(tmp_path / "sl.zip", 20.0)
    assert detect_format(z) == "sensor-logger"
    with Store(tmp_path / "s.db") as st:
        res = import_file(st, z)
        b = _samples(st, res.session_id)["phone"]
        info = st.get_session(res.session_id)
    t, acc, gyr = smooth_imu(20.0, 100.0)
    keep = np.isin(np.round(t, 9), np.round(b.t_s, 9))
    np.testing.assert_allclose(b.acc_mps2, acc[keep], atol=1e-12)  # z,y,x columns mapped back to x,y,z
    assert np.abs(b.gyr_radps - gyr[keep]).max() < 1e-3  # type: ignore[operator]
    assert info.started_s == pytest.approx(START_EPOCH_S, abs=1e-3)
    assert info.sensors[0].meta["metadata"]["device name"] == "iPhone 15"


def test_sensor_logger_accelerometer_plus_gravity(tmp_path: Path) -> None:
    z = write_sensor_logger_zip(tmp_path / "sl.zip", 10.0, total=False)
    with Store(tmp_path / "s.db") as st:
        res = import_file(st, z)
        b = _samples(st, res.session_id)["phone"]
    t, acc, _ = smooth_imu(10.0, 100.0)
    keep = np.isin(np.round(t, 9), np.round(b.t_s, 9))
    np.testing.assert_allclose(b.acc_mps2, acc[keep], atol=1e-9)
    assert any("Gravity.csv" in w for w in res.warnings)


def test_sensor_logger_folder_and_single_file_with_siblings(tmp_path: Path) -> None:
    z = write_sensor_logger_zip(tmp_path / "sl.zip", 5.0)
    d = tmp_path / "export"
    with zipfile.ZipFile(z) as zf:
        zf.extractall(d)
    with Store(tmp_path / "s.db") as st:
        a = import_file(st, d)
        b = import_file(st, d / "TotalAcceleration.csv")
    assert a.samples == b.samples > 400


def test_sensor_logger_without_gravity_is_refused(tmp_path: Path) -> None:
    z = write_sensor_logger_zip(tmp_path / "sl.zip", 5.0, total=False, gravity=False)
    with Store(tmp_path / "s.db") as st, pytest.raises(ImportFormatError, match="gravity removed"):
        import_file(st, z)


# ------------------------------------------------------------------------------------------- bad files
def _acc_csv(tmp_path: Path, t: np.ndarray, acc: np.ndarray, name: str = "Accelerometer.csv") -> Path:  # type: ignore[type-arg]
    p = tmp_path / name
    p.write_text(phyphox_acc_csv(t, acc))
    return p


@pytest.mark.parametrize(
    ("mutate", "line", "column", "words"),
    [
        ("backwards", 52, "Time (s)", "going backwards"),
        ("duplicate", 52, "Time (s)", "duplicated"),
        ("nan", 102, "Acceleration y (m/s^2)", "NaN or inf"),
        ("g_units", 2, "Acceleration x (m/s^2)", "--acc-unit g"),
    ],
)
def test_bad_values_name_line_and_column(tmp_path: Path, mutate: str, line: int, column: str, words: str) -> None:
    t, acc, _ = smooth_imu(5.0, 100.0)
    t = t.copy()
    acc = acc.copy()
    if mutate == "backwards":
        t[50] = t[48]  # goes back below row 49
    elif mutate == "duplicate":
        t[50] = t[49]
    elif mutate == "nan":
        acc[100, 1] = np.nan
    elif mutate == "g_units":
        acc = acc / 9.80665
    p = _acc_csv(tmp_path, t, acc)
    with Store(tmp_path / "s.db") as st:
        with pytest.raises(ImportFormatError) as ei:
            import_file(st, p)
        assert st.session_ids() == []  # nothing left behind
    err = ei.value
    assert (err.line, err.column) == (line, column)
    assert words in str(err)
    assert str(p) in str(err)


def test_acc_unit_g_fixes_a_file_in_g_and_is_refused_on_mps2(tmp_path: Path) -> None:
    t, acc, _ = smooth_imu(5.0, 100.0)
    p = _acc_csv(tmp_path, t, acc / 9.80665)
    q = _acc_csv(tmp_path, t, acc, name="mps2.csv")
    with Store(tmp_path / "s.db") as st:
        b = _samples(st, import_file(st, p, acc_unit="g").session_id)["phone"]
        np.testing.assert_allclose(b.acc_mps2, acc, rtol=1e-8)
        with pytest.raises(ImportFormatError, match=r"look like m/s\^2.*without --acc-unit g"):
            import_file(st, q, fmt="phyphox", acc_unit="g")


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("", 1, "is empty"),
        ('"Time (s)","Acceleration x (m/s^2)","Acceleration y (m/s^2)","Acceleration z (m/s^2)"\n', 2, "no data rows"),
        (
            '"Time (s)","Acceleration x (m/s^2)","Acceleration y (m/s^2)","Acceleration z (m/s^2)"\n'
            "0.0,0,0,9.8\n0.01,0,zero,9.8\n",
            3,
            "'zero' is not a number",
        ),
        (
            '"Time (s)","Acceleration x (m/s^2)","Acceleration z (m/s^2)"\n0.0,0,9.8\n0.01,0,9.8\n',
            1,
            "missing column 'Acceleration y (m/s^2)'",
        ),
    ],
)
def test_broken_files(tmp_path: Path, text: str, line: int, words: str) -> None:
    p = tmp_path / "Accelerometer.csv"
    p.write_text(text)
    with Store(tmp_path / "s.db") as st:
        with pytest.raises(ImportFormatError) as ei:
            import_file(st, p, fmt="phyphox")
        assert st.session_ids() == []
    assert ei.value.line == line
    assert words in str(ei.value)


def test_store_failure_mid_import_leaves_nothing(tmp_path: Path) -> None:
    z = write_phyphox_zip(tmp_path / "long.zip", 120.0)
    with Store(tmp_path / "s.db", max_pages=200) as st:
        before = st._conn.execute("SELECT count(*) FROM frames").fetchone()[0]
        with pytest.raises(StoreError, match="disk is full"):
            import_file(st, z)
        assert st.session_ids() == []
        assert st._conn.execute("SELECT count(*) FROM frames").fetchone()[0] == before == 0
        assert st._conn.execute("SELECT count(*) FROM session_sensors").fetchone()[0] == 0


# ------------------------------------------------------------------------------------------- axes
def test_axes_remap_and_mirror_refused(tmp_path: Path) -> None:
    m = parse_axes("x,-z,y")
    np.testing.assert_array_equal(m @ [1.0, 2.0, 3.0], [1.0, -3.0, 2.0])
    with pytest.raises(ImportFormatError, match="mirrors"):
        parse_axes("x,y,-z")
    with pytest.raises(ImportFormatError, match="'w' is not one of"):
        parse_axes("x,y,w")
    z = write_phyphox_zip(tmp_path / "run.zip", 5.0)
    with Store(tmp_path / "s.db") as st:
        plain = _samples(st, import_file(st, z).session_id)["phone"]
        turned = _samples(st, import_file(st, z, axes="x,-z,y").session_id)["phone"]
    np.testing.assert_array_equal(turned.acc_mps2[:, 1], -plain.acc_mps2[:, 2])
    np.testing.assert_array_equal(turned.gyr_radps[:, 2], plain.gyr_radps[:, 1])  # type: ignore[index]


# ------------------------------------------------------------------------------------------- export / re-import
def _session_with_events(st: Store) -> str:
    blocks = [synth_block("hip", duration_s=6.0, seed=4), synth_block("ankle", duration_s=6.0, seed=5, gyr=False)]
    frames = sorted(
        (f for b in blocks for f in imu_f64.frames_from_block(b, host_t0_s=1.7e9)), key=lambda f: f.host_t_s
    )
    events = [
        PendingEvent("hip", "e1", StepEvent(t_s=0.5, side="left", pelvic_drop_deg=4.2, confidence=0.9)),
        PendingEvent(
            "hip",
            "e2",
            RepEvent(t_start_s=1.0, t_end_s=2.5, exercise="squat", index_in_set=1, duration_s=1.5, confidence=0.8),
        ),
        PendingEvent(
            "hip", "e3", SetEvent(t_start_s=1.0, t_end_s=5.0, exercise="squat", exercise_confidence=0.9, reps=3)
        ),
    ]
    sensors = [
        SensorMeta(sensor_id="hip", sensor_type="imu_f64", firmware="1.0"),
        SensorMeta(sensor_id="ankle", sensor_type="imu_f64"),
    ]
    sid = st.write_session(
        name="legs",
        source_kind="live",
        started_s=1.7e9,
        sensors=sensors,
        frames=frames,
        events=events,
        tags=["gym"],
        meta={"k": 1},
    )
    st.add_note(sid, "felt strong")
    return sid


def test_json_export_reimports_exactly(tmp_path: Path) -> None:
    with Store(tmp_path / "a.db") as a:
        sid = _session_with_events(a)
        out, _data = export_session(a, sid, "json", tmp_path / "x.json")
        ref = load_session(a, sid)
    doc = json.loads(out.read_text())
    assert [s["pelvic_drop_deg"] for s in doc["steps"]] == [4.2]
    assert [r["exercise"] for r in doc["reps"]] == ["squat"]
    assert doc["sets"][0]["reps"] == 3
    assert detect_format(out) == "hipsense-json"
    with Store(tmp_path / "b.db") as b:
        res = import_file(b, out)
        back = load_session(b, res.session_id)
    for sensor in ("hip", "ankle"):
        np.testing.assert_array_equal(back.samples[sensor].acc_mps2, ref.samples[sensor].acc_mps2)
        np.testing.assert_array_equal(back.samples[sensor].t_s, ref.samples[sensor].t_s)
    assert [e.event for e in back.events] == [e.event for e in ref.events]
    assert back.info.tags == ["gym"]
    assert [n.text for n in back.info.notes] == ["felt strong"]
    assert back.info.meta["original_session_id"] == sid


def test_archive_export_is_lossless_and_reimports(tmp_path: Path) -> None:
    with Store(tmp_path / "a.db") as a:
        sid = _session_with_events(a)
        export_session(a, sid, "hipsense", tmp_path / "legs.hipsense")
        frames = [f for _, _, f in a.iter_frames(sid)]
    assert detect_format(tmp_path / "legs.hipsense") == "hipsense-archive"
    with Store(tmp_path / "b.db") as b:
        r1 = import_file(b, tmp_path / "legs.hipsense")
        r2 = import_file(b, tmp_path / "legs.hipsense")  # a second copy gets a new id
        assert r1.session_id == sid != r2.session_id
        for r in (r1, r2):
            assert [f for _, _, f in b.iter_frames(r.session_id)] == frames
            info = b.get_session(r.session_id)
            assert info.sensors[0].firmware == "1.0"
            assert info.event_counts == {"step": 1, "rep": 1, "set": 1}


def test_csv_export_folder_and_zip(tmp_path: Path) -> None:
    with Store(tmp_path / "a.db") as a:
        sid = _session_with_events(a)
        out, data = export_session(a, sid, "csv", tmp_path / "legs")
        zout, _ = export_session(a, sid, "csv", tmp_path / "legs.zip")
    assert data is not None
    arr = np.loadtxt(out / "samples_hip.csv", delimiter=",", skiprows=1)
    np.testing.assert_allclose(arr[:, 1:4], data.samples["hip"].acc_mps2, rtol=0, atol=5e-7)  # HipSense CSV: %.6f
    assert (out / "samples_hip.csv").read_text().split("\n")[0] == (
        "t_s,acc_x_mps2,acc_y_mps2,acc_z_mps2,gyr_x_radps,gyr_y_radps,gyr_z_radps"
    )
    assert (out / "samples_ankle.csv").read_text().split("\n")[0] == "t_s,acc_x_mps2,acc_y_mps2,acc_z_mps2"
    assert "4.2" in (out / "steps.csv").read_text()
    with zipfile.ZipFile(zout) as zf:
        assert {"samples_hip.csv", "steps.csv", "reps.csv", "sets.csv", "session.json"} <= set(zf.namelist())
    # the samples CSV is a HipSense CSV: it imports again (the format is detected from its header)
    with Store(tmp_path / "b.db") as b:
        res = import_file(b, out / "samples_hip.csv")
        back = load_session(b, res.session_id).samples["hip"]
    assert res.format == "hipsense-csv"
    np.testing.assert_allclose(back.acc_mps2, data.samples["hip"].acc_mps2, rtol=0, atol=5e-7)


def test_parquet_export(tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet", reason="the optional extra hipsense[parquet] (pyarrow) is absent")
    with Store(tmp_path / "a.db") as a:
        sid = _session_with_events(a)
        out, data = export_session(a, sid, "parquet", tmp_path / "pq")
    assert data is not None
    table = pq.read_table(out / "samples.parquet").to_pydict()
    hip = [i for i, s in enumerate(table["sensor_id"]) if s == "hip"]
    np.testing.assert_array_equal(np.array(table["acc_z_mps2"])[hip], data.samples["hip"].acc_mps2[:, 2])
    ankle = [i for i, s in enumerate(table["sensor_id"]) if s == "ankle"]
    assert np.isnan(np.array(table["gyr_x_radps"])[ankle]).all()
    assert pq.read_table(out / "steps.parquet").to_pydict()["pelvic_drop_deg"] == [4.2]


def test_hipsense_csv_import_with_g_unit_and_axes(tmp_path: Path) -> None:
    from sensor.sessions.hipsense_csv import write_csv

    block = synth_block("hip", duration_s=8.0, seed=9)
    g_block = type(block).from_arrays("hip", block.t_s, block.acc_mps2 / 9.80665, block.gyr_radps)
    p = tmp_path / "run.csv"
    write_csv(p, g_block)  # acc_*_mps2 columns that hold g: the classic mistake
    with Store(tmp_path / "s.db") as st:
        with pytest.raises(ImportFormatError, match="--acc-unit g"):
            import_file(st, p)
        assert st.session_ids() == []
        res = import_file(st, p, acc_unit="g", axes="-y,x,z")
        back = load_session(st, res.session_id).samples["hip"]
    assert res.format == "hipsense-csv"
    # new x = -old y, new y = old x (a 90 degree turn about z)
    np.testing.assert_allclose(back.acc_mps2[:, 0], -block.acc_mps2[:, 1], atol=1e-5)
    np.testing.assert_allclose(back.acc_mps2[:, 1], block.acc_mps2[:, 0], atol=1e-5)
    np.testing.assert_allclose(back.gyr_radps[:, 0], -block.gyr_radps[:, 1], atol=1e-6)  # type: ignore[index]


# ---- hostile files (found by fuzz/: targets import_file, import_export, import_archive) --------------------------
def test_simulator_csv_with_comment_lines_is_detected(tmp_path: Path) -> None:
    # `hipsense simulate` writes comment lines before the header; detection read only the first line
    from sensor.model import ImuBlock
    from sensor.sessions.hipsense_csv import write_csv

    t, acc, gyr = smooth_imu(2.0, 50.0)
    p = tmp_path / "sim.csv"
    write_csv(p, ImuBlock.from_arrays("sim", t, acc, gyr), comments=["hipsense simulate demo seed=1", "sensor_id=sim"])
    assert detect_format(p) == "hipsense-csv"
    with Store(tmp_path / "s.db") as st:
        assert import_file(st, p).samples == len(t)


def test_sensor_logger_columns_in_another_case_are_found(tmp_path: Path) -> None:
    # `require` matched case-insensitively but `col` did not: ValueError "'seconds_elapsed' is not in list"
    t, acc, _ = smooth_imu(3.0, 100.0)
    d = tmp_path / "sl"
    d.mkdir()
    header = "time,Seconds_Elapsed,Z,Y,X\n"
    rows = "".join(
        f"{(START_EPOCH_S + ti) * 1e9:.0f},{ti},{a[2]},{a[1]},{a[0]}\n" for ti, a in zip(t, acc, strict=True)
    )
    (d / "TotalAcceleration.csv").write_text(header + rows)
    with Store(tmp_path / "s.db") as st:
        res = import_file(st, d, fmt="sensor-logger")
        b = _samples(st, res.session_id)["phone"]
    np.testing.assert_allclose(b.acc_mps2, acc, atol=1e-12)


_DOC = {"format": "hipsense-session", "version": 1}
_SENSOR = {"sensor_id": "hip", "sensor_type": "hipsense_v1"}
_SAMPLES = {"hip": {"t_s": [0.0, 0.01], "acc_mps2": [[0, 0, 9.8], [0, 0, 9.8]]}}


@pytest.mark.parametrize(
    ("doc", "words"),
    [
        ({**_DOC, "session": []}, r"session: Input should be a valid dictionary"),
        ({**_DOC, "session": {"sensors": [1]}}, r"session\.sensors\.0: Input should be a valid dictionary"),
        ({**_DOC, "session": {"sensors": [_SENSOR]}, "samples": _SAMPLES, "events": 5}, r"events: Input should be"),
        (
            {**_DOC, "session": {"sensors": [{**_SENSOR, "first_host_t_s": "x"}]}, "samples": _SAMPLES},
            r"session\.sensors\.0\.first_host_t_s: Input should be a valid number",
        ),
        (
            {**_DOC, "session": {"sensors": [_SENSOR], "notes": [1]}, "samples": _SAMPLES},
            r"session\.notes\.0: Input should be a valid dictionary",
        ),
        (
            {
                **_DOC,
                "session": {"sensors": [_SENSOR]},
                "samples": {"hip": {**_SAMPLES["hip"], "sample_index": [10**30, 1]}},
            },
            r"samples of sensor 'hip': .*too large",
        ),
        (
            {**_DOC, "session": {"sensors": [_SENSOR]}, "samples": {"hip": {"t_s": [0.0], "acc_mps2": [[0, 0]]}}},
            r"samples of sensor 'hip': acc_mps2 has shape \(1, 2\)",
        ),
    ],
    ids=["session-list", "sensor-int", "events-int", "host-time-str", "note-int", "index-overflow", "acc-shape"],
)
def test_malformed_json_export_names_the_field(tmp_path: Path, doc: dict, words: str) -> None:  # type: ignore[type-arg]
    # each used to escape as AttributeError / TypeError / OverflowError
    p = tmp_path / "x.json"
    p.write_text(json.dumps(doc))
    with pytest.raises(ImportFormatError, match=words), Store(tmp_path / "s.db") as st:
        import_file(st, p)


def test_deeply_nested_json_is_an_import_error(tmp_path: Path) -> None:
    p = tmp_path / "x.json"
    p.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ImportFormatError, match="not a HipSense JSON export"), Store(tmp_path / "s.db") as st:
        import_file(st, p)


def test_damaged_archive_is_an_import_error_and_the_store_is_untouched(tmp_path: Path) -> None:
    import sqlite3

    with Store(tmp_path / "a.db") as a:
        sid = _session_with_events(a)
        export_session(a, sid, "hipsense", tmp_path / "legs.hipsense")
    con = sqlite3.connect(tmp_path / "legs.hipsense")
    con.execute("UPDATE sessions SET uid = CAST(uid AS BLOB)")  # listed, but no longer found by its id
    con.commit()
    con.close()
    with Store(tmp_path / "b.db") as b:
        with pytest.raises(ImportFormatError, match=r"damaged HipSense archive \(SessionNotFoundError: .*export the"):
            import_file(b, tmp_path / "legs.hipsense")
        assert b.session_ids() == []


def _zip_bytes(members: dict[str, bytes]) -> bytearray:
    import io

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, content in members.items():
            z.writestr(name, content)
    return bytearray(buf.getvalue())


def test_zip_member_larger_than_a_recording_is_refused_before_unpacking(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sensor.sessions import importers

    monkeypatch.setattr(importers, "MAX_ZIP_MEMBER_BYTES", 10_000)  # 512 MiB in real life
    t, acc, _ = smooth_imu(5.0, 100.0)
    p = tmp_path / "bomb.zip"
    p.write_bytes(bytes(_zip_bytes({"Accelerometer.csv": phyphox_acc_csv(t, acc).encode()})))
    with pytest.raises(ImportFormatError, match=r"Accelerometer\.csv unpacks to \d+ bytes, more than the 10000"):
        importers.read_recording(p, fmt="phyphox")


def test_zip_with_an_unknown_compression_method_is_an_import_error(tmp_path: Path) -> None:
    t, acc, _ = smooth_imu(1.0, 100.0)
    data = _zip_bytes({"Accelerometer.csv": phyphox_acc_csv(t, acc).encode()})
    data[8:10] = (99).to_bytes(2, "little")  # local header and central directory: method 99 (AES)
    central = data.find(b"PK\x01\x02")
    data[central + 10 : central + 12] = (99).to_bytes(2, "little")
    p = tmp_path / "aes.zip"
    p.write_bytes(bytes(data))
    with pytest.raises(ImportFormatError, match=r"cannot unpack .*compression method is not supported.*folder"):
        detect_format(p)


@pytest.mark.parametrize("gyr_start_s", [5.0, 1.0], ids=["disjoint", "one-sample"])
def test_streams_that_do_not_overlap_are_an_import_error(tmp_path: Path, gyr_start_s: float) -> None:
    # the overlap was empty: RuntimeWarning "Mean of empty slice", then a pydantic ValidationError (rate nan)
    d = tmp_path / "phy"
    d.mkdir()
    (d / "Accelerometer.csv").write_text(
        "Time (s),Acceleration x (m/s^2),Acceleration y (m/s^2),Acceleration z (m/s^2)\n0,0,0,9.8\n1,0,0,9.8\n"
    )
    (d / "Gyroscope.csv").write_text(
        "Time (s),Gyroscope x (rad/s),Gyroscope y (rad/s),Gyroscope z (rad/s)\n"
        f"{gyr_start_s},0,0,0\n{gyr_start_s + 1},0,0,0\n"
    )
    with pytest.raises(ImportFormatError, match=r"accelerometer \(0\.\.1 s\) and the gyroscope of .* overlap in"):
        import_file(Store(tmp_path / "s.db"), d, fmt="phyphox")


@pytest.mark.parametrize(
    ("row", "words"),
    [
        ("1,1e308,0,9.8", r"line 3, column 'acc_x_g': 1e\+308 is not a finite number below 1e\+12"),
        ("1e308,0,0,1", r"line 3, column 't_s': 1e\+308"),
    ],
)
def test_hipsense_csv_values_beyond_any_sensor_are_refused_by_line(tmp_path: Path, row: str, words: str) -> None:
    # 1e308 g overflowed to inf in the unit conversion (RuntimeWarning, then a DataValidationError)
    p = tmp_path / "x.csv"
    p.write_text(f"t_s,acc_x_g,acc_y_g,acc_z_g\n0,0,0,1\n{row}\n2,0,0,1\n")
    with pytest.raises(ImportFormatError, match=words):
        import_file(Store(tmp_path / "s.db"), p)


def test_header_followed_only_by_comment_lines_is_an_import_error(tmp_path: Path) -> None:
    # found by fuzz/ (hipsense_csv): numpy's UserWarning "input contained no data", then an unhelpful error
    p = tmp_path / "x.csv"
    p.write_text("t_s,acc_x_g,acc_y_g,acc_z_g\n#0.0,0.0,0.0,1.0\n\n")
    with pytest.raises(ImportFormatError, match="header but only comment lines after it, no samples"):
        import_file(Store(tmp_path / "s.db"), p)
    d = tmp_path / "phy"
    d.mkdir()
    (d / "Accelerometer.csv").write_text("Time (s),Acceleration x (m/s^2),Acceleration y (m/s^2)\n# 0,1,2\n")
    with pytest.raises(ImportFormatError, match="only '#' comment lines after it, no data rows"):
        import_file(Store(tmp_path / "s2.db"), d, fmt="phyphox")


def test_sensor_logger_with_a_damaged_time_cell_falls_back_to_the_file_time(tmp_path: Path) -> None:
    # `time` (ns since the epoch) is only used for the start; a NaN there made every frame's host time NaN
    t, acc, _ = smooth_imu(2.0, 100.0)
    d = tmp_path / "sl"
    d.mkdir()
    rows = "".join(f"nan,{ti},{a[2]},{a[1]},{a[0]}\n" for ti, a in zip(t, acc, strict=True))
    (d / "TotalAcceleration.csv").write_text("time,seconds_elapsed,z,y,x\n" + rows)
    with Store(tmp_path / "s.db") as st:
        info = st.get_session(import_file(st, d, fmt="sensor-logger").session_id)
    assert np.isfinite(info.started_s)
    assert info.started_s == pytest.approx((d / "TotalAcceleration.csv").stat().st_mtime - t[-1], abs=1.0)


def test_hipsense_csv_with_one_sample_is_an_import_error(tmp_path: Path) -> None:
    # found by fuzz/ (import_file): no sample interval, so the rate was NaN and SensorMeta raised ValidationError
    p = tmp_path / "x.csv"
    p.write_text("t_s,acc_x_mps2,acc_y_mps2,acc_z_mps2\n0,0,0,9.8\n")
    with pytest.raises(ImportFormatError, match="only 1 sample; a session needs at least two"):
        import_file(Store(tmp_path / "s.db"), p)
