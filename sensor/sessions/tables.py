"""Reading numeric CSV tables of phone-recorder exports, with errors that name the file, line and column.

Pure functions over text; the importers do the file and zip I/O. A fast path parses with ``numpy.loadtxt``;
when it fails a slow pass with the ``csv`` module finds the exact line and column to report.
"""

from __future__ import annotations

import csv
import io
import warnings
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from sensor.errors import ImportFormatError

MAX_ABS_VALUE = 1e12
"""Larger values are no time in s, acceleration or rate (and would overflow the unit conversions and checks)."""


@dataclass(frozen=True, slots=True)
class Table:
    """A numeric table: ``columns`` are the header names, ``data`` has shape ``(rows, len(columns))``.

    Row ``i`` of ``data`` is on line ``i + 2`` of the file (line 1 is the header).
    """

    path: str
    columns: list[str]
    data: NDArray[np.float64]

    def col(self, name: str) -> NDArray[np.float64]:
        """The values of column ``name`` (matched case-insensitively, like :meth:`find` and :meth:`require`)."""
        return self.data[:, self.columns.index(self.require(name, what="column"))]

    def find(self, *candidates: str) -> str | None:
        """The first header among ``candidates`` (case-insensitive), or ``None``."""
        lower = {c.lower(): c for c in self.columns}
        for cand in candidates:
            if cand.lower() in lower:
                return lower[cand.lower()]
        return None

    def require(self, *candidates: str, what: str) -> str:
        name = self.find(*candidates)
        if name is None:
            raise ImportFormatError(
                f"{self.path}: missing column {candidates[0]!r} ({what}); the header has {self.columns}. "
                "Export the file again from the app without changing it",
                path=self.path,
                line=1,
                column=candidates[0],
            )
        return name


def _sniff(header: str) -> tuple[str, bool]:
    """(delimiter, decimal_comma) from the header line; phyphox offers comma, tab and semicolon variants."""
    if "\t" in header:
        return "\t", False
    if ";" in header:
        return ";", True  # phyphox's "semicolon, decimal comma" export (Excel style)
    return ",", False


def parse_table(text: str, path: str) -> Table:
    """Parse ``text`` (a header line then numeric rows) into a :class:`Table`."""
    stripped = text.lstrip("\ufeff")
    lines = stripped.splitlines()
    if not lines or not lines[0].strip():
        raise ImportFormatError(f"{path} is empty; record again and export the data", path=path, line=1)
    delim, decimal_comma = _sniff(lines[0])
    columns = [c.strip().strip('"') for c in next(csv.reader([lines[0]], delimiter=delim))]
    body = "\n".join(lines[1:])
    if decimal_comma:
        body = body.replace(",", ".")
    if not body.strip():
        raise ImportFormatError(
            f"{path} has a header but no data rows; the recording is empty", path=path, line=2, column=None
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "input contained no data": reported below
            data = np.loadtxt(io.StringIO(body), delimiter=delim, dtype=np.float64, ndmin=2, quotechar='"')
    except ValueError:
        _locate_bad_cell(body, delim, columns, path)
        raise  # _locate_bad_cell always raises; keeps type checkers content
    if data.shape[0] == 0:
        raise ImportFormatError(
            f"{path} has a header but only '#' comment lines after it, no data rows; the recording is empty",
            path=path,
            line=2,
        )
    if data.shape[1] != len(columns):
        raise ImportFormatError(
            f"{path}: rows have {data.shape[1]} values but the header names {len(columns)} columns {columns}",
            path=path,
            line=2,
        )
    return Table(path, columns, data)


def _locate_bad_cell(body: str, delim: str, columns: list[str], path: str) -> None:
    for i, row in enumerate(csv.reader(io.StringIO(body), delimiter=delim)):
        line = i + 2
        if not row:
            continue
        if len(row) != len(columns):
            raise ImportFormatError(
                f"{path}, line {line}: {len(row)} values but the header names {len(columns)} columns; the file is "
                "cut or edited, export it again",
                path=path,
                line=line,
            )
        for name, cell in zip(columns, row, strict=True):
            try:
                float(cell)
            except ValueError:
                raise ImportFormatError(
                    f"{path}, line {line}, column {name!r}: {cell!r} is not a number; fix or delete that row",
                    path=path,
                    line=line,
                    column=name,
                ) from None
    raise ImportFormatError(f"{path}: cannot parse the numbers; export it again", path=path)


def check_finite(table: Table, names: list[str]) -> None:
    for name in names:
        v = table.col(name)
        with np.errstate(invalid="ignore"):
            bad = np.flatnonzero(~(np.abs(v) < MAX_ABS_VALUE))  # NaN, inf, and sizes no sensor or clock gives
        if bad.size:
            i = int(bad[0])
            raise ImportFormatError(
                f"{table.path}, line {i + 2}, column {name!r}: {float(v[i])!r} (NaN or inf, or beyond "
                f"{MAX_ABS_VALUE:g}); {bad.size} such values. Delete those rows or interpolate them before importing",
                path=table.path,
                line=i + 2,
                column=name,
            )


def check_time(table: Table, name: str) -> None:
    """Timestamps must be finite and strictly increasing; the error names the first offending line."""
    check_finite(table, [name])
    t = table.col(name)
    if t.size < 2:
        raise ImportFormatError(
            f"{table.path}: only {t.size} sample; a session needs at least two", path=table.path, line=2, column=name
        )
    dt = np.diff(t)
    bad = np.flatnonzero(dt <= 0)
    if bad.size:
        i = int(bad[0]) + 1
        kind = "duplicated" if dt[i - 1] == 0 else "going backwards"
        raise ImportFormatError(
            f"{table.path}, line {i + 2}, column {name!r}: timestamp {t[i]!r} after {t[i - 1]!r} on line {i + 1} "
            f"is {kind} ({bad.size} such rows); timestamps must strictly increase. Sort the rows and drop the "
            "duplicates",
            path=table.path,
            line=i + 2,
            column=name,
        )
