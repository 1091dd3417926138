"""Importers: files from other recorders become sessions that replay and analysis treat like any live source.

Supported inputs (``hipsense import FILE``; the format is detected, or forced with ``--format``):

* **HipSense CSV** (``t_s,acc_x_mps2,acc_y_mps2,acc_z_mps2[,gyr_x_radps,gyr_y_radps,gyr_z_radps]``), read by
  :mod:`sensor.sessions.hipsense_csv`; ``--acc-unit g`` when the accelerometer columns hold g.
* **phyphox** exports (a CSV, or the zip phyphox shares): the accelerometer *with* gravity (``Time (s)``,
  ``Acceleration x (m/s^2)`` ...) and optionally the gyroscope (``Gyroscope x (rad/s)`` ...). phyphox's
  "Acceleration without g" (``Linear Acceleration x (m/s^2)``) is **refused**: with gravity removed the pelvis
  tilt (obliquity, pelvic drop) cannot be recovered, and adding gravity back would need the very orientation we
  want to measure. Record with "Acceleration (with g)" instead. The start time comes from ``meta/time.csv``.
* **Sensor Logger** exports (a zip, a folder, or one of its CSVs with its siblings): ``TotalAcceleration.csv``
  (with gravity), else ``Accelerometer.csv`` (gravity removed) + ``Gravity.csv`` summed; plus ``Gyroscope.csv``.
  Columns ``time`` (ns since the epoch), ``seconds_elapsed``, ``z``, ``y``, ``x``. ``Accelerometer.csv`` alone is
  refused for the reason above.
* **A HipSense session export** of another install: the JSON document of ``hipsense export --format json``
  (decoded samples and events) or the lossless archive of ``hipsense export --format hipsense`` (a one-session
  store file, raw frames and all).

Common time base. When accelerometer and gyroscope come as separate streams (phyphox, Sensor Logger), the
accelerometer's timestamps are the time base; the session keeps only the interval where every stream has data
(no extrapolation), and the gyroscope (and Sensor Logger's gravity) are linearly interpolated onto it, per axis.
Phones sample the two sensors at nearly the same rate, so this changes the gyroscope by well under its noise.

Storage. The samples become frames of the internal ``imu-f64`` channel (:mod:`sensor.sessions.imu_f64`: float64,
lossless), 32 samples per frame, host time = the recording's start (epoch seconds, when the file says it) plus
``t_s``; ``t_s`` stays in the file's own time base. The whole session is written in one transaction: a failed
import leaves nothing behind.

Checks, each an :class:`~sensor.errors.ImportFormatError` naming the file, line and column: empty file, missing
columns, non-numeric cells, NaN/inf, duplicated or backwards timestamps, and implausible units: the magnitude of
the mean acceleration vector (gravity, since a hip sensor keeps its attitude on average) must be near 9.81 m/s^2;
near 1 means the file is in g (the error says to pass ``--acc-unit g``), near 0 means gravity was removed.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import zipfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sensor.errors import HipSenseError, ImportFormatError
from sensor.events import Event
from sensor.frames import STANDARD_GRAVITY_MPS2
from sensor.model import FloatArray, ImuBlock, RawFrame
from sensor.sessions import hipsense_csv, imu_f64
from sensor.sessions.store import NoteInfo, PendingEvent, SensorMeta, Store, new_session_uid
from sensor.sessions.tables import Table, check_finite, check_time, parse_table

AccUnit = Literal["mps2", "g"]
ImportFormat = Literal["auto", "hipsense-csv", "phyphox", "sensor-logger", "hipsense-json", "hipsense-archive"]
IMPORT_FORMATS: tuple[str, ...] = (
    "auto",
    "hipsense-csv",
    "phyphox",
    "sensor-logger",
    "hipsense-json",
    "hipsense-archive",
)
SAMPLES_PER_FRAME = 32
MAX_ZIP_MEMBER_BYTES = 512 * 2**20
"""Largest CSV read out of a zip: a 6-hour Sensor Logger recording at 100 Hz is about 200 MB."""


@dataclass(slots=True)
class Stream:
    sensor: SensorMeta
    block: ImuBlock


@dataclass(slots=True)
class Recording:
    """What a reader got out of a file, before it is stored."""

    format: str
    streams: list[Stream]
    start_epoch_s: float | None = None
    name: str | None = None
    warnings: list[str] = field(default_factory=list)
    events: list[tuple[str, Event]] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    notes: list[NoteInfo] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ImportResult:
    session_id: str
    format: str
    samples: int
    frames: int
    duration_s: float
    sensors: list[str]
    warnings: list[str]


# ------------------------------------------------------------------------------------------- axes and units
def parse_axes(spec: str) -> NDArray[np.float64]:
    """``"x,-z,y"`` -> the 3x3 matrix ``M`` with ``new = M @ old``: new x = old x, new y = -old z, new z = old y.

    The result must be a rotation (a right-handed frame); a mirror image would turn every left step into a right
    one, so it is refused.
    """
    parts = [p.strip().lower() for p in spec.split(",")]
    m = np.zeros((3, 3))
    used: set[str] = set()
    if len(parts) != 3:
        raise ImportFormatError(
            f"--axes {spec!r}: give three comma-separated axes like 'x,-z,y' (new x, new y, new z)",
            path="--axes",
            column=spec,
        )
    for row, p in enumerate(parts):
        sign = -1.0 if p.startswith("-") else 1.0
        ax = p.lstrip("+-")
        if ax not in ("x", "y", "z") or ax in used:
            raise ImportFormatError(
                f"--axes {spec!r}: {p!r} is not one of x, y, z (each once, optionally with '-')",
                path="--axes",
                column=spec,
            )
        used.add(ax)
        m[row, "xyz".index(ax)] = sign
    if np.linalg.det(m) < 0:
        raise ImportFormatError(
            f"--axes {spec!r} mirrors the sensor frame (a left-handed frame would swap left and right); flip one "
            "more axis sign or swap two axes",
            path="--axes",
            column=spec,
        )
    return m


def remap_axes(block: ImuBlock, m: NDArray[np.float64]) -> ImuBlock:
    gyr = None if block.gyr_radps is None else block.gyr_radps @ m.T
    return ImuBlock(block.sensor_id, block.t_s, block.acc_mps2 @ m.T, gyr, block.sample_index, block.missing_before)


def to_mps2(acc: FloatArray, unit: AccUnit, *, path: str, column: str, line: int = 2) -> FloatArray:
    """Convert to m/s^2 and check the values are a gravity-including accelerometer in that unit."""
    out = acc * STANDARD_GRAVITY_MPS2 if unit == "g" else acc
    g_est = float(np.linalg.norm(out.mean(axis=0)))
    med = float(np.median(np.linalg.norm(out, axis=1)))
    if 5.0 <= g_est <= 15.0:
        return out
    raw_g = g_est / STANDARD_GRAVITY_MPS2 if unit == "g" else g_est
    if unit == "mps2" and 0.6 <= g_est <= 1.5 and med < 3.0:
        msg = (
            f"the accelerometer reads {g_est:.2f} on average (mean vector magnitude): that is 1 g written in g, not "
            "9.81 m/s^2. Import again with --acc-unit g"
        )
    elif unit == "g" and 5.0 <= raw_g <= 15.0:
        msg = (
            f"with --acc-unit g the accelerometer reads {raw_g:.2f} g on average, but its values look like m/s^2 "
            f"({raw_g:.2f} ~ 9.81); import again without --acc-unit g"
        )
    elif g_est < 0.6 * (STANDARD_GRAVITY_MPS2 if unit == "g" else 1.0) or g_est < 3.0:
        msg = (
            f"the accelerometer averages {g_est:.2f} m/s^2, far below 9.81: gravity has been removed (linear "
            "acceleration). Pelvic tilt cannot be measured without it; record the accelerometer with gravity "
            "(phyphox 'Acceleration (with g)', Sensor Logger 'TotalAcceleration')"
        )
    else:
        msg = (
            f"the accelerometer averages {g_est:.2f} m/s^2 (expected about 9.81 with gravity): implausible units; "
            "check the file, or pass --acc-unit g if it holds g"
        )
    raise ImportFormatError(f"{path}: {msg}", path=path, line=line, column=column)


def _interp_onto(t_base: FloatArray, t: FloatArray, v: FloatArray) -> FloatArray:
    return np.column_stack([np.interp(t_base, t, v[:, k]) for k in range(v.shape[1])])


def _overlap(base_t: FloatArray, other_t: FloatArray, *, path: str, other: str) -> NDArray[np.bool_]:
    """Samples of the time base inside the other stream's time span; at least two, or the streams do not overlap."""
    lo = max(base_t[0], other_t[0])
    hi = min(base_t[-1], other_t[-1])
    keep: NDArray[np.bool_] = (base_t >= lo) & (base_t <= hi)
    if int(keep.sum()) < 2:
        raise ImportFormatError(
            f"{path}: the accelerometer ({base_t[0]:.6g}..{base_t[-1]:.6g} s) and {other} ({other_t[0]:.6g}.."
            f"{other_t[-1]:.6g} s) overlap in {int(keep.sum())} sample(s); a session needs at least two. Export a "
            "recording where both sensors ran at the same time",
            path=path,
            line=2,
        )
    return keep


def _rate(t: FloatArray) -> float:
    return float(1.0 / np.median(np.diff(t)))


def _phone_meta(sensor_id: str, t: FloatArray, model: str, extra: dict[str, Any]) -> SensorMeta:
    """A phone in a belt: mounting unknown (calibration finds it), samples stored as imu-f64."""
    return SensorMeta(
        sensor_id=sensor_id,
        sensor_type=imu_f64.SENSOR_TYPE,
        sampling_rate_hz=_rate(t),
        mounting="unknown",
        model=model,
        meta=extra,
    )


# ------------------------------------------------------------------------------------------- file access
class _Files:
    """Uniform access to the CSVs of a zip, a folder, or one file and its siblings."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._zip: zipfile.ZipFile | None = None
        if path.is_dir():
            self.names = sorted(str(p.relative_to(path)) for p in path.rglob("*.csv"))
        elif zipfile.is_zipfile(path):
            try:
                self._zip = zipfile.ZipFile(path)
            except (zipfile.BadZipFile, ValueError, RuntimeError, EOFError) as exc:
                raise ImportFormatError(
                    f"{path} is a damaged zip file ({exc}); export it again", path=str(path)
                ) from exc
            self.names = sorted(n for n in self._zip.namelist() if n.lower().endswith(".csv"))
        else:
            self.names = [path.name, *sorted(p.name for p in path.parent.glob("*.csv") if p.name != path.name)]

    def display(self, name: str) -> str:
        if self._zip is not None:
            return f"{self.path}:{name}"
        return str(self.path / name) if self.path.is_dir() else str(self.path.parent / name)

    def text(self, name: str) -> str:
        try:
            if self._zip is not None:
                size = self._zip.getinfo(name).file_size
                if size > MAX_ZIP_MEMBER_BYTES:
                    # the size is the zip's own claim (zipfile stops there): refused before anything is unpacked
                    raise ImportFormatError(
                        f"{self.display(name)} unpacks to {size} bytes, more than the {MAX_ZIP_MEMBER_BYTES} bytes "
                        "of a long phone recording (a damaged or hostile zip?); unzip it and import the folder, or "
                        "split the recording",
                        path=self.display(name),
                    )
                raw = self._zip.read(name)
            elif self.path.is_dir():
                raw = (self.path / name).read_bytes()
            else:
                raw = (self.path.parent / name).read_bytes()
        except (OSError, KeyError, zipfile.BadZipFile, EOFError, zlib.error) as exc:
            raise ImportFormatError(f"cannot read {self.display(name)}: {exc}", path=self.display(name)) from exc
        except RuntimeError as exc:  # an encrypted member, or NotImplementedError: a compression zipfile lacks
            raise ImportFormatError(
                f"cannot unpack {self.display(name)} ({exc}); unzip it with another tool and import the folder",
                path=self.display(name),
            ) from exc
        try:
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ImportFormatError(
                f"{self.display(name)} is not UTF-8 text (byte {exc.start}); export it again as CSV",
                path=self.display(name),
            ) from exc

    def table(self, name: str) -> Table:
        return parse_table(self.text(name), self.display(name))

    def find(self, basename: str) -> str | None:
        for n in self.names:
            if Path(n).name.lower() == basename.lower():
                return n
        return None

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()


def _xyz(table: Table, names: Sequence[str]) -> FloatArray:
    check_finite(table, list(names))
    return np.column_stack([table.col(n) for n in names])


# ------------------------------------------------------------------------------------------- phyphox
_PHY_T = ("Time (s)",)


def _phy_cols(table: Table, prefix: str, unit: str) -> list[str] | None:
    """The x, y, z column names of ``prefix``; None when absent; an error naming the one missing of three."""
    found = [table.find(*(f"{prefix} {ax} ({u})" for u in unit.split("|"))) for ax in "xyz"]
    if all(f is None for f in found):
        return None
    for ax, f in zip("xyz", found, strict=True):
        if f is None:
            want = f"{prefix} {ax} ({unit.split('|', maxsplit=1)[0]})"
            table.require(want, what=f"the {ax} axis next to the other {prefix.lower()} columns")
    return [f for f in found if f is not None]


def read_phyphox(path: Path, *, acc_unit: AccUnit = "mps2", sensor_id: str = "phone") -> Recording:
    files = _Files(path)
    try:
        acc_t: Table | None = None
        acc_cols: list[str] | None = None
        gyr_t: Table | None = None
        gyr_cols: list[str] | None = None
        linear: str | None = None
        for name in files.names:
            if name.startswith("meta/") or Path(name).name.lower().startswith("meta"):
                continue
            table = files.table(name)
            if table.find(*_PHY_T) is None:
                continue
            a = _phy_cols(table, "Acceleration", "m/s^2|m/s²")
            if a is not None and acc_t is None:
                acc_t, acc_cols = table, a
            if _phy_cols(table, "Linear Acceleration", "m/s^2|m/s²") is not None:
                linear = table.path
            g = _phy_cols(table, "Gyroscope", "rad/s")
            if g is not None and gyr_t is None:
                gyr_t, gyr_cols = table, g
        if acc_t is None or acc_cols is None:
            if linear is not None:
                raise ImportFormatError(
                    f"{linear}: this is phyphox's 'Acceleration without g' (linear acceleration, gravity removed). "
                    "Without gravity the pelvis tilt (obliquity, pelvic drop) cannot be measured; record with "
                    "phyphox 'Acceleration (with g)' (and the gyroscope) and import that export",
                    path=linear,
                    line=1,
                    column="Linear Acceleration x (m/s^2)",
                )
            raise ImportFormatError(
                f"{path}: no phyphox accelerometer table found (looked for 'Time (s)' and 'Acceleration x (m/s^2)' "
                f"in {files.names}); export 'Acceleration (with g)' from phyphox as CSV",
                path=str(path),
                line=1,
                column="Acceleration x (m/s^2)",
            )
        tcol = acc_t.require(*_PHY_T, what="time")
        check_time(acc_t, tcol)
        t = acc_t.col(tcol)
        acc = to_mps2(_xyz(acc_t, acc_cols), acc_unit, path=acc_t.path, column=acc_cols[0])
        gyr = None
        warnings: list[str] = []
        if gyr_t is not None and gyr_cols is not None:
            gt_col = gyr_t.require(*_PHY_T, what="time")
            check_time(gyr_t, gt_col)
            gt = gyr_t.col(gt_col)
            keep = _overlap(t, gt, path=acc_t.path, other=f"the gyroscope of {gyr_t.path}")
            t, acc = t[keep], acc[keep]
            gyr = _interp_onto(t, gt, _xyz(gyr_t, gyr_cols))
        else:
            warnings.append("no gyroscope in the phyphox export: accelerometer-only (steps and cadence, no tilt)")
        start = _phyphox_start(files)
        meta = _phone_meta(sensor_id, t, "phone (phyphox)", {"source": "phyphox", "file": str(path)})
        block = ImuBlock.from_arrays(sensor_id, t, acc, gyr)
        return Recording("phyphox", [Stream(meta, block)], start_epoch_s=start, warnings=warnings)
    finally:
        files.close()


def _phyphox_start(files: _Files) -> float | None:
    name = files.find("time.csv")
    if name is None:
        return None
    try:
        rows = list(csv.reader(io.StringIO(files.text(name))))
    except ImportFormatError:
        return None
    header = [h.strip().lower() for h in rows[0]] if rows else []
    if "event" not in header or "system time" not in header:
        return None
    for r in rows[1:]:
        if r and r[header.index("event")].strip().upper() == "START":
            try:
                return float(r[header.index("system time")])
            except (ValueError, IndexError):
                return None
    return None


# ------------------------------------------------------------------------------------------- Sensor Logger
_SL_AXES = ("x", "y", "z")


def _sl_table(files: _Files, base: str) -> Table | None:
    name = files.find(base)
    if name is None:
        return None
    table = files.table(name)
    for col in ("seconds_elapsed", "x", "y", "z"):
        table.require(col, what="Sensor Logger column")
    check_time(table, "seconds_elapsed")
    return table


def read_sensor_logger(path: Path, *, acc_unit: AccUnit = "mps2", sensor_id: str = "phone") -> Recording:
    files = _Files(path)
    try:
        total = _sl_table(files, "TotalAcceleration.csv")
        warnings: list[str] = []
        if total is not None:
            base = total
            t = total.col("seconds_elapsed")
            acc = _xyz(total, _SL_AXES)
        else:
            user = _sl_table(files, "Accelerometer.csv")
            grav = _sl_table(files, "Gravity.csv")
            if user is None:
                raise ImportFormatError(
                    f"{path}: no Sensor Logger accelerometer (TotalAcceleration.csv or Accelerometer.csv) among "
                    f"{files.names}; enable the accelerometer in Sensor Logger and export again",
                    path=str(path),
                    line=1,
                    column="x",
                )
            if grav is None:
                raise ImportFormatError(
                    f"{user.path}: Sensor Logger's Accelerometer.csv has gravity removed and there is no "
                    "Gravity.csv or TotalAcceleration.csv next to it. Without gravity the pelvis tilt cannot be "
                    "measured; enable 'Gravity' (or 'Total Acceleration') in Sensor Logger and export again",
                    path=user.path,
                    line=1,
                    column="x",
                )
            base = user
            t = user.col("seconds_elapsed")
            gt = grav.col("seconds_elapsed")
            keep = _overlap(t, gt, path=user.path, other=f"the gravity of {grav.path}")
            t = t[keep]
            acc = _xyz(user, _SL_AXES)[keep] + _interp_onto(t, gt, _xyz(grav, _SL_AXES))
            warnings.append("acceleration = Accelerometer.csv + Gravity.csv interpolated onto its timestamps")
        acc = to_mps2(acc, acc_unit, path=base.path, column="x")
        gyr_table = _sl_table(files, "Gyroscope.csv")
        gyr = None
        if gyr_table is not None:
            gt = gyr_table.col("seconds_elapsed")
            keep = _overlap(t, gt, path=base.path, other=f"the gyroscope of {gyr_table.path}")
            t, acc = t[keep], acc[keep]
            gyr = _interp_onto(t, gt, _xyz(gyr_table, _SL_AXES))
        else:
            warnings.append("no Gyroscope.csv: accelerometer-only (steps and cadence, no tilt)")
        start = None
        tname = base.find("time")
        if tname is not None:
            # `time` is ns since the epoch; float64 keeps it to ~0.3 us, plenty for a start time
            start = float(base.col(tname)[0]) / 1e9 - float(base.col("seconds_elapsed")[0])
            if not np.isfinite(start):  # a damaged `time` cell: fall back to the file's mtime
                start = None
        extra: dict[str, Any] = {"source": "sensor-logger", "file": str(path)}
        meta_name = files.find("Metadata.csv")
        if meta_name is not None:
            rows = list(csv.reader(io.StringIO(files.text(meta_name))))
            if len(rows) >= 2:
                extra["metadata"] = dict(zip(rows[0], rows[1], strict=False))
        meta = _phone_meta(sensor_id, t, "phone (Sensor Logger)", extra)
        block = ImuBlock.from_arrays(sensor_id, t, acc, gyr)
        return Recording("sensor-logger", [Stream(meta, block)], start_epoch_s=start, warnings=warnings)
    finally:
        files.close()


# ------------------------------------------------------------------------------------------- HipSense CSV
def read_hipsense_csv_file(path: Path, *, acc_unit: AccUnit | None = None, sensor_id: str = "hip") -> Recording:
    """The HipSense CSV through :func:`sensor.sessions.hipsense_csv.read_csv` (it checks columns, time, units)."""
    block = hipsense_csv.read_csv(path, sensor_id=sensor_id, acc_unit=acc_unit)
    if len(block) < 2:  # as check_time says for the phone tables: no rate, no duration
        raise ImportFormatError(
            f"{path}: only {len(block)} sample; a session needs at least two", path=str(path), line=2, column="t_s"
        )
    meta = SensorMeta(
        sensor_id=sensor_id,
        sensor_type=imu_f64.SENSOR_TYPE,
        sampling_rate_hz=block.sampling_rate_hz,
        meta={"source": "hipsense-csv", "file": str(path)},
    )
    warnings = [] if block.has_gyr else ["no gyroscope columns: accelerometer-only (steps and cadence, no tilt)"]
    return Recording("hipsense-csv", [Stream(meta, block)], warnings=warnings)


# ------------------------------------------------------------------------------------------- HipSense export
class _JsonSensor(SensorMeta):
    """A sensor of the export's ``session.sensors`` (a :class:`SensorInfo` dump; its counters are not needed)."""

    model_config = ConfigDict(extra="ignore")

    first_host_t_s: float | None = None


class _JsonSession(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str | None = None
    name: str | None = None
    sensors: list[_JsonSensor] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    notes: list[NoteInfo] = Field(default_factory=list)
    meta: dict[str, Any] = Field(default_factory=dict)


class _JsonBlock(BaseModel):
    """The samples of one sensor; ``null`` stands for a non-finite value (JSON has none)."""

    t_s: list[float | None]
    acc_mps2: list[list[float | None]]
    gyr_radps: list[list[float | None]] | None = None
    sample_index: list[int] | None = None
    missing_before: list[int] | None = None


class _JsonEvent(BaseModel):
    model_config = ConfigDict(extra="ignore")

    sensor_id: str
    event: Event


class _JsonDocument(BaseModel):
    """The parts of ``hipsense export --format json`` an import reads (the derived summaries are recomputed)."""

    model_config = ConfigDict(extra="ignore")

    session: _JsonSession = Field(default_factory=_JsonSession)
    samples: dict[str, _JsonBlock] = Field(default_factory=dict)
    events: list[_JsonEvent] = Field(default_factory=list)


def _json_block(path: Path, sid: str, s: _JsonBlock) -> ImuBlock:
    try:
        return ImuBlock.from_arrays(
            sid, s.t_s, s.acc_mps2, s.gyr_radps, sample_index=s.sample_index, missing_before=s.missing_before
        )
    except (ValueError, TypeError, OverflowError) as exc:
        raise ImportFormatError(
            f"{path}: samples of sensor {sid!r}: {exc}; export the session again",
            path=str(path),
            column=f"samples.{sid}",
        ) from exc


def read_hipsense_json(path: Path) -> Recording:
    """A document written by ``hipsense export --format json`` (see :mod:`sensor.sessions.exporters`)."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        line = getattr(exc, "lineno", None)
        raise ImportFormatError(
            f"{path} is not a HipSense JSON export ({exc}); export it again with `hipsense export --format json`",
            path=str(path),
            line=line,
        ) from exc
    if not isinstance(raw, dict) or raw.get("format") != "hipsense-session":
        raise ImportFormatError(
            f'{path}: not a HipSense session export (no "format": "hipsense-session")', path=str(path), line=1
        )
    if raw.get("version") != 1:
        raise ImportFormatError(
            f"{path}: export version {raw.get('version')!r} is not 1; upgrade hipsense", path=str(path), line=1
        )
    try:
        doc = _JsonDocument.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(x) for x in err["loc"])
        raise ImportFormatError(
            f"{path}: {where}: {err['msg']} (value {_short(err.get('input'))}); export the session again",
            path=str(path),
            column=where,
        ) from exc
    streams: list[Stream] = []
    for sensor in doc.session.sensors:
        s = doc.samples.get(sensor.sensor_id)
        if s is None:
            continue
        block = _json_block(path, sensor.sensor_id, s)
        fields = sensor.model_dump(exclude={"first_host_t_s", "meta", "sensor_type"})
        meta = {**sensor.meta, "original_sensor_type": sensor.sensor_type}
        streams.append(Stream(SensorMeta(**fields, sensor_type=imu_f64.SENSOR_TYPE, meta=meta), block))
    if not streams:
        raise ImportFormatError(f"{path}: the export holds no samples", path=str(path), column="samples")
    first_host = min((s.first_host_t_s or 0.0) for s in doc.session.sensors) or None
    return Recording(
        "hipsense-json",
        streams,
        start_epoch_s=first_host,
        name=doc.session.name,
        events=[(e.sensor_id, e.event) for e in doc.events],
        tags=doc.session.tags,
        notes=doc.session.notes,
        meta={"original_session_id": doc.session.id, **doc.session.meta},
    )


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def import_archive(store: Store, path: Path, *, name: str | None = None, tags: Sequence[str] = ()) -> ImportResult:
    """Copy every session of a HipSense archive (a store file) into ``store``, raw frames included."""
    from sensor.sessions.exporters import read_session_copy, write_session_copy  # noqa: PLC0415  (cycle)

    try:
        src = Store(path, readonly=True)
    except Exception as exc:
        raise ImportFormatError(f"{path} is not a readable HipSense archive: {exc}", path=str(path)) from exc
    try:
        ids = src.session_ids()
        if len(ids) != 1:
            raise ImportFormatError(
                f"{path}: an archive holds one session, this file holds {len(ids)}; export sessions one by one",
                path=str(path),
            )
        copy = read_session_copy(src, ids[0])
    except ImportFormatError:
        raise
    except (HipSenseError, sqlite3.Error, ValidationError, ValueError, TypeError, KeyError) as exc:
        # Everything read from the archive is the archive's fault; writing into `store` below keeps its own errors.
        raise ImportFormatError(
            f"{path} is a damaged HipSense archive ({type(exc).__name__}: {exc}); export the session again with "
            "`hipsense export SESSION --format hipsense`",
            path=str(path),
        ) from exc
    finally:
        src.close()
    new_id = write_session_copy(copy, store, name=name, extra_tags=tags, source_kind="import")
    info = store.get_session(new_id)
    return ImportResult(
        new_id,
        "hipsense-archive",
        0,
        sum(s.n_frames for s in info.sensors),
        info.duration_s or 0.0,
        [s.sensor_id for s in info.sensors],
        [],
    )


# ------------------------------------------------------------------------------------------- detection, import
def _is_sqlite(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return fh.read(16) == b"SQLite format 3\x00"
    except OSError:
        return False


def _first_line(text: str) -> str:
    """The header line of a CSV, lower-case: the first line that is neither blank nor a ``#`` comment (a HipSense
    CSV may start with comment lines, e.g. the ones ``hipsense simulate`` writes)."""
    for line in text.lstrip("\ufeff").splitlines():
        s = line.strip()
        if s and not s.startswith("#"):
            return s.lower()
    return ""


def detect_format(path: Path) -> str:
    """Guess the format from the file itself (never from the name alone)."""
    if not path.exists():
        raise ImportFormatError(f"{path} does not exist", path=str(path))
    if path.is_file() and path.stat().st_size == 0:
        raise ImportFormatError(f"{path} is empty; record again and export the data", path=str(path), line=1)
    if path.is_file() and _is_sqlite(path):
        return "hipsense-archive"
    if path.suffix.lower() == ".json":
        return "hipsense-json"
    files = _Files(path)
    try:
        heads = {}
        for n in files.names[:40]:
            heads[n] = _first_line(files.text(n))
    finally:
        files.close()
    own = heads.get(files.names[0], "") if path.is_file() and not zipfile.is_zipfile(path) else ""
    candidates = [own] if own else list(heads.values())
    if any(h.startswith("t_s") for h in candidates):
        return "hipsense-csv"
    if any("time (s)" in h for h in candidates):
        return "phyphox"
    if any(h.startswith("time,seconds_elapsed") or "seconds_elapsed" in h for h in candidates):
        return "sensor-logger"
    raise ImportFormatError(
        f"{path}: unknown format (first line {next(iter(candidates), '')!r}); give --format "
        "hipsense-csv|phyphox|sensor-logger|hipsense-json|hipsense-archive",
        path=str(path),
        line=1,
    )


def read_recording(
    path: Path, *, fmt: str = "auto", acc_unit: AccUnit | None = None, sensor_id: str | None = None
) -> Recording:
    """Read and check a file without touching any store (``acc_unit`` None: m/s^2, or what a HipSense CSV header
    declares)."""
    kind = detect_format(path) if fmt == "auto" else fmt
    unit: AccUnit = acc_unit or "mps2"
    readers: dict[str, Callable[[], Recording]] = {
        "hipsense-csv": lambda: read_hipsense_csv_file(path, acc_unit=acc_unit, sensor_id=sensor_id or "hip"),
        "phyphox": lambda: read_phyphox(path, acc_unit=unit, sensor_id=sensor_id or "phone"),
        "sensor-logger": lambda: read_sensor_logger(path, acc_unit=unit, sensor_id=sensor_id or "phone"),
        "hipsense-json": lambda: read_hipsense_json(path),
    }
    if kind not in readers:
        raise ImportFormatError(f"{path}: cannot read format {kind!r} here", path=str(path))
    return readers[kind]()


def import_file(
    store: Store,
    path: Path | str,
    *,
    fmt: str = "auto",
    acc_unit: AccUnit | None = None,
    axes: str | None = None,
    name: str | None = None,
    sensor_id: str | None = None,
    tags: Sequence[str] = (),
) -> ImportResult:
    """Import ``path`` into ``store`` as a new session (one transaction; nothing is left behind on failure)."""
    p = Path(path)
    kind = detect_format(p) if fmt == "auto" else fmt
    if kind == "hipsense-archive":
        return import_archive(store, p, name=name, tags=tags)
    rec = read_recording(p, fmt=kind, acc_unit=acc_unit, sensor_id=sensor_id)
    if axes:
        m = parse_axes(axes)
        for s in rec.streams:
            s.block = remap_axes(s.block, m)
            s.sensor.meta["axes"] = axes
    start = rec.start_epoch_s if rec.start_epoch_s is not None else _mtime_start(p, rec)
    frames: list[RawFrame] = []
    for s in rec.streams:
        host0 = start + float(s.block.t_s[0]) - float(min(x.block.t_s[0] for x in rec.streams))
        frames += imu_f64.frames_from_block(s.block, samples_per_frame=SAMPLES_PER_FRAME, host_t0_s=host0)
    frames.sort(key=lambda f: f.host_t_s)
    events = [PendingEvent(sid, new_session_uid() + new_session_uid(), ev) for sid, ev in rec.events]
    duration = max(float(s.block.t_s[-1] - s.block.t_s[0]) for s in rec.streams)
    meta = {"imported_from": str(p), "format": rec.format, "warnings": rec.warnings, **rec.meta}
    if axes:
        meta["axes"] = axes
    try:
        sid = store.write_session(
            name=name or rec.name or p.stem,
            source_kind="import",
            started_s=start,
            ended_s=start + duration,
            sensors=[s.sensor for s in rec.streams],
            frames=frames,
            events=events,
            tags=[*rec.tags, *tags],
            notes=rec.notes,
            meta=meta,
        )
    except sqlite3.Error as exc:  # pragma: no cover - store maps its own errors; belt and braces
        raise ImportFormatError(f"{p}: {exc}", path=str(p)) from exc
    return ImportResult(
        sid,
        rec.format,
        sum(len(s.block) for s in rec.streams),
        len(frames),
        duration,
        [s.sensor.sensor_id for s in rec.streams],
        rec.warnings,
    )


def _mtime_start(p: Path, rec: Recording) -> float:
    """Without a start time in the file: assume it ended when the file was written."""
    duration = max(float(s.block.t_s[-1] - s.block.t_s[0]) for s in rec.streams)
    return os.stat(p).st_mtime - duration
