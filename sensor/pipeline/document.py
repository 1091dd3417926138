"""The ``hipsense analyze --json`` document: a pydantic model, its JSON Schema, and how to build it.

The schema is published in ``schemas/analyze.schema.json``; regenerate it with
``python -m sensor.pipeline.document schemas/analyze.schema.json`` (a test fails when the file is stale).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from sensor.events import (
    AlertEvent,
    BoutEvent,
    Event,
    HoldEvent,
    RepEvent,
    RollingSummary,
    SetEvent,
    StepEvent,
)


class Trace(BaseModel):
    """Per-sample pelvis angles (pelvis frame, degrees; ``None`` entries without gyroscope)."""

    model_config = ConfigDict(extra="forbid")

    t_s: list[float]
    roll_deg: list[float | None]
    pitch_deg: list[float | None]


class MountingInfo(BaseModel):
    model_config = ConfigDict(extra="forbid")

    r_pelvis_from_sensor: list[list[float]] = Field(description="rows: AP, ML, V axes in sensor coordinates")
    gyr_bias_radps: list[float]
    confidence: float = Field(ge=0.0, le=1.0)
    vertical_source: str
    forward_source: str
    sign_source: str


class AnalyzeDocument(BaseModel):
    """Everything ``hipsense analyze FILE --json`` prints (times in the input's time base, seconds)."""

    model_config = ConfigDict(extra="forbid")

    source: str = Field(description="the analysed file")
    sampling_rate_hz: float
    duration_s: float
    steps: list[StepEvent]
    reps: list[RepEvent] = Field(default_factory=list)
    sets: list[SetEvent] = Field(default_factory=list)
    holds: list[HoldEvent] = Field(default_factory=list)
    bouts: list[BoutEvent] = Field(default_factory=list)
    alerts: list[AlertEvent] = Field(default_factory=list)
    bout_summaries: list[RollingSummary] = Field(default_factory=list)
    summary: RollingSummary = Field(description="over every step of the recording (window_s null)")
    mounting: MountingInfo
    trace: Trace | None = None


def build_document(
    *,
    source: str,
    sampling_rate_hz: float,
    duration_s: float,
    events: Sequence[Event],
    summary: RollingSummary,
    mounting: MountingInfo,
    trace: Trace | None = None,
) -> AnalyzeDocument:
    """Sort the pipeline's events into the document (rolling summaries are left out: they are a live view)."""
    return AnalyzeDocument(
        source=source,
        sampling_rate_hz=sampling_rate_hz,
        duration_s=duration_s,
        steps=sorted((e for e in events if isinstance(e, StepEvent)), key=lambda e: e.t_s),
        reps=[e for e in events if isinstance(e, RepEvent)],
        sets=[e for e in events if isinstance(e, SetEvent)],
        holds=[e for e in events if isinstance(e, HoldEvent)],
        bouts=[e for e in events if isinstance(e, BoutEvent)],
        alerts=[e for e in events if isinstance(e, AlertEvent)],
        bout_summaries=[e for e in events if isinstance(e, RollingSummary) and e.window_s is None],
        summary=summary,
        mounting=mounting,
        trace=trace,
    )


def schema() -> dict[str, Any]:
    """The JSON Schema of :class:`AnalyzeDocument`."""
    doc = AnalyzeDocument.model_json_schema()
    doc["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    doc["$id"] = "https://hipsense.invalid/schemas/analyze.schema.json"
    return doc


def schema_text() -> str:
    return json.dumps(schema(), indent=2, sort_keys=True) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m sensor.pipeline.document OUTPUT.schema.json", file=sys.stderr)
        return 2
    Path(args[0]).write_text(schema_text(), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
