"""``hipsense simulate``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sensor.cli import main
from sensor.sessions.hipsense_csv import read_csv
from sensor.sim import Truth


def test_simulate_preset_writes_csv_and_truth(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run.csv"
    assert main(["simulate", "run10", "-o", str(out), "--duration", "30", "--seed", "4", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    truth = Truth.from_json((tmp_path / "run.truth.json").read_text())
    blk = read_csv(out)
    assert summary["samples"] == len(blk) == truth.t_s.size
    assert summary["duration_s"] == pytest.approx(30.0, abs=0.01)
    assert summary["seed"] == 4
    assert summary["steps"] == len(truth.steps) > 40
    np.testing.assert_allclose(blk.t_s, truth.t_s, atol=1e-6)


def test_simulate_yaml_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sc = tmp_path / "sets.yaml"
    sc.write_text(
        "name: sets\nsegments:\n  - {activity: standing, duration_s: 5}\n"
        "  - {activity: exercise, exercise: squat, reps: 3}\n"
    )
    assert main(["simulate", str(sc), "-o", str(tmp_path / "s.csv"), "--no-truth"]) == 0
    assert "3 reps in 1 sets" in capsys.readouterr().out
    assert not (tmp_path / "s.truth.json").exists()


@pytest.mark.parametrize(
    ("scenario_text", "needle"),
    [
        ("segments: []", "segments"),
        ("segments:\n  - {activity: jogging, duration_s: 5}", "activity"),
        ("segments:\n  - {activity: running, duration_s: 60, cadence_spm: 400}", "cadence_spm"),
        ("segments:\n  - {activity: standing, duration_s: 0.3}", "duration_s"),
        ("- not a mapping", "mapping"),
    ],
)
def test_bad_scenario_exits_2_with_a_clear_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], scenario_text: str, needle: str
) -> None:
    sc = tmp_path / "bad.yaml"
    sc.write_text(scenario_text)
    assert main(["simulate", str(sc), "-o", str(tmp_path / "x.csv")]) == 2
    err = capsys.readouterr().err
    assert "hipsense simulate: error:" in err
    assert needle in err
    assert not (tmp_path / "x.csv").exists()


def test_unknown_preset_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "marathon", "-o", str(tmp_path / "x.csv")]) == 2
    assert "neither a preset" in capsys.readouterr().err


def test_rate_and_ideal_sensor_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r.csv"
    assert main(["simulate", "still", "-o", str(out), "--duration", "5", "--rate", "52", "--ideal", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["sampling_rate_hz"] == 52.0
    blk = read_csv(out)
    assert blk.sampling_rate_hz == pytest.approx(52.0, rel=1e-3)
    assert blk.gyr_radps is not None
    assert np.abs(blk.gyr_radps).max() < 0.01  # ideal: quiet standing sway only, no bias or noise
    with pytest.raises(SystemExit) as ei:
        main(["simulate", "still", "-o", str(out), "--rate", "0"])
    assert ei.value.code == 2
    assert "--rate must be > 0" in capsys.readouterr().err
