"""Robustness with real processes and real files: kill -9 mid-recording, a reader during recording, and a
truncated or corrupted store."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from sensor.model import ImuBlock
from sensor.sessions import imu_f64
from sensor.sessions.store import SensorMeta, SessionReader, Store
from tests.sessions._synth import synth_block

ROOT = Path(__file__).resolve().parents[2]
RATE_HZ = 208.0


def _start_recorder(path: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.sessions._record_proc", str(path), "8"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def _decoded_samples(store: Store, session_id: str) -> int:
    return sum(
        len(imu_f64.decode_payload(f.sensor_id, f.payload)) for _, f in SessionReader(store, session_id).frames()
    )


@pytest.mark.slow
def test_kill_9_mid_stream_loses_at_most_the_last_second(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    with _start_recorder(path) as proc:
        _drive_and_kill(proc, path)


def _drive_and_kill(proc: subprocess.Popen[str], path: Path) -> None:
    assert proc.stdout is not None
    try:
        first = proc.stdout.readline().split()
        assert first[0] == "session", proc.stderr.read() if proc.stderr else ""
        sid = first[1]
        received = 0
        t_end = time.monotonic() + 3.0
        reads: list[int] = []
        while time.monotonic() < t_end:
            line = proc.stdout.readline()
            if not line:
                break
            received = int(line)
            # a reader opens the session while it is being recorded (WAL): it sees committed frames grow
            if not reads or (received // 208) > len(reads):
                with Store(path, readonly=True) as reader:
                    reads.append(reader.count_frames(sid))
                    # ... and reads them back decoded, while the writer goes on
                    assert _decoded_samples(reader, sid) >= reads[-1] * 8
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert len(reads) >= 2
    assert reads[-1] > reads[0]
    with Store(path) as store:
        assert store.integrity_check() == []
        recovered = _decoded_samples(store, sid)
    lost = received - recovered
    print(
        f"\nkill -9 after {received / RATE_HZ:.2f} s: samples received {received}, recovered {recovered}, "
        f"lost {lost} ({lost / RATE_HZ:.3f} s of data at {RATE_HZ:.0f} Hz)"
    )
    assert 0 <= lost <= RATE_HZ * 1.0
    assert recovered > RATE_HZ  # it did record


def _make_store(path: Path, duration_s: float = 60.0) -> tuple[str, list[bytes]]:
    block = synth_block("hip", duration_s=duration_s, seed=5)
    frames = imu_f64.frames_from_block(block, samples_per_frame=32, host_t0_s=1.7e9)
    with Store(path) as store:
        sid = store.create_session(name="intact", sensors=[SensorMeta(sensor_id="hip", sensor_type="imu_f64")])
        for i in range(0, len(frames), 26):  # one commit per ~4 s of data
            store.write_batch(sid, frames[i : i + 26])
    assert not Path(str(path) + "-wal").exists()  # the last close checkpointed everything into the main file
    return sid, [f.payload for f in frames]


def _check_salvage(path: Path, sid: str, payloads: list[bytes]) -> tuple[int, int]:
    with Store(path) as store:
        reader = SessionReader(store, sid)
        got = list(reader.frames())
        loss = reader.loss
    assert loss is not None
    assert loss.integrity  # sqlite's integrity_check named the damage
    s = loss.sensors["hip"]
    assert s.expected == len(payloads)
    # every frame read back is byte-identical to what was written at that seq, and decodes
    for seq, f in got:
        assert f.payload == payloads[seq]
        imu_f64.decode_payload("hip", f.payload)
    seqs = {seq for seq, _ in got}
    missing = {q for a, b in s.missing_seq_ranges for q in range(a, b + 1)}
    assert seqs.isdisjoint(missing)
    assert seqs | missing == set(range(len(payloads)))
    print("\n" + loss.describe())
    return len(got), s.lost


def test_truncated_store_replays_what_is_intact_and_says_what_was_lost(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    sid, payloads = _make_store(path)
    size = path.stat().st_size
    with path.open("r+b") as fh:
        fh.truncate(int(size * 0.6) // 4096 * 4096 + 1000)  # cut mid-page
    recovered, lost = _check_salvage(path, sid, payloads)
    assert lost > 0
    assert recovered > len(payloads) * 0.4


def test_corrupted_pages_are_skipped_and_reported(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    sid, payloads = _make_store(path)
    n_pages = path.stat().st_size // 4096
    rng = np.random.default_rng(0)
    with path.open("r+b") as fh:
        for page in (n_pages // 3, n_pages // 2, n_pages // 2 + 1):
            fh.seek(page * 4096)
            fh.write(rng.integers(0, 256, 4096, dtype=np.uint8).tobytes())
    recovered, lost = _check_salvage(path, sid, payloads)
    assert lost > 0
    assert recovered > len(payloads) * 0.8


def test_damaged_store_export_decodes_intact_samples(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    sid, _ = _make_store(path, duration_s=30.0)
    with path.open("r+b") as fh:
        fh.truncate(path.stat().st_size // 2)
    with Store(path) as store:
        reader = SessionReader(store, sid)
        blocks = [imu_f64.decode_payload("hip", f.payload) for _, f in reader.frames()]
    out = ImuBlock.concat(blocks)
    ref = synth_block("hip", duration_s=30.0, seed=5)
    # the intact prefix is exactly the original samples
    n = len(out)
    assert 0 < n < len(ref)
    np.testing.assert_array_equal(out.acc_mps2, ref.acc_mps2[out.sample_index])


def test_torn_last_commit_in_the_wal_loses_only_that_commit(tmp_path: Path) -> None:
    """A crash in the middle of writing a commit leaves a torn WAL tail: SQLite's WAL checksums drop that
    transaction and nothing before it (copying the files of an open store is the crash snapshot)."""
    import shutil

    block = synth_block("hip", duration_s=20.0, seed=8)
    frames = imu_f64.frames_from_block(block, samples_per_frame=16, host_t0_s=1.7e9)
    src = tmp_path / "live.db"
    with Store(src) as store:
        sid = store.create_session(sensors=[SensorMeta(sensor_id="hip", sensor_type="imu_f64")])
        per_commit = 13  # 1 s of 208 Hz data in 16-sample frames
        n_commits = len(frames) // per_commit
        for k in range(n_commits):
            store.write_batch(sid, frames[k * per_commit : (k + 1) * per_commit])
        wal = Path(str(src) + "-wal")
        assert wal.stat().st_size > 0
        snap = tmp_path / "snap.db"
        shutil.copy(src, snap)
        shutil.copy(wal, str(snap) + "-wal")
    with open(str(snap) + "-wal", "r+b") as fh:
        fh.truncate(Path(str(snap) + "-wal").stat().st_size - 3000)  # tear the last commit
    with Store(snap) as store:
        assert store.integrity_check() == []
        got = [f for _, _, f in store.iter_frames(sid)]
    assert got == frames[: len(got)]
    assert len(got) == (n_commits - 1) * per_commit
