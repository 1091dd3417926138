from __future__ import annotations

import re
from pathlib import Path

import pytest

from sensor.cli import main
from sensor.events import StepEvent
from sensor.sessions.store import PendingEvent, SensorMeta, Store


def test_report_command_writes_html_from_stored_events(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "s.db"
    with Store(db) as store:
        sid = store.create_session(name="tempo-run", sensors=[SensorMeta(sensor_id="hip", sensor_type="hipsense_v1")])
        events = [
            PendingEvent(
                "hip",
                f"e{k}",
                StepEvent(
                    t_s=k * 0.35, side="left" if k % 2 == 0 else "right", pelvic_drop_deg=7.0 + k % 2, confidence=1
                ),
            )
            for k in range(40)
        ]
        store.import_events(sid, events)
        store.add_note(sid, "left hip tired")
    out = tmp_path / "r" / "report.html"
    assert main(["report", "tempo-run", "-o", str(out), "--store", str(db)]) == 0
    assert "40 steps" in capsys.readouterr().out
    html = out.read_text()
    assert "tempo-run" in html
    assert "left hip tired" in html
    assert re.search(r"median drop, left stance</span><b>7\.0°", html)
    assert re.search(r"median drop, right stance</span><b>8\.0°", html)


def test_report_refuses_non_html_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "x", "-o", str(tmp_path / "r.pdf"), "--store", str(tmp_path / "s.db")]) == 2
    assert "should end in .html" in capsys.readouterr().err
