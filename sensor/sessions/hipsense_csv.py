"""The HipSense CSV format: one IMU recording as plain text, written by ``hipsense simulate`` and read by imports.

Format (documented in ``docs/simulator.md``)::

    # optional comment lines (metadata), before the header only
    t_s,acc_x_mps2,acc_y_mps2,acc_z_mps2,gyr_x_radps,gyr_y_radps,gyr_z_radps
    0.000000,0.123456,-0.054321,9.806650,0.001000,-0.002000,0.000500
    ...

* one header row, then one row per sample, comma-separated, ``.`` as the decimal point;
* ``t_s``: time in seconds, strictly increasing; acceleration **with gravity** in m/s^2 and angular rate in
  rad/s, sensor frame (:mod:`sensor.frames`);
* the three gyroscope columns may be absent (accelerometer-only sources); column order is free; extra columns are
  ignored; the unit suffix may also be ``_g`` for acceleration or ``_dps`` for angular rate (converted on read).

Parsing and formatting are pure (:func:`parse_csv`, :func:`format_csv`); :func:`read_csv` / :func:`write_csv` are
the file wrappers. Errors are :class:`~sensor.errors.ImportFormatError` with the path, 1-based line and column.
"""

from __future__ import annotations

import io
import math
import os
import tempfile
import warnings
from pathlib import Path
from typing import Final, Literal

import numpy as np
from numpy.typing import NDArray

from sensor.errors import ImportFormatError
from sensor.frames import STANDARD_GRAVITY_MPS2
from sensor.model import ImuBlock

FloatArray = NDArray[np.float64]

CSV_COLUMNS: Final = (
    "t_s",
    "acc_x_mps2",
    "acc_y_mps2",
    "acc_z_mps2",
    "gyr_x_radps",
    "gyr_y_radps",
    "gyr_z_radps",
)
CSV_ACC_ONLY_COLUMNS: Final = CSV_COLUMNS[:4]
AccUnit = Literal["mps2", "g"]

_ACC_SUFFIX: Final[dict[str, float]] = {"mps2": 1.0, "g": STANDARD_GRAVITY_MPS2}
_GYR_SUFFIX: Final[dict[str, float]] = {"radps": 1.0, "dps": math.pi / 180.0}
_CHUNK_ROWS: Final = 20_000
MAX_ABS_VALUE: Final = 1e12
"""Larger values are no time in s, acceleration or rate (and would overflow the unit conversions and checks)."""


# ---------------------------------------------------------------------------------------------- writing
def format_csv(block: ImuBlock, *, comments: list[str] | None = None) -> str:
    """The CSV text of a block (``%.6f``: 1 us, 1e-6 m/s^2, 1e-6 rad/s resolution)."""
    cols = list(CSV_COLUMNS if block.gyr_radps is not None else CSV_ACC_ONLY_COLUMNS)
    parts = [f"# {c}\n" for c in comments or []]
    parts.append(",".join(cols) + "\n")
    data = np.column_stack([block.t_s, block.acc_mps2] + ([block.gyr_radps] if block.gyr_radps is not None else []))
    row_fmt = ",".join(["%.6f"] * len(cols)) + "\n"
    for i in range(0, data.shape[0], _CHUNK_ROWS):
        chunk = data[i : i + _CHUNK_ROWS]
        # one %-format call per chunk instead of a Python loop over rows
        parts.append((row_fmt * chunk.shape[0]) % tuple(chunk.ravel().tolist()))
    return "".join(parts)


def write_csv(path: str | Path, block: ImuBlock, *, comments: list[str] | None = None) -> None:
    """Write ``block`` as HipSense CSV (atomically: a temporary file renamed into place)."""
    p = Path(path)
    text = format_csv(block, comments=comments)
    fd, tmp = tempfile.mkstemp(dir=p.parent if str(p.parent) else ".", prefix=f".{p.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; a recording is an ordinary file
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# ---------------------------------------------------------------------------------------------- reading
def read_csv(path: str | Path, *, sensor_id: str | None = None, acc_unit: AccUnit | None = None) -> ImuBlock:
    """Read a HipSense CSV file into an :class:`ImuBlock` (``sensor_id`` defaults to the file's stem)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFormatError(
            f"{p}: not a UTF-8 text file (byte {exc.start}); HipSense CSV is plain text", path=str(p)
        ) from None
    except OSError as exc:
        raise ImportFormatError(f"cannot read {p}: {exc.strerror}; check the path", path=str(p)) from None
    return parse_csv(text, source=str(p), sensor_id=sensor_id or p.stem, acc_unit=acc_unit)


def _split_header(text: str, source: str) -> tuple[int, list[str], int]:
    """Line number of the header (1-based), its column names, and the character offset of the data."""
    offset = 0
    line_no = 0
    for raw in io.StringIO(text):
        line_no += 1
        line = raw.strip()
        offset += len(raw)
        if not line or line.startswith("#"):
            continue
        names = [c.strip() for c in line.split(",")]
        return line_no, names, offset
    raise ImportFormatError(
        f"{source}: empty file (no header row); a HipSense CSV starts with the header {','.join(CSV_COLUMNS)}",
        path=source,
        line=max(line_no, 1),
    )


def _resolve_columns(
    names: list[str], header_line: int, source: str, acc_unit: AccUnit | None
) -> tuple[dict[str, int], float, float | None, str, str | None]:
    """Column index per quantity and the unit factors; errors name the missing column."""
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        if name in seen:
            raise ImportFormatError(
                f"{source}: column {name!r} appears twice in the header; keep one",
                path=source,
                line=header_line,
                column=name,
            )
        seen[name] = i
    if "t_s" not in seen:
        raise ImportFormatError(
            f"{source}: the header has no 't_s' column (got {','.join(names)}); the first header column must be "
            f"t_s, time in seconds",
            path=source,
            line=header_line,
            column="t_s",
        )
    idx = {"t": seen["t_s"]}
    need_acc = f"HipSense CSV needs {','.join(CSV_ACC_ONLY_COLUMNS)}"
    acc_cols, acc_factor, acc_col = _triad(names, seen, "acc", _ACC_SUFFIX, header_line, source, need_acc)
    idx.update({f"acc_{a}": c for a, c in zip("xyz", acc_cols, strict=True)})
    if acc_unit is not None:
        acc_factor = _ACC_SUFFIX[acc_unit]
    gyr_factor: float | None = None
    gyr_col: str | None = None
    if any(n.startswith("gyr_") for n in seen):
        need_gyr = "the gyroscope needs all three columns: add it or drop the other gyr_ columns"
        gyr_cols, gyr_factor, gyr_col = _triad(names, seen, "gyr", _GYR_SUFFIX, header_line, source, need_gyr)
        idx.update({f"gyr_{a}": c for a, c in zip("xyz", gyr_cols, strict=True)})
    return idx, acc_factor, gyr_factor, acc_col, gyr_col


def _triad(
    names: list[str],
    seen: dict[str, int],
    quantity: str,
    units: dict[str, float],
    header_line: int,
    source: str,
    need: str,
) -> tuple[list[int], float, str]:
    """Column indices of ``<quantity>_x/y/z_<unit>``, the unit's factor to SI, and the x column's name.

    Errors name the first missing axis (with its SI column name), or say that the axes mix units.
    """
    si = next(iter(units))
    found: list[tuple[int, str]] = []
    for axis in "xyz":
        hits = [(seen[f"{quantity}_{axis}_{u}"], u) for u in units if f"{quantity}_{axis}_{u}" in seen]
        if not hits:
            raise ImportFormatError(
                f"{source}: missing column '{quantity}_{axis}_{si}' (header: {','.join(names)}); {need}",
                path=source,
                line=header_line,
                column=f"{quantity}_{axis}_{si}",
            )
        found.append(hits[0])
    used = {u for _, u in found}
    if len(used) > 1:
        raise ImportFormatError(
            f"{source}: the {quantity} columns mix units ({', '.join(sorted(used))}); use one unit for x, y and z",
            path=source,
            line=header_line,
            column=f"{quantity}_x_{found[0][1]}",
        )
    unit = found[0][1]
    return [c for c, _ in found], units[unit], f"{quantity}_x_{unit}"


def _locate_bad_row(body: str, header_line: int, n_cols: int, names: list[str], source: str) -> ImportFormatError:
    """Slow path, only after a fast parse failed: find the first bad line and say exactly what is wrong."""
    line_no = header_line
    for raw in io.StringIO(body):
        line_no += 1
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split(",")
        if len(fields) != n_cols:
            return ImportFormatError(
                f"{source}: line {line_no} has {len(fields)} fields but the header has {n_cols}; "
                f"every row needs one value per header column",
                path=source,
                line=line_no,
            )
        for name, value in zip(names, fields, strict=True):
            try:
                float(value)
            except ValueError:
                return ImportFormatError(
                    f"{source}: line {line_no}, column {name!r}: {value.strip()!r} is not a number; use a plain "
                    f"decimal number with '.' as the decimal point",
                    path=source,
                    line=line_no,
                    column=name,
                )
    return ImportFormatError(f"{source}: cannot parse the data rows; check the file", path=source)


def _row_lines(body: str, header_line: int) -> NDArray[np.int64]:
    """1-based file line of every data row (blank and comment lines skipped), for error messages."""
    out = []
    line_no = header_line
    for raw in io.StringIO(body):
        line_no += 1
        s = raw.strip()
        if s and not s.startswith("#"):
            out.append(line_no)
    return np.asarray(out, dtype=np.int64)


def parse_csv(text: str, *, source: str = "<csv>", sensor_id: str = "csv", acc_unit: AccUnit | None = None) -> ImuBlock:
    """Parse HipSense CSV text into an :class:`ImuBlock` (pure; ``source`` names the file in errors).

    Args:
        text: the whole file.
        source: file name for error messages.
        sensor_id: id of the resulting block.
        acc_unit: override the acceleration unit the header declares (``"g"`` for files whose acc columns hold g).
    """
    header_line, names, offset = _split_header(text, source)
    idx, acc_factor, gyr_factor, acc_col, gyr_col = _resolve_columns(names, header_line, source, acc_unit)
    body = text[offset:]
    if not body.strip():
        raise ImportFormatError(
            f"{source}: the file has a header but no samples; record some data first", path=source, line=header_line + 1
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "input contained no data": reported below
            data = np.loadtxt(io.StringIO(body), delimiter=",", comments="#", dtype=np.float64, ndmin=2)
    except ValueError:
        raise _locate_bad_row(body, header_line, len(names), names, source) from None
    if data.shape[0] == 0:
        raise ImportFormatError(
            f"{source}: the file has a header but only comment lines after it, no samples; record some data first",
            path=source,
            line=header_line + 1,
        )
    if data.shape[1] != len(names):
        raise _locate_bad_row(body, header_line, len(names), names, source)

    with np.errstate(invalid="ignore"):
        finite = np.abs(data) < MAX_ABS_VALUE  # also false for NaN and inf
    if not finite.all():
        row, col = (int(v) for v in np.argwhere(~finite)[0])
        line = int(_row_lines(body, header_line)[row])
        raise ImportFormatError(
            f"{source}: line {line}, column {names[col]!r}: {float(data[row, col])!r} is not a finite number below "
            f"{MAX_ABS_VALUE:g} in size; remove or interpolate that sample",
            path=source,
            line=line,
            column=names[col],
        )
    t_s = data[:, idx["t"]]
    dt = np.diff(t_s)
    bad = np.flatnonzero(~(dt > 0))
    if bad.size:
        row = int(bad[0]) + 1
        line = int(_row_lines(body, header_line)[row])
        what = "repeats" if dt[bad[0]] == 0 else "goes back from"
        raise ImportFormatError(
            f"{source}: line {line}: t_s={t_s[row]!r} {what} the previous t_s={t_s[row - 1]!r}; timestamps must be "
            f"strictly increasing (sort the rows and drop duplicates)",
            path=source,
            line=line,
            column="t_s",
        )
    acc = np.column_stack([data[:, idx[f"acc_{a}"]] for a in "xyz"]) * acc_factor
    _check_acc_unit(acc, acc_factor, acc_col, source)
    gyr = None
    if gyr_factor is not None:
        gyr = np.column_stack([data[:, idx[f"gyr_{a}"]] for a in "xyz"]) * gyr_factor
        _check_gyr_unit(gyr, gyr_col or "gyr_x_radps", source)
    return ImuBlock.from_arrays(sensor_id, t_s, acc, gyr)


def _check_acc_unit(acc_mps2: FloatArray, factor: float, column: str, source: str) -> None:
    """Gravity is in the data, so the median magnitude must be near 1 g; say which unit it looks like if not."""
    med = float(np.median(np.linalg.norm(acc_mps2, axis=1)))
    if 4.0 <= med <= 20.0:
        return
    raw = med / factor
    declared = "g" if factor != 1.0 else "m/s^2"
    if factor == 1.0 and 0.4 <= raw <= 2.0:
        hint = "it looks like g: pass --acc-unit g (acc_unit='g') or rename the columns acc_*_g"
    elif factor != 1.0 and 4.0 <= raw <= 20.0:
        hint = "it looks like m/s^2: pass --acc-unit mps2 (acc_unit='mps2') or rename the columns acc_*_mps2"
    elif 400.0 <= raw <= 2000.0:
        hint = "it looks like milli-g: divide the values by 1000 and use acc_*_g columns"
    else:
        hint = "check the unit; the accelerometer must include gravity (about 9.81 m/s^2 at rest)"
    raise ImportFormatError(
        f"{source}: median acceleration magnitude is {raw:.3g} {declared}, not about 1 g; {hint}",
        path=source,
        column=column,
    )


def _check_gyr_unit(gyr_radps: FloatArray, column: str, source: str) -> None:
    p99 = float(np.percentile(np.linalg.norm(gyr_radps, axis=1), 99))
    if p99 > 40.0:  # 2300 deg/s: beyond any IMU's range, so these are deg/s
        raise ImportFormatError(
            f"{source}: angular rates reach {p99:.0f} rad/s (99th percentile), beyond any IMU's range; they look "
            f"like deg/s: name the columns gyr_*_dps or convert to rad/s",
            path=source,
            column=column,
        )
