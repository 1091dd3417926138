"""The firmware code on a real MicroPython (the Unix port from the test extra), against the golden vectors."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sensor.model import RawFrame
from sensor.protocol import hipsense_v1 as H

FIRMWARE = Path(__file__).resolve().parents[2] / "firmware_proto" / "micropython"


def _micropython() -> str | None:
    local = Path(sys.executable).with_name("micropython")
    return str(local) if local.exists() else shutil.which("micropython")


def test_firmware_code_passes_the_vectors_under_micropython() -> None:
    exe = _micropython()
    if exe is None:
        pytest.skip("no MicroPython Unix port (installed by the test extra on Linux x86_64)")
    run = subprocess.run(
        [exe, "check_vectors.py", "../vectors"], cwd=FIRMWARE, capture_output=True, text=True, timeout=120, check=False
    )
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert lines[-1] == "ALL OK micropython"
    counts = {line.split()[2]: int(line.split()[1]) for line in lines[:-1]}
    assert counts["data_packets"] >= 25
    assert counts["control"] >= 30


def test_every_firmware_file_compiles_under_micropython() -> None:
    exe = _micropython()
    if exe is None:
        pytest.skip("no MicroPython Unix port (installed by the test extra on Linux x86_64)")
    files = sorted(p.name for p in FIRMWARE.glob("*.py") if p.name != "__init__.py")
    assert {"main.py", "board.py", "lsm6dsox.py", "sensorcore.py", "hsproto.py"} <= set(files)
    code = f"for f in {files!r}:\n compile(open(f).read(), f, 'exec')\nprint('compiled', len({files!r}))"
    run = subprocess.run([exe, "-c", code], cwd=FIRMWARE, capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.strip() == f"compiled {len(files)}"


def test_main_py_runs_on_micropython_with_fake_radio_and_imu() -> None:
    """main.py itself, on the MicroPython Unix port, with FAKE aioble/bluetooth/machine modules
    (tests/protocol/mpy_fakes: a scripted central and an LSM6DSOX register model running in real time).

    The central sets 416 Hz, starts, loses the last 3 notifications in a link drop, reconnects at MTU 23 and asks
    for the backlog, switches the gyroscope off and stops. The host decoder must then see every sample exactly
    once, in order, with the values the fake IMU wrote, no gap, and the right packet sizes for each MTU."""
    exe = _micropython()
    if exe is None:
        pytest.skip("no MicroPython Unix port (installed by the test extra on Linux x86_64)")
    fakes = Path(__file__).resolve().parent / "mpy_fakes"
    run = subprocess.run(
        [exe, "run_main.py", str(FIRMWARE)], cwd=fakes, capture_output=True, text=True, timeout=60, check=False
    )
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert lines[-1] == "END"
    frames = [(kind, bytes.fromhex(h)) for kind, h in (line.split() for line in lines[:-1])]

    info = H.decode_info(next(raw for kind, raw in frames if kind == "I"))
    assert (info.imu_part, info.buffer_capacity, info.mounting) == ("LSM6DSOX", 8192, "sacrum")
    responses = [H.decode_response(raw) for kind, raw in frames if kind == "R"]
    assert [r.opcode for r in responses] == [0x03, 0x01, 0x07, 0x05, 0x08, 0x02]
    assert all(r.ok for r in responses)
    backlog = responses[2]
    assert (backlog.rate_code, responses[4].rate_code, responses[4].gyr_range_code) == (None, 6, 7)

    dec = H.HipSenseV1Decoder("hip")
    blocks = []
    sizes = []
    counts = []
    for k, (kind, raw) in enumerate(frames):
        if kind != "D":
            continue
        p = H.decode_packet(raw)
        sizes.append((p.n_samples, p.has_gyr, p.rate_code))
        b = dec.decode(RawFrame("hip", k * 1e-3, raw, H.DATA_UUID))
        assert b is not None
        assert len(b) == p.n_samples
        blocks.append(b)
        counts.append(p.acc_counts[:, 0])
    idx = np.concatenate([b.sample_index for b in blocks])
    assert idx.tolist() == list(range(idx.size))  # nothing lost, duplicated or reordered
    assert dec.n_missing == 0
    assert backlog.first_index is not None
    assert 0 < backlog.first_index < idx.size
    # the values are the fake IMU's running sample numbers
    assert np.concatenate(counts).tolist() == [i % 30000 for i in range(idx.size)]
    # packet sizes follow the MTU: up to 19 six-axis samples at 247, then 1 at 23, then 2 accelerometer-only
    assert max(n for n, g, _ in sizes if g) == 19
    after = sizes[sizes.index(next(s for s in sizes if s[0] == 1)) :]
    kinds = {(n, g) for n, g, _ in after}
    assert kinds <= {(1, True), (2, False), (1, False)}
    assert (2, False) in kinds
    assert {r for _, _, r in sizes} == {6}
    # sensor time: strictly increasing, mean rate = the fake IMU's 416 Hz x 1.01 within 2 %
    t_s = np.concatenate([b.t_s for b in blocks])
    assert (np.diff(t_s) > 0).all()
    rate = (idx[-1] - idx[0]) / (t_s[-1] - t_s[0])
    assert rate == pytest.approx(416 * 1.01, rel=0.02)
