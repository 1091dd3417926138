"""Record the rep stage's input of the accuracy bench's sessions once; replay rep-stage variants on it.

    python bench/reps_replay.py record  --first-seed 400 --fast --chunk-s 2 [-v]
    python bench/reps_replay.py compare --first-seed 400 --fast --chunk-s 2 [-v] [--counter NEW.py] [--base OLD.py]

``record`` runs ``bench_reps_accuracy.py``'s sessions (its ``make_scenario`` and ``run_case``, the same seeds and
options: ``--first-seed``, ``--cases``, ``--fast``, ``--e2e``, ``--chunk-s``) with a wrapper around the rep stage
that keeps every pelvis chunk it is fed, and which input chunk (call) it came in, and saves them with the
simulator's truth (reference sets, reps and holds) under ``--cache`` (one ``.npz`` per session; outside the repo).
It prints what the bench prints for the range (it *is* the bench's run).

``compare`` feeds a rep stage the recorded chunks, call by call, and scores its events as the bench does (reps
announced after the end of the call that produced them, as the bench measures latency): the per-set lines (``-v``)
and totals of the bench for that range. The stage is the current code's ``RepStage``, or that of a copy of
``counter.py`` given by ``--counter`` (imported under a module name of its own). ``--base`` (a copy's path, or
``current``) replays a second variant and prints, set by set, where the two differ.

The stages before the rep stage do not depend on it, and the rep stage gives the same events for any chunking,
so a replay gives the bench's per-set results exactly. Chunking can depend on the rep stage's ``max_hold_s``
(the pipeline's micro-batches) only for input chunks shorter than the micro-batch (``--chunk-s`` 0.1 and less):
there a variant's latency figures can differ slightly from what the bench would measure, its events do not.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np
from bench_reps_accuracy import CaseResult, case_result, make_scenario, print_sets, print_totals, run_case

from sensor.events import Event, RepEvent
from sensor.pipeline.reps import RepStage
from sensor.pipeline.reps.chunks import ARRAY_FIELDS
from sensor.pipeline.reps.scoring import RefRep, RefSet, Score
from sensor.pipeline.stage import PelvisChunk

DEFAULT_CACHE = Path("/work/cache/reps_replay")


class RecordingStage:
    """A rep stage that keeps copies of its input chunks and the input call each came in (see ``fed``)."""

    def __init__(self) -> None:
        self.inner = RepStage()
        self.chunks: list[PelvisChunk] = []
        self.chunk_call: list[int] = []
        self.t_now_s: list[float] = []

    @property
    def max_hold_s(self) -> float:
        return self.inner.max_hold_s

    def fed(self, t_now_s: float) -> None:
        """Called after every input chunk (``run_case``'s ``on_fed``): later chunks belong to the next call."""
        self.t_now_s.append(t_now_s)

    def feed(self, chunk: PelvisChunk) -> list[Event]:
        copies: dict[str, Any] = {
            f: None if getattr(chunk, f) is None else getattr(chunk, f).copy() for f in ARRAY_FIELDS
        }
        self.chunks.append(replace(chunk, **copies))
        self.chunk_call.append(len(self.t_now_s))
        return self.inner.feed(chunk)

    def finish(self) -> list[Event]:
        return self.inner.finish()


def _session_dir(cache: Path, fast: bool, e2e: bool, chunk_s: float) -> Path:
    return cache / f"{'fast' if fast else 'regular'}{'-e2e' if e2e else ''}-chunk{chunk_s:g}"


def _save(path: Path, rec: RecordingStage, refs: tuple[list[RefSet], list[RefRep], list[tuple[float, float]]]) -> None:
    ref_sets, ref_reps, spans = refs
    meta: dict[str, Any] = {
        "ref_sets": [asdict(r) for r in ref_sets],
        "ref_reps": [asdict(r) for r in ref_reps],
        "hold_spans": spans,
        "sensor_id": rec.chunks[0].sensor_id if rec.chunks else "",
        "sampling_rate_hz": rec.chunks[0].sampling_rate_hz if rec.chunks else 0.0,
        "missing": [f for f in ARRAY_FIELDS if rec.chunks and getattr(rec.chunks[0], f) is None],
    }
    arrays: dict[str, Any] = {
        "meta": np.array(json.dumps(meta)),
        "chunk_n": np.array([len(c) for c in rec.chunks], dtype=np.int64),
        "chunk_call": np.array(rec.chunk_call, dtype=np.int64),
        "chunk_conf": np.array([c.mounting_confidence for c in rec.chunks]),
        "t_now_s": np.array(rec.t_now_s),
    }
    for f in ARRAY_FIELDS:
        if f not in meta["missing"]:
            arrays[f] = np.concatenate([getattr(c, f) for c in rec.chunks]) if rec.chunks else np.zeros(0)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, **arrays)
    tmp.replace(path)


def record(args: argparse.Namespace) -> int:
    out_dir = _session_dir(args.cache, args.fast, args.e2e, args.chunk_s)
    out_dir.mkdir(parents=True, exist_ok=True)
    tally = _Tally(args.verbose)
    seeds = range(args.first_seed, args.first_seed + args.cases)
    for seed in seeds:
        rec = RecordingStage()
        try:
            r = run_case(
                make_scenario(seed, fast=args.fast), e2e=args.e2e, chunk_s=args.chunk_s, stage=rec, on_fed=rec.fed
            )
        except IndexError as exc:  # as the bench: an upstream failure, reported
            msg = f"seed {seed}: {type(exc).__name__}: {exc}"
            tally.add(seed, msg)
            np.savez(out_dir / f"seed{seed}.npz", failed=np.array(msg))
            continue
        _save(out_dir / f"seed{seed}.npz", rec, r.refs)
        tally.add(seed, r)
    tally.print(seeds, args.chunk_s)
    print(f"recorded in {out_dir}")
    return 0


class _Tally:
    """The bench's totals over the sessions of a range (per-set lines as they come with ``verbose``)."""

    def __init__(self, verbose: bool) -> None:
        self.verbose = verbose
        self.total = Score()
        self.holds_found = self.holds_true = 0
        self.lat: list[float] = []
        self.failed: list[str] = []
        self.t0 = time.perf_counter()

    def add(self, seed: int, r: CaseResult | str) -> None:
        if isinstance(r, str):
            self.failed.append(r)
            return
        self.total.extend(r.score)
        self.holds_found += r.holds_found
        self.holds_true += r.holds_true
        self.lat.extend(r.latencies_s)
        if self.verbose:
            print_sets(seed, r.score)

    def print(self, seeds: range, chunk_s: float) -> None:
        print_totals(
            self.total,
            self.holds_true,
            self.holds_found,
            self.lat,
            seeds=seeds,
            failed=self.failed,
            elapsed_s=time.perf_counter() - self.t0,
            chunk_s=chunk_s,
        )


def replay(path: Path, stage_cls: Callable[[], Any]) -> CaseResult | str:
    """A recorded session through a new rep stage, scored as the bench scores it (or the failure recorded)."""
    with np.load(path) as z:
        if "failed" in z.files:
            return str(z["failed"])
        data = {k: z[k] for k in z.files}
    meta = json.loads(str(data["meta"]))
    ends = np.cumsum(data["chunk_n"])
    starts = ends - data["chunk_n"]
    chunks: list[tuple[int, PelvisChunk]] = []
    for a, b, call, conf in zip(starts, ends, data["chunk_call"], data["chunk_conf"], strict=True):
        fields: dict[str, Any] = {f: None if f in meta["missing"] else data[f][a:b] for f in ARRAY_FIELDS}
        chunk = PelvisChunk(
            sensor_id=meta["sensor_id"],
            sampling_rate_hz=meta["sampling_rate_hz"],
            mounting_confidence=float(conf),
            **fields,
        )
        chunks.append((int(call), chunk))
    stage = stage_cls()
    t_now = data["t_now_s"]
    events: list[Event] = []
    latencies: list[float] = []
    for call, chunk in chunks:
        got = stage.feed(chunk)
        if call < t_now.size:
            latencies.extend(float(t_now[call]) - e.t_end_s for e in got if isinstance(e, RepEvent))
        events.extend(got)
    events.extend(stage.finish())
    # latencies as the bench measures them: at the end of the call (input chunk) whose feed returned the rep
    refs = (
        [RefSet(**r) for r in meta["ref_sets"]],
        [RefRep(**r) for r in meta["ref_reps"]],
        [(float(a), float(b)) for a, b in meta["hold_spans"]],
    )
    return case_result(*refs, events, latencies)


def load_stage(path: str | None) -> tuple[str, Callable[[], Any]]:
    """The ``RepStage`` of the current code (``None`` or ``current``) or of a copy of ``counter.py``."""
    if path is None or path == "current":
        return "current", RepStage
    name = f"_counter_variant_{abs(hash(Path(path).resolve()))}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot import {path}")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod  # dataclasses look their module up while the class is made
    spec.loader.exec_module(mod)
    stage: Callable[[], Any] = mod.RepStage
    return path, stage


def _summary(results: dict[int, CaseResult | str]) -> str:
    sets = [s for r in results.values() if not isinstance(r, str) for s in r.score.sets]
    err = np.array([s.count_error for s in sets])
    rec = np.mean([s.recognised == s.ref.exercise for s in sets])
    off2 = [
        f"{seed}"
        for seed, r in results.items()
        if not isinstance(r, str)
        for s in r.score.sets
        if abs(s.count_error) > 1
    ]
    outside = sum(r.score.extra_reps for r in results.values() if not isinstance(r, str))
    ht = sum(r.holds_true for r in results.values() if not isinstance(r, str))
    hf = sum(r.holds_found for r in results.values() if not isinstance(r, str))
    be = np.array([b for r in results.values() if not isinstance(r, str) for b in r.score.boundary_errors_s])
    la = np.array([x for r in results.values() if not isinstance(r, str) for x in r.latencies_s])
    return (
        f"{100 * np.mean(err == 0):.1f}/{100 * np.mean(np.abs(err) <= 1):.1f}/{100 * rec:.1f} "
        f"(exact/+-1/recognised %), off by 2+: {len(off2)} ({', '.join(off2) or '-'}), "
        f"outside sets {outside}, holds {hf}/{ht}, boundary error median/p95 {1000 * np.median(be):.0f}/"
        f"{1000 * np.percentile(be, 95):.0f} ms, {be.size} reps matched, latency median/max "
        f"{1000 * np.median(la):.0f}/{1000 * la.max():.0f} ms"
    )


def _rep_spans(r: CaseResult) -> list[tuple[float, float]]:
    return [(e.t_start_s, e.t_end_s) for e in r.events if isinstance(e, RepEvent)]


def compare(args: argparse.Namespace) -> int:
    src = _session_dir(args.cache, args.fast, args.e2e, args.chunk_s)
    seeds = range(args.first_seed, args.first_seed + args.cases)
    missing = [s for s in seeds if not (src / f"seed{s}.npz").exists()]
    if missing:
        raise SystemExit(f"not recorded in {src}: seeds {missing[0]}..{missing[-1]} (run `record` first)")
    name, stage_cls = load_stage(args.counter)
    print(f"rep stage: {name}")
    tally = _Tally(args.verbose)
    res = {seed: replay(src / f"seed{seed}.npz", stage_cls) for seed in seeds}
    for seed, r in res.items():
        tally.add(seed, r)
    tally.print(seeds, args.chunk_s)
    if args.base is None:
        return 0
    base_name, base_cls = load_stage(args.base)
    base = {seed: replay(src / f"seed{seed}.npz", base_cls) for seed in seeds}
    print(f"\nper set, {base_name} -> {name} (sets that differ):")
    n_diff = 0
    for seed in seeds:
        a, b = base[seed], res[seed]
        if isinstance(a, str) or isinstance(b, str):
            continue
        for sa, sb in zip(a.score.sets, b.score.sets, strict=True):
            if (sa.counted, sa.recognised) != (sb.counted, sb.recognised):
                n_diff += 1
                print(
                    f"seed {seed:4d} {sa.ref.exercise:18s} {sa.ref.reps:3d} reps: counted {sa.counted:3d} -> "
                    f"{sb.counted:3d}, recognised {sa.recognised} -> {sb.recognised}"
                )
        if a.score.extra_reps != b.score.extra_reps:
            print(f"seed {seed:4d} reps outside sets {a.score.extra_reps} -> {b.score.extra_reps}")
    moved = [
        seed
        for seed in seeds
        if not isinstance(base[seed], str)
        and not isinstance(res[seed], str)
        and _rep_spans(base[seed]) != _rep_spans(res[seed])  # type: ignore[arg-type]
    ]
    print(f"{n_diff} sets differ; sessions whose reps differ at all (times included): {moved or '-'}")
    print(f"{base_name}: {_summary(base)}")
    print(f"{name}: {_summary(res)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=["record", "compare"])
    ap.add_argument("--cases", type=int, default=100)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--fast", action="store_true", help="bench_reps_accuracy's fast stress sessions")
    ap.add_argument("--e2e", action="store_true", help="through HipPipeline's automatic calibration")
    ap.add_argument("--chunk-s", type=float, default=0.1, help="input chunks of this length, s (as the bench)")
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help=f"recordings (default {DEFAULT_CACHE})")
    ap.add_argument("--counter", default=None, help="compare: a copy of counter.py to replay (default: current)")
    ap.add_argument("--base", default=None, help="compare: a second variant (path or 'current') to diff against")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    print("command: python bench/reps_replay.py " + " ".join(sys.argv[1:] if argv is None else argv))
    return record(args) if args.mode == "record" else compare(args)


if __name__ == "__main__":
    raise SystemExit(main())
