"""Export a session: decoded samples and everything the pipeline produced (steps, reps, sets, summary ...).

Formats (``hipsense export SESSION --format ...``):

* ``json``: one document ``{"format": "hipsense-session", "version": 1, "session": {...}, "samples":
  {sensor_id: {"t_s": [...], "acc_mps2": [[x, y, z], ...], "gyr_radps": [...] | null, "sample_index": [...],
  "missing_before": [...]}}, "events": [{"sensor_id", "event_id", "event": {...}}], "steps": [...],
  "reps": [...], "sets": [...], "holds": [...], "alerts": [...], "bouts": [...], "summaries": [...],
  "summary": {...} | null, "loss": null | "..."}``. Another install imports it (``hipsense import``).
* ``csv``: a folder (or a ``.zip`` when ``-o`` ends with ``.zip``) with ``samples_<sensor>.csv`` in the HipSense
  CSV format (:mod:`sensor.sessions.hipsense_csv`, 1e-6 resolution; re-importable), one CSV per event kind
  (``steps.csv`` ...; nested values as JSON text) and ``session.json``.
* ``parquet``: a folder with ``samples.parquet`` (one row per sample, a ``sensor_id`` column) and one parquet
  file per event kind; needs the optional extra ``hipsense[parquet]`` (pyarrow).
* ``hipsense``: a lossless archive: a one-session store file (raw frames, metadata, events, notes, tags).

A damaged store is read through :class:`~sensor.sessions.store.SessionReader`: what is intact is exported and
the result's ``loss`` says what was lost.
"""

from __future__ import annotations

import csv
import io
import json
import math
import uuid
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from sensor.errors import PacketError, UsageError
from sensor.model import ImuBlock, RawFrame
from sensor.protocol.base import StreamDecoder
from sensor.sessions import hipsense_csv
from sensor.sessions.replay import session_decoder_factory
from sensor.sessions.store import PendingEvent, SessionInfo, SessionReader, SourceKind, Store, StoredEvent

ExportFormat = Literal["csv", "json", "parquet", "hipsense"]
EXPORT_FORMATS: tuple[str, ...] = ("csv", "json", "parquet", "hipsense")
EVENT_GROUPS: dict[str, str] = {
    "step": "steps",
    "rep": "reps",
    "set": "sets",
    "hold": "holds",
    "alert": "alerts",
    "bout": "bouts",
    "summary": "summaries",
}
SAMPLE_COLUMNS = hipsense_csv.CSV_COLUMNS


@dataclass(slots=True)
class SessionData:
    """A session read back and decoded."""

    info: SessionInfo
    samples: dict[str, ImuBlock]
    events: list[StoredEvent]
    loss: str | None
    decode_errors: int


def load_session(store: Store, session_id: str) -> SessionData:
    """Decode every frame of a session (salvaging a damaged store) and read its events."""
    info = store.get_session(session_id)
    make = session_decoder_factory(store, session_id)
    decoders: dict[str, StreamDecoder] = {}
    parts: dict[str, list[ImuBlock]] = {}
    errors = 0
    reader = SessionReader(store, session_id)
    for _seq, frame in reader.frames():
        dec = decoders.get(frame.sensor_id)
        if dec is None:
            dec = decoders[frame.sensor_id] = make(frame.sensor_id)
        try:
            block = dec.decode(frame)
        except PacketError:
            errors += 1
            continue
        if block is not None and len(block):
            parts.setdefault(frame.sensor_id, []).append(block)
    events = reader.events()
    samples = {sid: ImuBlock.concat(blocks) for sid, blocks in parts.items()}
    loss = reader.loss.describe() if reader.loss is not None else None
    return SessionData(info, samples, events, loss, errors)


def _finite(x: Any) -> Any:
    """JSON has no NaN: map non-finite floats to null."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def _block_doc(b: ImuBlock) -> dict[str, Any]:
    return {
        "t_s": b.t_s.tolist(),
        "acc_mps2": b.acc_mps2.tolist(),
        "gyr_radps": None if b.gyr_radps is None else b.gyr_radps.tolist(),
        "sample_index": b.sample_index.tolist(),
        "missing_before": b.missing_before.tolist(),
    }


def events_doc(events: Sequence[StoredEvent]) -> dict[str, Any]:
    """The pipeline's output grouped by kind, plus the whole-session (or latest) summary."""
    out: dict[str, Any] = {g: [] for g in EVENT_GROUPS.values()}
    for e in events:
        out[EVENT_GROUPS[e.event.kind]].append({"sensor_id": e.sensor_id, **e.event.model_dump(mode="json")})
    summaries = [e.event for e in events if e.event.kind == "summary"]
    whole = [s for s in summaries if getattr(s, "window_s", 0) is None]
    pick = whole[-1] if whole else (summaries[-1] if summaries else None)
    out["summary"] = None if pick is None else pick.model_dump(mode="json")
    return out


def session_document(data: SessionData) -> dict[str, Any]:
    return {
        "format": "hipsense-session",
        "version": 1,
        "session": data.info.model_dump(mode="json"),
        "samples": {sid: _block_doc(b) for sid, b in data.samples.items()},
        "events": [
            {"sensor_id": e.sensor_id, "event_id": e.event_id, "event": e.event.model_dump(mode="json")}
            for e in data.events
        ],
        **events_doc(data.events),
        "loss": data.loss,
    }


def _events_csv(rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    keys: list[str] = []
    for r in rows:
        keys += [k for k in r if k not in keys]
    w = csv.DictWriter(buf, fieldnames=keys or ["sensor_id"], lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: json.dumps(v) if isinstance(v, list | dict | tuple) else v for k, v in r.items()})
    return buf.getvalue()


def export_session(store: Store, session_id: str, fmt: str, out: Path) -> tuple[Path, SessionData | None]:
    """Write the export; returns the path written and the data (None for the archive format)."""
    if fmt == "hipsense":
        if out.exists():
            raise UsageError(f"{out} exists; choose another -o path or delete it", argument="-o")
        dst = Store(out)
        try:
            copy_session(store, session_id, dst, source_kind=None)
        finally:
            dst.close()
        return out, None
    data = load_session(store, session_id)
    if fmt == "json":
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(session_document(data), allow_nan=False, default=_finite), encoding="utf-8")
        return out, data
    if fmt == "csv":
        files: dict[str, str] = {f"samples_{sid}.csv": hipsense_csv.format_csv(b) for sid, b in data.samples.items()}
        groups = events_doc(data.events)
        for group in EVENT_GROUPS.values():
            files[f"{group}.csv"] = _events_csv(groups[group])
        files["session.json"] = json.dumps(
            {"session": data.info.model_dump(mode="json"), "summary": groups["summary"], "loss": data.loss}, indent=2
        )
        if out.suffix.lower() == ".zip":
            out.parent.mkdir(parents=True, exist_ok=True)
            with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
                for name, text in files.items():
                    zf.writestr(name, text)
        else:
            out.mkdir(parents=True, exist_ok=True)
            for name, text in files.items():
                (out / name).write_text(text, encoding="utf-8")
        return out, data
    if fmt == "parquet":
        _export_parquet(data, out)
        return out, data
    raise UsageError(f"unknown export format {fmt!r}; use one of {', '.join(EXPORT_FORMATS)}", argument="--format")


def _export_parquet(data: SessionData, out: Path) -> None:
    try:
        import pyarrow as pa  # type: ignore[import-untyped,import-not-found,unused-ignore]  # noqa: PLC0415
        import pyarrow.parquet as pq  # type: ignore[import-untyped,import-not-found,unused-ignore]  # noqa: PLC0415
    except ImportError as exc:
        raise UsageError(
            "--format parquet needs pyarrow: pip install 'hipsense[parquet]'", argument="--format"
        ) from exc
    out.mkdir(parents=True, exist_ok=True)
    cols: dict[str, list[Any]] = {"sensor_id": []}
    arrays: dict[str, list[np.ndarray[Any, Any]]] = {c: [] for c in SAMPLE_COLUMNS}
    for sid, b in data.samples.items():
        n = len(b)
        cols["sensor_id"] += [sid] * n
        arrays["t_s"].append(b.t_s)
        for k, c in enumerate(("acc_x_mps2", "acc_y_mps2", "acc_z_mps2")):
            arrays[c].append(b.acc_mps2[:, k])
        for k, c in enumerate(("gyr_x_radps", "gyr_y_radps", "gyr_z_radps")):
            arrays[c].append(b.gyr_radps[:, k] if b.gyr_radps is not None else np.full(n, np.nan))
    table = pa.table(
        {
            "sensor_id": pa.array(cols["sensor_id"], pa.string()),
            **{c: pa.array(np.concatenate(v) if v else np.zeros(0)) for c, v in arrays.items()},
        }
    )
    pq.write_table(table, out / "samples.parquet")
    groups = events_doc(data.events)
    for group in EVENT_GROUPS.values():
        rows = groups[group]
        if rows:
            pq.write_table(pa.Table.from_pylist(rows), out / f"{group}.parquet")


@dataclass(frozen=True, slots=True)
class SessionCopy:
    """Everything :func:`copy_session` reads from the source store, before it writes anything."""

    session_id: str
    info: SessionInfo
    frames: list[RawFrame]
    events: list[PendingEvent]
    loss: str | None


def read_session_copy(src: Store, session_id: str) -> SessionCopy:
    """Read one session completely (raw frames, events, loss summary) for :func:`write_session_copy`."""
    info = src.get_session(session_id)
    reader = SessionReader(src, session_id)
    frames = [f for _, f in reader.frames()]
    events = [PendingEvent(e.sensor_id, e.event_id, e.event) for e in reader.events()]
    loss = reader.loss.describe() if reader.loss is not None else None
    return SessionCopy(session_id, info, frames, events, loss)


def write_session_copy(
    copy: SessionCopy,
    dst: Store,
    *,
    name: str | None = None,
    extra_tags: Sequence[str] = (),
    source_kind: SourceKind | None = None,
) -> str:
    """Write a session read by :func:`read_session_copy` into ``dst`` in one transaction; returns its id.

    The id is kept unless ``dst`` already has it (then a new one is drawn and the old one kept in the metadata).
    """
    info, session_id = copy.info, copy.session_id
    taken = session_id in dst.session_ids()
    meta = dict(info.meta)
    if taken:
        meta["original_session_id"] = session_id
    if copy.loss is not None:
        meta["loss"] = copy.loss
    kind: Any = source_kind or info.source_kind
    events = copy.events
    return dst.write_session(
        name=name or info.name,
        source_kind=kind,
        started_s=info.started_s,
        ended_s=info.ended_s,
        sensors=[s.model_copy() for s in info.sensors],  # SensorInfo is a SensorMeta; counters are recomputed
        frames=copy.frames,
        events=events if not taken else [PendingEvent(e.sensor_id, uuid.uuid4().hex, e.event) for e in events],
        tags=[*info.tags, *extra_tags],
        notes=info.notes,
        meta=meta,
        uid=None if taken else session_id,
    )


def copy_session(
    src: Store,
    session_id: str,
    dst: Store,
    *,
    name: str | None = None,
    extra_tags: Sequence[str] = (),
    source_kind: SourceKind | None = None,
) -> str:
    """Copy one session (raw frames, sensors, events, notes, tags) into another store, in one transaction.

    The id is kept unless ``dst`` already has it (then a new one is drawn and the old one kept in the metadata).
    """
    copy = read_session_copy(src, session_id)
    return write_session_copy(copy, dst, name=name, extra_tags=extra_tags, source_kind=source_kind)
