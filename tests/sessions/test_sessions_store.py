from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

import numpy as np
import pytest

from sensor.errors import PacketError, SessionNotFoundError, StoreError
from sensor.events import RepEvent, StepEvent
from sensor.model import ImuBlock, RawFrame
from sensor.sessions import imu_f64
from sensor.sessions.store import SCHEMA_VERSION, PendingEvent, SensorMeta, Store
from tests.sessions._synth import synth_block


def _step(t: float, side: str = "left") -> StepEvent:
    return StepEvent(t_s=t, side=side, confidence=0.9)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------- imu-f64 channel
@pytest.mark.parametrize(("n", "gyr"), [(1, True), (32, True), (500, False)])
def test_imu_f64_round_trip_is_exact(n: int, gyr: bool) -> None:
    b = synth_block(duration_s=n / 208.0, gyr=gyr, seed=n)
    assert len(b) == n
    out = imu_f64.decode_payload("hip", imu_f64.encode(b))
    np.testing.assert_array_equal(out.t_s, b.t_s)
    np.testing.assert_array_equal(out.acc_mps2, b.acc_mps2)
    assert (out.gyr_radps is None) == (not gyr)
    if gyr:
        np.testing.assert_array_equal(out.gyr_radps, b.gyr_radps)  # type: ignore[arg-type]
    np.testing.assert_array_equal(out.sample_index, b.sample_index)


def test_imu_f64_keeps_loss_counts() -> None:
    b = ImuBlock.from_arrays(
        "hip", [0.0, 0.01, 0.05], np.zeros((3, 3)), sample_index=[10, 11, 15], missing_before=[0, 0, 3]
    )
    out = imu_f64.decode_payload("hip", imu_f64.encode(b))
    np.testing.assert_array_equal(out.sample_index, [10, 11, 15])
    np.testing.assert_array_equal(out.missing_before, [0, 0, 3])


@pytest.mark.parametrize(
    ("payload", "reason"),
    [(b"\x01\x01", "short"), (b"\x02\x01\x01\x00" + bytes(8), "version"), (b"\x01\x01\x02\x00" + bytes(20), "length")],
)
def test_imu_f64_bad_payloads_name_the_problem(payload: bytes, reason: str) -> None:
    with pytest.raises(PacketError) as ei:
        imu_f64.decode_payload("hip", payload)
    assert ei.value.reason == reason
    assert "imu-f64" in str(ei.value)


# ---------------------------------------------------------------------------------------- store basics
def test_schema_is_versioned_and_wal(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with Store(path) as st:
        assert st.schema_version == SCHEMA_VERSION
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    rows = con.execute("SELECT version, name FROM schema_migrations").fetchall()
    assert rows == [(1, "initial layout")]
    con.execute("INSERT INTO schema_migrations VALUES (99, 'future', 0)")
    con.commit()
    con.close()
    with pytest.raises(StoreError, match=r"schema version 99.*upgrade hipsense"):
        Store(path)


def test_default_path_comes_from_config(tmp_path: Path) -> None:
    with Store() as st:  # conftest points HIPSENSE_DATA_DIR at tmp_path/data
        assert st.path == tmp_path / "data" / "sessions.db"


def test_sessions_metadata_tags_notes_delete(tmp_path: Path) -> None:
    with Store(tmp_path / "s.db") as st:
        meta = SensorMeta(
            sensor_id="hip",
            sensor_type="hipsense_v1",
            protocol_version=1,
            sampling_rate_hz=208,
            acc_range_g=16,
            gyr_range_dps=2000,
            mounting="sacrum",
            firmware="1.2.0",
        )
        sid = st.create_session(name="morning run", sensors=[meta], tags=["run"], started_s=1000.0)
        st.add_tags(sid, ["tempo", "run"])
        st.add_note(sid, "left knee felt fine")
        frames = [RawFrame("hip", 1000.0 + i * 0.1, bytes([i]), "uuid-a") for i in range(5)]
        st.write_batch(sid, frames, [PendingEvent("hip", "e1", _step(1.0))])
        info = st.get_session(sid)
        assert info.name == "morning run"
        assert info.tags == ["run", "tempo"]
        assert [n.text for n in info.notes] == ["left knee felt fine"]
        s = info.sensors[0]
        assert (s.sensor_type, s.protocol_version, s.sampling_rate_hz, s.firmware) == ("hipsense_v1", 1, 208, "1.2.0")
        assert s.n_frames == 5
        assert info.duration_s == pytest.approx(0.4)
        assert info.event_counts == {"step": 1}
        st.delete_session(sid)
        assert st.session_ids() == []
        with pytest.raises(SessionNotFoundError):
            st.get_session(sid)
        con = st._conn
        assert con.execute("SELECT count(*) FROM frames").fetchone()[0] == 0
        assert con.execute("SELECT count(*) FROM events").fetchone()[0] == 0


def test_resolve_by_id_prefix_name_with_near_matches(tmp_path: Path) -> None:
    with Store(tmp_path / "s.db") as st:
        a = st.create_session(name="hill run", uid="aaaa1111bbbb2222")
        b = st.create_session(name="bridges", uid="aaaa9999cccc3333")
        assert st.resolve("aaaa1111bbbb2222") == a
        assert st.resolve("aaaa1") == a
        assert st.resolve("bridges") == b
        with pytest.raises(SessionNotFoundError, match=r"'aaaa' is ambiguous.*aaaa1111bbbb2222"):
            st.resolve("aaaa")
        with pytest.raises(SessionNotFoundError, match=r"no session matches 'bridge'.*did you mean bridges"):
            st.resolve("bridge")


def test_frame_seq_per_sensor_and_arrival_order(tmp_path: Path) -> None:
    with Store(tmp_path / "s.db") as st:
        sid = st.create_session(sensors=[SensorMeta(sensor_id=x, sensor_type="imu_f64") for x in ("l", "r")])
        frames = [RawFrame("l" if i % 3 else "r", float(i), bytes([i]), "c") for i in range(10)]
        st.write_batch(sid, frames[:4])
        st.write_batch(sid, frames[4:])
        got = list(st.iter_frames(sid, batch=3))
        assert [f for _, _, f in got] == frames
        seqs = {"l": [s for _, s, f in got if f.sensor_id == "l"], "r": [s for _, s, f in got if f.sensor_id == "r"]}
        assert seqs == {"l": list(range(6)), "r": list(range(4))}
    with Store(tmp_path / "s.db") as st:  # a new connection continues the numbering
        st.write_batch(sid, [RawFrame("r", 11.0, b"x", "c")])
        assert [s for _, s, f in st.iter_frames(sid) if f.sensor_id == "r"] == [0, 1, 2, 3, 4]


# ---------------------------------------------------------------------------------------- outbox
def test_outbox_rows_by_topic_prefix_with_exclusions(tmp_path: Path) -> None:
    """Each sensor's publisher reads its own rows; the one that adopts leftovers reads all but the others' (and
    ``hs-1/`` never matches ``hs-10/``)."""
    with Store(tmp_path / "s.db") as st:
        for i, sensor in enumerate(("hs-1", "hs-10", "old", "hs-1", "old")):
            st.enqueue_outbox(None, f"hipsense/{sensor}/rep", "{}", f"e{i}")
        assert [r.event_id for r in st.pending_outbox(10, "hipsense/hs-1/")] == ["e0", "e3"]
        adopt = st.pending_outbox(10, "hipsense/", exclude_prefixes=["hipsense/hs-10/"])
        assert [r.event_id for r in adopt] == ["e0", "e2", "e3", "e4"]
        both = st.pending_outbox(10, "hipsense/", exclude_prefixes=["hipsense/hs-10/", "hipsense/hs-1/"])
        assert [r.event_id for r in both] == ["e2", "e4"]


def test_outbox_in_order_once_and_atomic_with_events(tmp_path: Path) -> None:
    with Store(tmp_path / "s.db") as st:
        sid = st.create_session()
        evs = [
            PendingEvent("hip", f"id{i}", _step(float(i)), ("hipsense/hip/step", json.dumps({"i": i})))
            for i in range(5)
        ]
        st.write_batch(sid, [], evs)
        st.enqueue_outbox(sid, "hipsense/hip/session", '{"end": true}', "id-end")
        st.enqueue_outbox(sid, "hipsense/hip/session", '{"end": true}', "id-end")  # idempotent
        pend = st.pending_outbox(limit=3)
        assert [p.event_id for p in pend] == ["id0", "id1", "id2"]
        st.mark_delivered([p.id for p in pend])
        assert [p.event_id for p in st.pending_outbox()] == ["id3", "id4", "id-end"]
        # an event batch that fails rolls back its outbox messages too
        dup = [PendingEvent("hip", "new", _step(9.0), ("t", "{}")), PendingEvent("hip", "id0", _step(9.5), ("t", "{}"))]
        with pytest.raises(StoreError):
            st.write_batch(sid, [], dup)
        assert [p.event_id for p in st.pending_outbox()] == ["id3", "id4", "id-end"]
        assert st.get_session(sid).event_counts == {"step": 5}

        # enqueue_outbox joins an open transaction
        def aborted_transaction() -> None:
            with st.transaction():
                st.enqueue_outbox(sid, "t", "{}", "in-tx")
                raise RuntimeError("abort")

        with pytest.raises(RuntimeError):
            aborted_transaction()
        assert "in-tx" not in [p.event_id for p in st.pending_outbox()]
    with Store(tmp_path / "s.db") as st:  # survives a restart
        assert [p.event_id for p in st.pending_outbox()] == ["id3", "id4", "id-end"]


def test_events_round_trip_as_models(tmp_path: Path) -> None:
    rep = RepEvent(t_start_s=1.0, t_end_s=3.0, exercise="squat", index_in_set=1, duration_s=2.0, confidence=0.8)
    with Store(tmp_path / "s.db") as st:
        sid = st.create_session()
        st.write_batch(sid, [], [PendingEvent("hip", "a", _step(0.5, "right")), PendingEvent("hip", "b", rep)])
        got = list(st.iter_events(sid))
    assert [g.event for g in got] == [_step(0.5, "right"), rep]
    assert [g.seq for g in got] == [0, 1]


# ---------------------------------------------------------------------------------------- errors
def test_disk_full_is_a_store_error_and_keeps_what_was_committed(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with Store(path, max_pages=60) as st:
        sid = st.create_session()
        payload = bytes(1500)
        written = 0

        def fill() -> None:
            nonlocal written
            for i in range(10_000):
                st.write_batch(sid, [RawFrame("hip", float(i), payload, "c")])
                written += 1

        with pytest.raises(StoreError) as ei:
            fill()
    msg = str(ei.value)
    assert str(path) in msg
    assert "disk is full" in msg
    assert "Free disk space" in msg
    assert "committed before is safe" in msg
    assert written > 10
    with Store(path) as st:
        assert st.integrity_check() == []
        assert st.count_frames(sid) == written
        assert [s for _, s, _ in st.iter_frames(sid)] == list(range(written))


def _chattr_works(d: Path) -> bool:
    try:
        subprocess.run(["chattr", "+i", str(d)], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError):
        return False
    subprocess.run(["chattr", "-i", str(d)], check=True, capture_output=True)
    return True


def test_read_only_directory_is_a_store_error_naming_path_and_fix(tmp_path: Path) -> None:
    d = tmp_path / "ro"
    d.mkdir()
    if not _chattr_works(d):
        pytest.skip("cannot make a directory read-only here (chattr +i unsupported)")
    subprocess.run(["chattr", "+i", str(d)], check=True)
    try:
        with pytest.raises(StoreError) as ei:
            Store(d / "sessions.db")
    finally:
        subprocess.run(["chattr", "-i", str(d)], check=True)
    assert str(d / "sessions.db") in str(ei.value)
    assert "chmod u+w" in str(ei.value)
    assert "store_path" in str(ei.value)


def test_parent_is_a_file_is_a_store_error(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(StoreError, match="store_path"):
        Store(tmp_path / "f" / "sessions.db")


def test_not_a_store_is_refused_by_readers(tmp_path: Path) -> None:
    p = tmp_path / "x.db"
    p.write_bytes(b"hello, this is not sqlite" * 100)
    with pytest.raises(StoreError, match=r"damaged|not a database"):
        Store(p)


def test_imu_f64_batch_decode_equals_one_by_one() -> None:
    frames = imu_f64.frames_from_block(synth_block(duration_s=3.0, seed=2), samples_per_frame=17)
    frames.insert(5, RawFrame("hip", 0.0, b"\x01\x01", imu_f64.CHANNEL))  # a damaged payload is skipped
    dec = imu_f64.ImuF64Decoder()
    blocks = dec.decode_batch(frames)
    one = ImuBlock.concat([imu_f64.decode_payload("hip", f.payload) for i, f in enumerate(frames) if i != 5])
    assert len(blocks) == 1
    assert dec.n_errors == 1
    np.testing.assert_array_equal(blocks[0].acc_mps2, one.acc_mps2)
    np.testing.assert_array_equal(blocks[0].sample_index, one.sample_index)


def test_default_path_follows_the_config_file(tmp_path: Path) -> None:
    cfg = tmp_path / "config" / "config.toml"  # conftest points HIPSENSE_CONFIG here
    cfg.parent.mkdir(parents=True)
    cfg.write_text(f'store_path = "{tmp_path / "elsewhere" / "my.db"}"\n')
    with Store() as st:
        assert st.path == tmp_path / "elsewhere" / "my.db"


def test_paths_with_uri_characters(tmp_path: Path) -> None:
    p = tmp_path / "run #1?x" / "my sessions.db"
    with Store(p) as st:
        sid = st.create_session(name="a")
    with Store(p, readonly=True) as st:
        assert st.session_ids() == [sid]
    assert p.exists()
