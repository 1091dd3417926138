from __future__ import annotations

import re
import shutil
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from sensor.events import RepEvent, SetEvent, StepEvent
from sensor.report import ReportMeta, render_report


def _steps(n: int = 400, seed: int = 3) -> list[StepEvent]:
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        side = "left" if k % 2 == 0 else "right"
        base = 9.0 if side == "left" else 5.0
        out.append(
            StepEvent(
                t_s=60.0 + k * 0.35,
                side=side,
                pelvic_drop_deg=float(base + rng.normal(0, 0.5)),
                cadence_spm=171.0,
                confidence=0.9,
                in_turn=k in (10, 11),
            )
        )
    return out


def test_report_summarises_left_and_right_medians_excluding_turns() -> None:
    steps = _steps()
    html = render_report(ReportMeta(title="Run", drop_threshold_deg=8.0), steps)
    left = np.median([s.pelvic_drop_deg for s in steps if s.side == "left" and not s.in_turn])
    right = np.median([s.pelvic_drop_deg for s in steps if s.side == "right" and not s.in_turn])
    assert f"{left:.1f}°" in html
    assert f"{right:.1f}°" in html
    assert "more drop on left stance" in html
    assert html.count("<svg") == 3  # drop over time, distribution, cadence
    assert "<script" not in html  # self-contained and static


def test_report_set_table_lists_per_rep_quality() -> None:
    reps = [
        RepEvent(
            t_start_s=10.0 + 3 * i,
            t_end_s=12.5 + 3 * i,
            exercise="glute_bridge",
            index_in_set=i + 1,
            duration_s=2.5,
            quality=q,
            confidence=0.9,
        )
        for i, q in enumerate([0.91, 0.42, 0.77])
    ]
    sets = [SetEvent(t_start_s=10.0, t_end_s=18.5, exercise="glute_bridge", exercise_confidence=0.9, reps=3)]
    html = render_report(ReportMeta(title="Bridges", started=datetime(2026, 1, 2, 7, 0)), [], reps, sets)
    quality = re.findall(r'<span class="q"[^>]*>(\d+)</span>', html)
    assert quality == ["91", "42", "77"]
    assert "glute bridge" in html
    assert "2026-01-02 07:00" in html


@pytest.mark.chromium
@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is not installed (.ci/run installs it)")
async def test_report_renders_in_headless_chromium(tmp_path: Path) -> None:
    from playwright.async_api import async_playwright

    from tests.browser import CHROMIUM_ARGS

    path = tmp_path / "report.html"
    path.write_text(render_report(ReportMeta(title="Run"), _steps()), encoding="utf-8")
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
        page = await browser.new_page(viewport={"width": 1000, "height": 1600})
        await page.goto(path.as_uri())
        boxes = [await el.bounding_box() for el in await page.query_selector_all("svg")]
        shot = await page.screenshot(full_page=True)
        await browser.close()
    assert len(boxes) == 3
    assert all(b is not None and b["width"] > 300 and b["height"] > 150 for b in boxes)
    assert len(shot) > 20_000  # a real rendered page, not a blank one
