from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sensor.cli import main
from tests.sessions._files import write_phyphox_zip

ROOT = Path(__file__).resolve().parents[2]


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_session_commands_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = str(tmp_path / "s.db")
    z = write_phyphox_zip(tmp_path / "belt run.zip", 12.0)
    code, out, _ = _run(capsys, "import", str(z), "--store", store, "--json", "--tag", "belt")
    assert code == 0
    imported = json.loads(out)
    sid = imported["session"]
    assert imported["format"] == "phyphox"

    code, out, _ = _run(capsys, "sessions", "--store", store, "--json")
    listed = json.loads(out)
    assert [s["id"] for s in listed] == [sid]
    assert listed[0]["tags"] == ["belt"]
    assert listed[0]["duration_s"] == pytest.approx(12.0, abs=0.1)

    assert _run(capsys, "tag", sid[:6], "tempo", "--store", store)[0] == 0
    assert _run(capsys, "note", "belt run", "felt", "good", "--store", store)[0] == 0
    code, out, _ = _run(capsys, "show", sid[:6], "--store", store, "--json")
    shown = json.loads(out)
    assert shown["tags"] == ["belt", "tempo"]
    assert [n["text"] for n in shown["notes"]] == ["felt good"]
    code, out, _ = _run(capsys, "show", sid, "--store", store)
    assert "phone: imu_f64, 200 Hz" in out

    code, out, _ = _run(capsys, "replay", sid[:5], "--fast", "--json", "--store", store)
    rep = json.loads(out)
    assert rep["samples"] == imported["samples"]
    assert rep["decode_errors"] == {}
    assert rep["loss"] is None

    code, out, _ = _run(capsys, "export", sid, "--format", "json", "-o", str(tmp_path / "x.json"), "--store", store)
    assert code == 0
    assert len(json.loads((tmp_path / "x.json").read_text())["samples"]["phone"]["t_s"]) == imported["samples"]

    code, out, _ = _run(capsys, "delete", sid, "--yes", "--store", store)
    assert code == 0
    assert json.loads(_run(capsys, "sessions", "--store", store, "--json")[1]) == []


def test_errors_name_the_value(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = str(tmp_path / "s.db")
    z = write_phyphox_zip(tmp_path / "hill.zip", 3.0)
    _run(capsys, "import", str(z), "--store", store, "--name", "hill repeats")
    code, _, err = _run(capsys, "show", "hill repeat", "--store", store)
    assert code == 1
    assert "no session matches 'hill repeat'" in err
    assert "did you mean hill repeats" in err
    bad = tmp_path / "Accelerometer.csv"
    bad.write_text(
        '"Time (s)","Acceleration x (m/s^2)","Acceleration y (m/s^2)","Acceleration z (m/s^2)"\n'
        "0,0,0,9.8\n0.01,0,0,9.8\n0.01,0,0,9.8\n"
    )
    code, _, err = _run(capsys, "import", str(bad), "--store", store)
    assert code == 1
    assert f"{bad}, line 4, column 'Time (s)'" in err
    with pytest.raises(SystemExit) as ei:
        main(["replay", "x", "--speed", "0", "--store", store])
    assert ei.value.code == 2


def test_replay_as_a_real_process(tmp_path: Path) -> None:
    from sensor.sessions.importers import import_file
    from sensor.sessions.store import Store

    store = tmp_path / "s.db"
    with Store(store) as st:
        sid = import_file(st, write_phyphox_zip(tmp_path / "r.zip", 2.0)).session_id
    out = subprocess.run(
        [sys.executable, "-m", "sensor", "replay", sid, "--speed", "4", "--json", "--store", str(store)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    doc = json.loads(out.stdout)  # stdout holds only the JSON document (the progress bar goes to stderr)
    assert doc["samples"] > 300
