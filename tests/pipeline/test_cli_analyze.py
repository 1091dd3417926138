"""``hipsense analyze`` and ``hipsense calibrate`` on simulated HipSense CSV files; the published schema."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from sensor.cli import main
from sensor.pipeline.document import schema_text
from sensor.sessions.hipsense_csv import write_csv
from sensor.sim import Mounting, Scenario, SensorModel, Standing, Walking, simulate
from tests.pipeline._sims import match, run_sim

SCHEMA = Path(__file__).resolve().parents[2] / "schemas" / "analyze.schema.json"


def test_published_schema_is_current() -> None:
    assert SCHEMA.read_text(encoding="utf-8") == schema_text(), (
        "schemas/analyze.schema.json is stale: run `python -m sensor.pipeline.document schemas/analyze.schema.json`"
    )


def test_analyze_json_steps_and_trace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    res = run_sim(realistic=True)
    csv = tmp_path / "run.csv"
    write_csv(csv, res.block)
    assert main(["analyze", str(csv), "--json", "--trace"]) == 0
    doc = json.loads(capsys.readouterr().out)
    steps = doc["steps"]
    t = np.array([s["t_s"] for s in steps])
    pe, pt = match(t, res.truth.steps.t_ic_s, 0.06)
    assert pe.size >= 0.97 * len(res.truth.steps)
    sides_ok = np.mean([steps[i]["side"] == res.truth.steps.side[k] for i, k in zip(pe, pt, strict=True)])
    assert sides_ok >= 0.99
    assert all(s["side"] in ("left", "right") for s in steps)
    assert doc["reps"] == []
    assert doc["sets"] == []
    assert doc["summary"]["median_drop_left_deg"] == pytest.approx(5.0, abs=1.0)
    assert doc["summary"]["median_drop_right_deg"] == pytest.approx(8.0, abs=1.0)
    assert len(doc["trace"]["t_s"]) == len(res.block) == len(doc["trace"]["roll_deg"])


def test_analyze_rejects_a_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", str(tmp_path / "nope.csv"), "--json"]) == 2
    assert "no such file" in capsys.readouterr().err


def test_calibrate_then_analyze_with_the_stored_mounting(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mount = Mounting(euler_deg=(90.0, 5.0, -10.0))
    cal = Scenario(
        segments=[Standing(duration_s=4.0), Walking(duration_s=9.0)],
        sensor=SensorModel(sampling_rate_hz=104.0),
        mounting=mount,
        seed=2,
    )
    res = simulate(cal)
    csv = tmp_path / "cal.csv"
    write_csv(csv, res.block)
    out = tmp_path / "m.json"
    assert main(["calibrate", str(csv), "--save", str(out), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["ok"]
    assert out.is_file()
    r = np.array(doc["mounting"]["r_pelvis_from_sensor"])
    truth = res.truth.r_pelvis_from_sensor
    # AP and ML axes within a few degrees (V from standing carries the standing obliquity/tilt)
    assert np.degrees(np.arccos(np.clip(r[0] @ truth[0], -1, 1))) < 5.0
    assert np.degrees(np.arccos(np.clip(r[2] @ truth[2], -1, 1))) < 3.0
    assert main(["analyze", str(csv), "--mounting", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["mounting"]["confidence"] > 0.5


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("[]", r"mounting \(top level\): expected a mapping, got list"),
        ("{", r"cannot be read as JSON"),
        ('{"r_pelvis_from_sensor": [[1, 0], [0, 1]]}', r"r_pelvis_from_sensor: expected 3x3 finite numbers"),
        ('{"r_pelvis_from_sensor": [[1, 0, 0], [0, 1, 0], [0, 0, 1]], "confidence": "x"}', r"confidence: 'x' is not"),
        ('{"r_pelvis_from_sensor": [[1, 0, 0], [0, 1, 0], [0, 0, 1]], "sign_source": 5}', r"sign_source: 5 is not one"),
    ],
    ids=["list", "not-json", "2x2", "confidence-str", "source-int"],
)
def test_a_bad_mounting_file_is_a_clean_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, words: str
) -> None:
    # found by fuzz/ (mounting): TypeError, KeyError, JSONDecodeError and ValueError escaped as tracebacks
    csv = tmp_path / "x.csv"
    res = simulate(Scenario(name="s", segments=[Standing(duration_s=2.0)]), seed=1)
    write_csv(csv, res.block)
    m = tmp_path / "m.json"
    m.write_text(text)
    assert main(["analyze", str(csv), "--mounting", str(m)]) == 1
    err = capsys.readouterr().err
    assert re.search(words, err), err
    assert "run `hipsense calibrate` again" in err
