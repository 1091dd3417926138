"""Equivalence check for speed work: the analysis outputs before and after a change, compared.

    python bench/check_equivalence.py save BEFORE.json      # on the old code
    python bench/check_equivalence.py compare BEFORE.json   # on the new code: prints differences, exit 1 if any

Per simulated session (running, a course with turns and a hill, every exercise, the demo, an accelerometer-only
walk): the ``hipsense analyze --json --trace`` document (one block, ``analyze_block``), and the live analyzer
(``default_analyzer_factory``: AutoRatePipeline + RepStage + LongSittingStage + TiltTap) fed 20-sample chunks
and 7/13/61/200-sample chunks: every event in order (rolling summaries included) and the whole tilt stream.
Numbers are compared exactly; a float difference is reported with its size (``--rtol`` to accept one). Live
events are compared kind by kind (their interleaving across kinds depends on the batching; reported).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sensor.app import default_analyzer_factory
from sensor.cli.analyze import analyze_block
from sensor.model import ImuBlock
from sensor.sim import Scenario, SensorModel, simulate
from sensor.sim.presets import PRESETS


def sessions() -> dict[str, ImuBlock]:
    out: dict[str, ImuBlock] = {}
    for name in ("run10", "course", "exercises", "demo"):
        out[name] = simulate(PRESETS[name]()).block
    walk = PRESETS["walk"]()
    acc_only = Scenario.model_validate(
        {**walk.model_dump(), "sensor": SensorModel(has_gyr=False).model_dump(), "name": "walk_acc"}
    )
    out["walk_acc_only"] = simulate(acc_only).block
    return out


def live(block: ImuBlock, sizes: list[int]) -> dict[str, Any]:
    tilt_t: list[np.ndarray] = []
    tilt_r: list[np.ndarray] = []
    tilt_p: list[np.ndarray] = []

    def on_tilt(_sid: str, t: np.ndarray, r: np.ndarray, p: np.ndarray) -> None:
        tilt_t.append(t.copy())
        tilt_r.append(r.copy())
        tilt_p.append(p.copy())

    an = default_analyzer_factory(on_tilt=on_tilt)(block.sensor_id)
    events: list[Any] = []
    for b in block.chunks(sizes):
        events.extend(e.model_dump(mode="json") for e in an.feed(b))
    events.extend(e.model_dump(mode="json") for e in an.finish())
    cat = np.concatenate
    return {
        "events": events,
        "tilt_t": cat(tilt_t).tolist() if tilt_t else [],
        "tilt_roll": cat(tilt_r).tolist() if tilt_r else [],
        "tilt_pitch": cat(tilt_p).tolist() if tilt_p else [],
    }


def outputs() -> dict[str, Any]:
    res: dict[str, Any] = {}
    for name, block in sessions().items():
        doc = analyze_block(block, source=name, trace=True).model_dump(mode="json")
        res[name] = {"analyze": doc, "live20": live(block, [20]), "live_mixed": live(block, [7, 13, 61, 200])}
        print(f"{name}: {len(doc['steps'])} steps, {len(doc['reps'])} reps", file=sys.stderr)
    return res


def by_kind(live_out: dict[str, Any]) -> dict[str, Any]:
    kinds: dict[str, list[Any]] = {}
    for e in live_out["events"]:
        kinds.setdefault(e["kind"], []).append(e)
    return {**{k: v for k, v in live_out.items() if k != "events"}, "events_by_kind": kinds}


def diff(a: Any, b: Any, path: str, rtol: float, out: list[str], worst: list[float]) -> None:
    if len(out) > 40:
        return
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            out.append(f"{path}: keys {sorted(a.keys() ^ b.keys())}")
        for k in a.keys() & b.keys():
            diff(a[k], b[k], f"{path}.{k}", rtol, out, worst)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            out.append(f"{path}: length {len(a)} != {len(b)}")
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            diff(x, y, f"{path}[{i}]", rtol, out, worst)
    elif isinstance(a, float) and isinstance(b, float):
        if a != b and not (np.isnan(a) and np.isnan(b)):
            rel = abs(a - b) / max(abs(a), abs(b), 1e-300)
            worst.append(rel)
            if rel > rtol:
                out.append(f"{path}: {a!r} != {b!r} (rel {rel:.1e})")
    elif a != b:
        out.append(f"{path}: {a!r} != {b!r}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=("save", "compare"))
    ap.add_argument("file")
    ap.add_argument("--rtol", type=float, default=0.0, help="accept float differences up to this relative size")
    args = ap.parse_args()
    res = outputs()
    if args.mode == "save":
        Path(args.file).write_text(json.dumps(res), encoding="utf-8")
        return 0
    ref = json.loads(Path(args.file).read_text(encoding="utf-8"))
    bad = 0
    for name in ref:
        for part in ref[name]:
            out: list[str] = []
            worst: list[float] = []
            a, b = ref[name][part], res[name][part]
            note = ""
            if part.startswith("live"):
                # live events come out per processed batch, steps ~1.5 s after they happen, so how events of
                # different kinds interleave depends on the batching (it differs between chunkings before the
                # change too); each kind's sequence is compared
                order_same = [e["kind"] for e in a["events"]] == [e["kind"] for e in b["events"]]
                note = "" if order_same else "; kinds interleave differently"
                a, b = by_kind(a), by_kind(b)
            diff(a, b, f"{name}.{part}", args.rtol, out, worst)
            status = "identical" if not out and not worst else ("within rtol" if not out else "DIFFERENT")
            extra = f" (largest relative float difference {max(worst):.1e})" if worst else ""
            print(f"{name:14} {part:11} {status}{extra}{note}")
            for line in out[:10]:
                print("   ", line)
            bad += bool(out)
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
