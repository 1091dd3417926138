"""``hipsense analyze FILE --json [--trace]``: run the hip pipeline over a recording and print the result.

FILE is a HipSense CSV (``sensor.sessions.hipsense_csv``). The document's schema is
``schemas/analyze.schema.json`` (:mod:`sensor.pipeline.document`).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

import numpy as np

from sensor.cli._common import positive_float, print_json, require
from sensor.events import Event
from sensor.model import ImuBlock
from sensor.pipeline.calibration import Mounting
from sensor.pipeline.document import AnalyzeDocument, MountingInfo, Trace, build_document
from sensor.pipeline.pipeline import HipPipeline
from sensor.pipeline.reps import LongSittingStage, RepStage
from sensor.pipeline.stage import PelvisChunk, PelvisStage
from sensor.sessions.hipsense_csv import read_csv


class _TraceRecorder:
    """A pelvis stage that keeps the roll/pitch trace for ``--trace`` (only in this command, by request)."""

    def __init__(self) -> None:
        self.t: list[np.ndarray] = []
        self.roll: list[np.ndarray | None] = []
        self.pitch: list[np.ndarray | None] = []

    def feed(self, chunk: PelvisChunk) -> list[Event]:
        self.t.append(chunk.t_s.copy())
        self.roll.append(None if chunk.roll_deg is None else chunk.roll_deg.copy())
        self.pitch.append(None if chunk.pitch_deg is None else chunk.pitch_deg.copy())
        return []

    def finish(self) -> list[Event]:
        return []

    def trace(self) -> Trace:
        t = [float(x) for a in self.t for x in a]

        def flat(parts: list[np.ndarray | None], lens: list[int]) -> list[float | None]:
            out: list[float | None] = []
            for p, n in zip(parts, lens, strict=True):
                out.extend([None] * n if p is None else [round(float(x), 4) for x in p])
            return out

        lens = [a.size for a in self.t]
        return Trace(t_s=t, roll_deg=flat(self.roll, lens), pitch_deg=flat(self.pitch, lens))


def mounting_info(m: Mounting) -> MountingInfo:
    return MountingInfo(
        r_pelvis_from_sensor=[[float(x) for x in row] for row in m.r_pelvis_from_sensor],
        gyr_bias_radps=[float(x) for x in m.gyr_bias_radps],
        confidence=m.confidence,
        vertical_source=m.vertical_source,
        forward_source=m.forward_source,
        sign_source=m.sign_source,
    )


def analyze_block(
    block: ImuBlock,
    *,
    source: str,
    sampling_rate_hz: float | None = None,
    trace: bool = False,
    mounting: Mounting | None = None,
) -> AnalyzeDocument:
    """Run :class:`HipPipeline` over one block and build the document (library entry point of the command)."""
    fs = sampling_rate_hz if sampling_rate_hz is not None else block.sampling_rate_hz
    require(
        math.isfinite(fs) and fs > 0,
        f"cannot tell the sampling rate of {source} (fewer than two samples?); pass --rate HZ",
        argument="--rate",
    )
    rec = _TraceRecorder() if trace else None
    # the glute rep counter and the sitting nudge run beside the running analysis, as live
    stages: list[PelvisStage] = [RepStage(), LongSittingStage()]
    if rec is not None:
        stages.append(rec)
    pipe = HipPipeline(fs, mounting=mounting, stages=stages)
    events = pipe.feed(block) + pipe.finish()
    duration = float(block.t_s[-1] - block.t_s[0]) if len(block) else 0.0
    return build_document(
        source=source,
        sampling_rate_hz=fs,
        duration_s=duration,
        events=events,
        summary=pipe.session_summary(),
        mounting=mounting_info(pipe.mounting),
        trace=rec.trace() if rec else None,
    )


def register(subparsers: Any) -> None:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "analyze",
        help="analyse a recording: steps, pelvic drop per leg, summaries",
        description="Run the running pipeline over a recording (HipSense CSV) and print the steps (initial "
        "contact t_s, stance side, pelvic drop ...), bouts, alerts and a summary. Schema of --json: "
        "schemas/analyze.schema.json.",
    )
    p.add_argument(
        "file", metavar="FILE", help="a recording: HipSense CSV, phyphox or Sensor Logger export, HipSense export"
    )
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.add_argument("--trace", action="store_true", help="add the per-sample roll/pitch trace (with --json)")
    p.add_argument("--rate", type=positive_float("--rate"), default=None, metavar="HZ", help="sampling rate")
    p.add_argument("--mounting", metavar="FILE.json", default=None, help="a mounting from `hipsense calibrate`")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    path = Path(args.file)
    require(path.is_file(), f"no such file: {str(path)!r}; pass a HipSense CSV recording", argument="FILE")
    if path.suffix.lower() == ".csv" and _is_hipsense_csv(path):
        block = read_csv(path)
    else:  # phyphox / Sensor Logger exports, another install's session export
        from sensor.sessions.importers import read_recording

        recording = read_recording(path)
        require(len(recording.streams) >= 1, f"{path} holds no IMU samples", argument="FILE")
        block = recording.streams[0].block
    prior = None
    if args.mounting:
        mp = Path(args.mounting)
        require(mp.is_file(), f"no such mounting file: {str(mp)!r}; run `hipsense calibrate`", argument="--mounting")
        from sensor.cli.calibrate import load_mounting

        prior = load_mounting(mp)
    doc = analyze_block(block, source=str(path), sampling_rate_hz=args.rate, trace=args.trace, mounting=prior)
    if args.json:
        print_json(doc.model_dump(mode="json"))
        return 0
    s = doc.summary
    print(f"{path}: {len(doc.steps)} steps over {doc.duration_s:.0f} s at {doc.sampling_rate_hz:.0f} Hz")
    if s.median_drop_left_deg is not None or s.median_drop_right_deg is not None:
        print(
            f"  median pelvic drop: left stance {_fmt(s.median_drop_left_deg)} deg, right stance "
            f"{_fmt(s.median_drop_right_deg)} deg, asymmetry {_fmt(s.asymmetry_index_pct)} %"
        )
    if s.cadence_spm is not None:
        print(f"  cadence {s.cadence_spm:.0f} steps/min")
    if s.fatigue_slope_deg_per_10min is not None and s.fatigue_slope_ci95_deg_per_10min is not None:
        lo, hi = s.fatigue_slope_ci95_deg_per_10min
        print(f"  drop trend {s.fatigue_slope_deg_per_10min:+.2f} deg/10 min (95 % CI {lo:+.2f} to {hi:+.2f})")
    print(f"  mounting confidence {doc.mounting.confidence:.2f}; alerts: {len(doc.alerts)}")
    return 0


def _is_hipsense_csv(path: Path) -> bool:
    with path.open(encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if not line.startswith("#"):
                return line.startswith("t_s,")
    return True


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.1f}"
