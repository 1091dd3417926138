"""The live terminal view of ``hipsense run``, ``train`` and ``demo`` (rich).

:class:`LiveView` keeps only what it shows (bounded deques) and renders a rich layout: link status, a tilt
sparkline, the last steps left/right, cadence, rolling medians, the current exercise and rep count, and alerts.
It is a :class:`sensor.interfaces.Sink`; :meth:`LiveView.run` refreshes the screen inside the caller's TaskGroup.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from sensor.events import AlertEvent, Event, RepEvent, RollingSummary, SetEvent, StepEvent
from sensor.model import RawFrame

_BLOCKS = " ▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float], lo: float, hi: float) -> str:
    """Values as a one-line bar sparkline between ``lo`` and ``hi``."""
    out = []
    for v in values:
        k = round((min(max(v, lo), hi) - lo) / (hi - lo) * (len(_BLOCKS) - 1))
        out.append(_BLOCKS[k])
    return "".join(out)


@dataclass
class SensorView:
    steps: deque[StepEvent] = field(default_factory=lambda: deque(maxlen=12))
    tilt: deque[float] = field(default_factory=lambda: deque(maxlen=80))
    summary: RollingSummary | None = None
    last_rep: RepEvent | None = None
    sets: deque[SetEvent] = field(default_factory=lambda: deque(maxlen=5))
    alerts: deque[AlertEvent] = field(default_factory=lambda: deque(maxlen=5))
    link: str = "connecting"
    frames: int = 0
    step_count: int = 0
    last_frame_host_s: float = 0.0


class LiveView:
    """Live terminal view over one or more sensors."""

    def __init__(self, *, title: str = "HipSense", drop_threshold_deg: float = 8.0, console: Console | None = None):
        self.title = title
        self.drop_threshold_deg = drop_threshold_deg
        self.console = console or Console(stderr=True)
        self.sensors: dict[str, SensorView] = {}
        self.footer = ""

    def view(self, sensor_id: str) -> SensorView:
        return self.sensors.setdefault(sensor_id, SensorView())

    # Sink -----------------------------------------------------------------------------------------
    async def on_frames(self, frames: Sequence[RawFrame]) -> None:
        for f in frames:
            v = self.view(f.sensor_id)
            v.frames += 1
            v.last_frame_host_s = f.host_t_s

    async def on_events(self, sensor_id: str, events: Sequence[Event]) -> None:
        v = self.view(sensor_id)
        for ev in events:
            if isinstance(ev, StepEvent):
                v.steps.append(ev)
                v.step_count += 1
            elif isinstance(ev, RollingSummary):
                v.summary = ev
            elif isinstance(ev, RepEvent):
                v.last_rep = ev
            elif isinstance(ev, SetEvent):
                v.sets.append(ev)
                v.last_rep = None
            elif isinstance(ev, AlertEvent):
                v.alerts.append(ev)

    def on_tilt(self, sensor_id: str, roll_deg: Sequence[float]) -> None:
        self.view(sensor_id).tilt.extend(float(r) for r in roll_deg)

    def set_link(self, sensor_id: str, status: str) -> None:
        self.view(sensor_id).link = status

    # rendering ------------------------------------------------------------------------------------
    def _panel(self, sensor_id: str, v: SensorView) -> Panel:
        fresh = time.time() - v.last_frame_host_s < 3.0 if v.last_frame_host_s else False
        link = f"[green]{v.link}[/]" if v.link == "online" and fresh else f"[red]{v.link}[/]"
        head = Text.from_markup(f"link {link} · frames {v.frames} · steps {v.step_count}")
        tilt = Text(f"tilt  {sparkline(list(v.tilt), -10, 10)}  {v.tilt[-1]:+.1f}°" if v.tilt else "tilt  –")
        steps = Table.grid(padding=(0, 1))
        steps.add_row("last steps", *[self._step_cell(s) for s in list(v.steps)[-10:]])
        s = v.summary
        metrics = Table(show_header=True, header_style="bold", box=None)
        for col in ("activity", "cadence spm", "drop L°", "drop R°", "asym %", "> thr", "fatigue °/10min"):
            metrics.add_column(col)
        if s is not None:
            metrics.add_row(
                s.activity,
                _f(s.cadence_spm, 0),
                _f(s.median_drop_left_deg),
                _f(s.median_drop_right_deg),
                _f(s.asymmetry_index_pct, 0),
                _f(None if s.share_above_threshold is None else s.share_above_threshold * 100, 0) + " %",
                _f(s.fatigue_slope_deg_per_10min, 2),
            )
        train = Text("training  –")
        if v.last_rep is not None:
            r = v.last_rep
            q = "" if r.quality is None else f", quality {r.quality * 100:.0f} %"
            train = Text(
                f"training  {r.exercise.replace('_', ' ')} {r.side or ''} rep {r.index_in_set} "
                f"({r.duration_s:.1f} s{q})"
            )
        elif v.sets:
            last = v.sets[-1]
            train = Text(f"training  last set: {last.exercise.replace('_', ' ')} × {last.reps}")
        alerts = Text("\n".join(f"⚠ {a.message}" for a in v.alerts), style="yellow")
        return Panel(Group(head, tilt, steps, metrics, train, alerts), title=f"{self.title} · {sensor_id}")

    def _step_cell(self, s: StepEvent) -> Text:
        if s.pelvic_drop_deg is None:
            return Text(s.side[0].upper(), style="dim")
        style = (
            "bold red" if s.pelvic_drop_deg > self.drop_threshold_deg else ("cyan" if s.side == "left" else "magenta")
        )
        return Text(f"{s.side[0].upper()}{s.pelvic_drop_deg:.1f}", style=style)

    def renderable(self) -> Group:
        panels = [self._panel(k, v) for k, v in sorted(self.sensors.items())] or [Panel("waiting for a sensor …")]
        return Group(*panels, Text(self.footer, style="dim"))

    async def run(self, refresh_hz: float = 4.0) -> None:
        """Redraw until cancelled (run it as a named task in the caller's TaskGroup)."""
        with Live(self.renderable(), console=self.console, refresh_per_second=refresh_hz, transient=False) as live:
            while True:
                live.update(self.renderable())
                await asyncio.sleep(1.0 / refresh_hz)


def _f(v: float | None, digits: int = 1) -> str:
    return "–" if v is None else f"{v:.{digits}f}"
