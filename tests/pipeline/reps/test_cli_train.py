from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sensor.cli import main
from sensor.pipeline.calibration import Mounting as PelvisMounting
from sensor.sessions.hipsense_csv import write_csv
from sensor.sim import ExerciseSet, Mounting, Rest, Scenario, Standing, Walking, simulate


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[int]]:
    sc = Scenario(
        segments=[
            Standing(duration_s=10.0),
            Walking(duration_s=20.0),
            Rest(duration_s=20.0, mode="still", posture="supine"),
            ExerciseSet(exercise="glute_bridge", reps=7),
            Rest(duration_s=20.0, mode="fidget", posture="supine"),
            ExerciseSet(exercise="glute_bridge", reps=5),
            Standing(duration_s=10.0),
        ],
        mounting=Mounting(euler_deg=(170.0, 5.0, -10.0)),
        seed=11,
    )
    res = simulate(sc)
    d = tmp_path_factory.mktemp("train")
    csv = d / "bridges.csv"
    write_csv(csv, res.block)
    mounting = d / "mounting.json"
    m = PelvisMounting(res.truth.r_pelvis_from_sensor, np.zeros(3), 1.0)
    mounting.write_text(json.dumps(m.to_dict()), encoding="utf-8")
    return csv, mounting, [int(x) for x in res.truth.sets.reps]


def _doc(capsys: pytest.CaptureFixture[str], argv: list[str]) -> dict[str, object]:
    assert main(argv) == 0
    doc: dict[str, object] = json.loads(capsys.readouterr().out)
    return doc


def test_train_json_counts_sets_and_reps(
    recording: tuple[Path, Path, list[int]], capsys: pytest.CaptureFixture[str]
) -> None:
    csv, mounting, truth = recording
    doc = _doc(capsys, ["train", "--json", "--mounting", str(mounting), str(csv)])
    sets = doc["sets"]
    assert isinstance(sets, list)
    assert [s["reps"] for s in sets] == truth
    assert {s["exercise"] for s in sets} == {"glute_bridge"}
    reps = doc["reps"]
    assert isinstance(reps, list)
    assert len(reps) == sum(truth)
    assert all(r["vertical_travel_m"] > 0.08 and r["concentric_s"] > 0 for r in reps)


def test_declared_exercise_by_alias(
    recording: tuple[Path, Path, list[int]], capsys: pytest.CaptureFixture[str]
) -> None:
    csv, _, truth = recording
    doc = _doc(capsys, ["train", "--json", "--exercise", "bridge", str(csv)])
    assert doc["declared_exercise"] == "glute_bridge"
    sets = doc["sets"]
    assert isinstance(sets, list)
    assert [s["reps"] for s in sets] == truth
    assert all(s["exercise_confidence"] == 1.0 for s in sets)


def test_text_output_names_the_sets(
    recording: tuple[Path, Path, list[int]], capsys: pytest.CaptureFixture[str]
) -> None:
    csv, mounting, _ = recording
    assert main(["train", "--mounting", str(mounting), str(csv)]) == 0
    out = capsys.readouterr().out
    assert "2 set(s), 12 rep(s)" in out
    assert "glute_bridge: 7 reps" in out


def test_bad_exercise_and_missing_file_are_usage_errors(
    recording: tuple[Path, Path, list[int]], capsys: pytest.CaptureFixture[str]
) -> None:
    csv, _, _ = recording
    with pytest.raises(SystemExit) as ei:
        main(["train", "--exercise", "plank", str(csv)])
    assert ei.value.code == 2
    assert "unknown exercise 'plank'" in capsys.readouterr().err
    assert main(["train", str(csv.parent / "nope.csv")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_train_log_from_records(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    s = {"t_start_s": 0.0, "t_end_s": 30.0, "exercise": "squat", "exercise_confidence": 0.9, "reps": 10}
    records = [
        {"date": "2026-11-02", "sets": [s, s]},
        {"date": "2026-11-04", "sets": [s]},
        {"date": "2026-11-09", "sets": []},
    ]
    f = tmp_path / "records.json"
    f.write_text(json.dumps(records), encoding="utf-8")
    doc = _doc(capsys, ["train-log", "--records", str(f), "--json"])
    weeks = doc["weeks"]
    assert isinstance(weeks, list)
    assert [(w["week_start"], w["sessions"], w["reps"], w["status"]) for w in weeks] == [
        ("2026-11-02", 2, 30, "ok"),
        ("2026-11-09", 0, 0, "too_few"),
    ]
    f.write_text(json.dumps([{"day": "x"}]), encoding="utf-8")
    assert main(["train-log", "--records", str(f)]) == 2
    assert "record 0" in capsys.readouterr().err
