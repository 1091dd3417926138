"""A tiny SVG chart kit for the self-contained HTML report (no plotting dependency, no JavaScript).

Charts are pure functions from numbers to an SVG string. Axes are linear; ticks are chosen with
:func:`nice_ticks`. Colours follow the dashboard: left = blue, right = orange.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape

LEFT = "#1f77d0"
RIGHT = "#e8692a"
GREY = "#888888"
PALETTE = ("#1f77d0", "#e8692a", "#2ca02c", "#9467bd", "#8c564b", "#d62728", "#17becf", "#bcbd22", "#7f7f7f")


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About ``n`` round tick values covering ``[lo, hi]``."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo]
    raw = (hi - lo) / max(n, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.ceil(lo / step) * step
    return [round(start + i * step, 10) for i in range(int((hi - start) / step + 1e-9) + 1)]


@dataclass
class Series:
    """One data series: ``kind`` is "scatter", "line", "bar" (x = centre, width in x units) or "hline"."""

    x: Sequence[float]
    y: Sequence[float]
    label: str
    color: str = GREY
    kind: str = "scatter"
    width: float = 1.0
    dashed: bool = False
    extra_titles: Sequence[str] = field(default_factory=tuple)


def chart(
    series: Sequence[Series],
    *,
    title: str,
    x_label: str,
    y_label: str,
    width: int = 760,
    height: int = 260,
    y_min: float | None = None,
    y_max: float | None = None,
) -> str:
    """Render series on shared axes as an inline SVG element."""
    ml, mr, mt, mb = 56, 16, 44, 40
    xs = [float(v) for s in series if s.kind != "hline" for v in s.x if math.isfinite(float(v))]
    ys = [float(v) for s in series for v in s.y if math.isfinite(float(v))]
    if not xs:
        xs = [0.0, 1.0]
    if not ys:
        ys = [0.0, 1.0]
    x0, x1 = min(xs), max(xs)
    if any(s.kind == "bar" for s in series):
        half = max((s.width for s in series if s.kind == "bar"), default=0.0) / 2
        x0, x1 = x0 - half, x1 + half
    if x1 <= x0:
        x0, x1 = x0 - 1, x1 + 1
    y0 = min(ys) if y_min is None else y_min
    y1 = max(ys) if y_max is None else y_max
    if y1 <= y0:
        y0, y1 = y0 - 1, y1 + 1
    pad = 0.05 * (y1 - y0)
    y0 = y0 - pad if y_min is None else y0
    y1 = y1 + pad if y_max is None else y1
    pw, ph = width - ml - mr, height - mt - mb

    def px(v: float) -> float:
        return ml + (v - x0) / (x1 - x0) * pw

    def py(v: float) -> float:
        return mt + (1 - (v - y0) / (y1 - y0)) * ph

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label="{escape(title)}" font-family="sans-serif" font-size="11">',
        f'<text x="{ml}" y="16" font-size="13" font-weight="bold">{escape(title)}</text>',
    ]
    for t in nice_ticks(y0, y1):
        out.append(f'<line x1="{ml}" x2="{ml + pw}" y1="{py(t):.1f}" y2="{py(t):.1f}" stroke="#e5e5e5"/>')
        out.append(f'<text x="{ml - 6}" y="{py(t) + 4:.1f}" text-anchor="end">{t:g}</text>')
    for t in nice_ticks(x0, x1, 8):
        out.append(f'<text x="{px(t):.1f}" y="{mt + ph + 16}" text-anchor="middle">{t:g}</text>')
    out.append(f'<rect x="{ml}" y="{mt}" width="{pw}" height="{ph}" fill="none" stroke="#bbb"/>')
    out.append(f'<text x="{ml + pw / 2}" y="{height - 6}" text-anchor="middle">{escape(x_label)}</text>')
    out.append(
        f'<text transform="translate(14 {mt + ph / 2}) rotate(-90)" text-anchor="middle">{escape(y_label)}</text>'
    )
    legend_x = float(ml)
    for s in series:
        if not s.label:
            continue
        out.append(f'<rect x="{legend_x:.0f}" y="24" width="10" height="10" fill="{s.color}"/>')
        out.append(f'<text x="{legend_x + 14:.0f}" y="33">{escape(s.label)}</text>')
        legend_x += 28 + 6.2 * len(s.label)
    for s in reversed(series):
        dash = ' stroke-dasharray="6 4"' if s.dashed else ""
        if s.kind == "scatter":
            for i, (a, b) in enumerate(zip(s.x, s.y, strict=False)):
                if math.isfinite(a) and math.isfinite(b):
                    tip = s.extra_titles[i] if i < len(s.extra_titles) else f"{s.label}: {b:.2f} at {a:.1f}"
                    out.append(
                        f'<circle cx="{px(a):.1f}" cy="{py(b):.1f}" r="2.2" fill="{s.color}" fill-opacity="0.75">'
                        f"<title>{escape(tip)}</title></circle>"
                    )
        elif s.kind == "line":
            pts = " ".join(f"{px(a):.1f},{py(b):.1f}" for a, b in zip(s.x, s.y, strict=False) if math.isfinite(a + b))
            out.append(f'<polyline points="{pts}" fill="none" stroke="{s.color}" stroke-width="1.6"{dash}/>')
        elif s.kind == "bar":
            for i, (a, b) in enumerate(zip(s.x, s.y, strict=False)):
                top, base = py(max(b, 0.0)), py(max(min(0.0, y1), y0))
                tip = s.extra_titles[i] if i < len(s.extra_titles) else f"{s.label}: {b:g}"
                left, bar_w = px(a - s.width / 2), max(px(a + s.width / 2) - px(a - s.width / 2) - 1, 1)
                out.append(
                    f'<rect x="{left:.1f}" y="{top:.1f}" width="{bar_w:.1f}" height="{max(base - top, 0):.1f}" '
                    f'fill="{s.color}" fill-opacity="0.8"><title>{escape(tip)}</title></rect>'
                )
        elif s.kind == "hline":
            for b in s.y:
                out.append(
                    f'<line x1="{ml}" x2="{ml + pw}" y1="{py(b):.1f}" y2="{py(b):.1f}" stroke="{s.color}" '
                    f'stroke-width="1.4"{dash}><title>{escape(s.label)}: {b:.2f}</title></line>'
                )
    out.append("</svg>")
    return "".join(out)
