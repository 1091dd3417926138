"""A self-contained HTML report of one session for a runner or a physio.

Everything is inline (CSS and SVG charts, no script, no network), so the file can be mailed or archived.
Contents: a summary, pelvic drop per step over time split by stance side with each side's baseline (median of
the first ``baseline_min`` minutes of running) and linear trend (deg per 10 min), drop distributions, cadence,
the rep timeline and a set table with per-rep quality. Steps flagged ``in_turn`` are drawn but kept out of
baselines, trends and medians, as clinical studies measure straight running (see docs/running.md).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from html import escape

import numpy as np

from sensor.events import RepEvent, SetEvent, StepEvent
from sensor.pipeline.summary import asymmetry_index_pct
from sensor.report.svg import LEFT, PALETTE, RIGHT, Series, chart

SIDES = (("left", LEFT), ("right", RIGHT))


@dataclass(frozen=True)
class ReportMeta:
    """What the report says about the session itself."""

    title: str
    started: datetime | None = None
    duration_s: float | None = None
    sensor: str | None = None
    notes: Sequence[str] = field(default_factory=tuple)
    drop_threshold_deg: float = 8.0
    baseline_min: float = 3.0


@dataclass(frozen=True)
class SideStats:
    side: str
    steps: int
    median_deg: float
    p90_deg: float
    baseline_deg: float
    slope_deg_per_10min: float
    share_above: float


def _side_stats(side: str, steps: Sequence[StepEvent], meta: ReportMeta) -> SideStats | None:
    pts = [
        (s.t_s, s.pelvic_drop_deg) for s in steps if s.side == side and not s.in_turn and s.pelvic_drop_deg is not None
    ]
    if not pts:
        return None
    t = np.array([p[0] for p in pts])
    d = np.array([p[1] for p in pts])
    t_start = t.min()
    first = d[t <= t_start + meta.baseline_min * 60.0]
    slope = float(np.polyfit((t - t_start) / 600.0, d, 1)[0]) if t.size >= 3 and np.ptp(t) > 0 else math.nan
    return SideStats(
        side=side,
        steps=int(d.size),
        median_deg=float(np.median(d)),
        p90_deg=float(np.percentile(d, 90)),
        baseline_deg=float(np.median(first)),
        slope_deg_per_10min=slope,
        share_above=float(np.mean(d > meta.drop_threshold_deg)),
    )


def _fmt(v: float | None, digits: int = 1, unit: str = "") -> str:
    if v is None or not math.isfinite(v):
        return "–"
    return f"{v:.{digits}f}{unit}"


def _pct(v: float | None) -> str:
    return _fmt(None if v is None else v * 100.0, 0)


def _drop_chart(steps: Sequence[StepEvent], stats: dict[str, SideStats], meta: ReportMeta) -> str:
    series: list[Series] = []
    t0 = min((s.t_s for s in steps), default=0.0)
    for side, color in SIDES:
        mine = [s for s in steps if s.side == side and s.pelvic_drop_deg is not None]
        x = [(s.t_s - t0) / 60.0 for s in mine]
        y = [float(s.pelvic_drop_deg) for s in mine if s.pelvic_drop_deg is not None]
        tips = [
            f"{side} stance at {(s.t_s - t0) / 60:.2f} min: {s.pelvic_drop_deg:.1f} deg"
            + (" (turn)" if s.in_turn else "")
            for s in mine
        ]
        series.append(Series(x, y, f"{side} stance", color, "scatter", extra_titles=tips))
        st = stats.get(side)
        if st is not None and x:
            series.append(Series([], [st.baseline_deg], f"{side} baseline", color, "hline", dashed=True))
            if math.isfinite(st.slope_deg_per_10min):
                xs = np.array([min(x), max(x)])
                intercept = st.median_deg - st.slope_deg_per_10min * (np.median(x) / 10.0)
                series.append(
                    Series(
                        list(xs), list(intercept + st.slope_deg_per_10min * xs / 10.0), f"{side} trend", color, "line"
                    )
                )
    series.append(Series([], [meta.drop_threshold_deg], "threshold", "#d62728", "hline", dashed=True))
    return chart(series, title="Pelvic drop per step", x_label="time (min)", y_label="drop (deg)")


def _distribution_chart(steps: Sequence[StepEvent], meta: ReportMeta) -> str:
    vals = [s.pelvic_drop_deg for s in steps if s.pelvic_drop_deg is not None and not s.in_turn]
    hi = max([meta.drop_threshold_deg * 1.5, *vals]) if vals else meta.drop_threshold_deg * 1.5
    edges = np.arange(math.floor(min([0.0, *vals])), math.ceil(hi) + 1.0, 1.0)
    width = 0.4
    series = []
    for k, (side, color) in enumerate(SIDES):
        d = np.array(
            [s.pelvic_drop_deg for s in steps if s.side == side and s.pelvic_drop_deg is not None and not s.in_turn]
        )
        counts, _ = np.histogram(d, bins=edges)
        centres = edges[:-1] + 0.5 + (k - 0.5) * width
        series.append(Series(list(centres), [float(c) for c in counts], f"{side} stance", color, "bar", width=width))
    return chart(
        series, title="Distribution of pelvic drop (straight running)", x_label="drop (deg)", y_label="steps", y_min=0.0
    )


def _cadence_chart(steps: Sequence[StepEvent]) -> str:
    t0 = min((s.t_s for s in steps), default=0.0)
    pts = [((s.t_s - t0) / 60.0, s.cadence_spm) for s in steps if s.cadence_spm is not None]
    return chart(
        [Series([p[0] for p in pts], [float(p[1]) for p in pts if p[1] is not None], "cadence", "#2ca02c")],
        title="Cadence",
        x_label="time (min)",
        y_label="steps/min",
    )


def _rep_timeline(reps: Sequence[RepEvent], t0: float) -> str:
    exercises = sorted({r.exercise for r in reps})
    series = []
    for i, ex in enumerate(exercises):
        mine = [r for r in reps if r.exercise == ex]
        series.append(
            Series(
                [((r.t_start_s + r.t_end_s) / 2 - t0) / 60.0 for r in mine],
                [
                    r.vertical_travel_m * 100 if r.vertical_travel_m is not None else (r.tilt_range_deg or 1.0)
                    for r in mine
                ],
                ex.replace("_", " "),
                PALETTE[i % len(PALETTE)],
                "bar",
                width=max(min((r.t_end_s - r.t_start_s) / 60.0 for r in mine), 0.02),
                extra_titles=[
                    f"{ex} #{r.index_in_set} {r.side or ''}: {r.duration_s:.1f} s, quality {_pct(r.quality)} %"
                    for r in mine
                ],
            )
        )
    return chart(
        series, title="Rep timeline (height: range of motion)", x_label="time (min)", y_label="ROM (cm or deg)"
    )


def _set_table(sets: Sequence[SetEvent], reps: Sequence[RepEvent], t0: float) -> str:
    rows = []
    for k, s in enumerate(sets, start=1):
        mine = [r for r in reps if s.t_start_s - 1e-6 <= r.t_start_s and r.t_end_s <= s.t_end_s + 1e-6]
        quality = " ".join(
            f'<span class="q" title="rep {r.index_in_set}: {r.duration_s:.1f} s">{_pct(r.quality)}</span>' for r in mine
        )
        rows.append(
            f"<tr><td>{k}</td><td>{_fmt((s.t_start_s - t0) / 60.0, 1)}</td>"
            f"<td>{escape(s.exercise.replace('_', ' '))}</td>"
            f"<td>{escape(s.side or 'both')}</td><td>{s.reps}</td><td>{_fmt(s.mean_rep_s)}</td>"
            f"<td>{_pct(s.tempo_cv)}</td><td>{_fmt(s.mean_lateral_tilt_deg)}</td>"
            f"<td>{_fmt(s.exercise_confidence * 100, 0)}</td><td>{quality or '–'}</td></tr>"
        )
    if not rows:
        return "<p>No glute sets in this session.</p>"
    return (
        "<table><thead><tr><th>set</th><th>start (min)</th><th>exercise</th><th>side</th><th>reps</th>"
        "<th>mean rep (s)</th><th>tempo CV (%)</th><th>lateral tilt (deg)</th><th>recognised (%)</th>"
        "<th>per-rep quality (%)</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
    )


CSS = """
body{font-family:system-ui,sans-serif;max-width:980px;margin:24px auto;padding:0 16px;color:#222}
h1{margin-bottom:0}.meta{color:#666;margin-top:4px}
table{border-collapse:collapse;width:100%;margin:8px 0 18px;font-size:14px}
th,td{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left}th{color:#555;font-weight:600}
.cards{display:flex;gap:12px;flex-wrap:wrap;margin:16px 0}
.card{border:1px solid #ddd;border-radius:8px;padding:10px 14px;min-width:150px}
.card b{display:block;font-size:22px}.card span{color:#666;font-size:12px}.left b{color:#1f77d0}.right b{color:#e8692a}
.q{display:inline-block;min-width:28px;margin-right:3px;padding:1px 3px;background:#eef4ee;border-radius:3px}
svg{max-width:100%;height:auto;margin:8px 0}.note{color:#666;font-size:13px}
"""


def render_report(
    meta: ReportMeta,
    steps: Sequence[StepEvent],
    reps: Sequence[RepEvent] = (),
    sets: Sequence[SetEvent] = (),
) -> str:
    """Render the whole report as one HTML string."""
    stats = {s: st for s, _ in SIDES if (st := _side_stats(s, steps, meta)) is not None}
    t_all = [s.t_s for s in steps] + [r.t_start_s for r in reps]
    t0 = min(t_all) if t_all else 0.0
    when = meta.started.strftime("%Y-%m-%d %H:%M") if meta.started else "unknown date"
    dur = f"{meta.duration_s / 60:.1f} min" if meta.duration_s is not None else "–"
    parts = [
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{escape(meta.title)}</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>{escape(meta.title)}</h1>",
        f"<p class='meta'>{escape(when)} · {dur} · sensor {escape(meta.sensor or '–')}</p>",
    ]
    cards = []
    for side, _ in SIDES:
        st = stats.get(side)
        if st is None:
            cards.append(f"<div class='card {side}'><span>median drop, {side} stance</span><b>–</b></div>")
            continue
        cards.append(
            f"<div class='card {side}'><span>median drop, {side} stance</span><b>{_fmt(st.median_deg, 1, '°')}</b>"
            f"<span>baseline {_fmt(st.baseline_deg)}° · trend {_fmt(st.slope_deg_per_10min, 2)}°/10 min"
            f" · {_pct(st.share_above)} % above {meta.drop_threshold_deg:g}°</span></div>"
        )
    left, right = stats.get("left"), stats.get("right")
    asym = asymmetry_index_pct(left.median_deg if left else None, right.median_deg if right else None)
    if asym is not None:
        weaker = "left" if asym < 0 else "right"
        cards.append(
            f"<div class='card'><span>asymmetry index (R-L)</span><b>{asym:+.0f} %</b>"
            f"<span>more drop on {weaker} stance: check the {weaker} gluteus medius</span></div>"
        )
    cadence = [s.cadence_spm for s in steps if s.cadence_spm is not None]
    median_cadence = _fmt(float(np.median(cadence)) if cadence else None, 0)
    cards.append(
        f"<div class='card'><span>steps</span><b>{len(steps)}</b><span>median cadence {median_cadence} spm</span></div>"
    )
    cards.append(
        f"<div class='card'><span>glute work</span><b>{len(reps)} reps</b><span>in {len(sets)} sets</span></div>"
    )
    parts.append("<div class='cards'>" + "".join(cards) + "</div>")
    if steps:
        parts.append("<h2>Running: hip stability</h2>")
        parts.append(_drop_chart(steps, stats, meta))
        parts.append(
            "<p class='note'>Pelvic drop: the largest obliquity toward the swing side during stance, measured from "
            "neutral standing; positive = the swing side is lower. A weak gluteus medius on the stance leg lets the "
            "opposite side drop. Steps in turns are shown but left out of baselines, trends and medians.</p>"
        )
        parts.append(_distribution_chart(steps, meta))
        parts.append(_cadence_chart(steps))
    parts.append("<h2>Glute training</h2>")
    if reps:
        parts.append(_rep_timeline(reps, t0))
    parts.append(_set_table(sets, reps, t0))
    if meta.notes:
        parts.append("<h2>Notes</h2><ul>" + "".join(f"<li>{escape(n)}</li>" for n in meta.notes) + "</ul>")
    parts.append(
        "<p class='note'>Generated by HipSense. Figures come from one hip-worn IMU; see the README for what "
        "the measurements can and cannot tell.</p></body></html>"
    )
    return "".join(parts)
