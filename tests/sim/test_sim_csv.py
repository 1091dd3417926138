"""HipSense CSV: round trip and precise errors for bad files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sensor.errors import ImportFormatError
from sensor.model import ImuBlock
from sensor.sessions.hipsense_csv import CSV_COLUMNS, format_csv, parse_csv, read_csv, write_csv
from sensor.sim import Running, Scenario, Standing, simulate

HEADER = ",".join(CSV_COLUMNS)


@pytest.fixture(scope="module")
def block() -> ImuBlock:
    sc = Scenario(segments=[Standing(duration_s=3.0), Running(duration_s=5.0)], seed=2)
    return simulate(sc).block


def test_round_trip_keeps_every_sample_to_1e_6(tmp_path: Path, block: ImuBlock) -> None:
    path = tmp_path / "rec.csv"
    write_csv(path, block, comments=["made by a test"])
    back = read_csv(path)
    assert back.sensor_id == "rec"
    assert len(back) == len(block)
    np.testing.assert_allclose(back.t_s, block.t_s, atol=5e-7)
    np.testing.assert_allclose(back.acc_mps2, block.acc_mps2, atol=5e-7)
    assert back.gyr_radps is not None
    assert block.gyr_radps is not None
    np.testing.assert_allclose(back.gyr_radps, block.gyr_radps, atol=5e-7)
    assert path.read_text().splitlines()[1] == HEADER


def test_accelerometer_only_and_reordered_columns_with_extra_ones() -> None:
    text = "acc_z_mps2,t_s,note,acc_x_mps2,acc_y_mps2\n9.8,0.0,1,0.1,0.2\n9.7,0.01,2,0.1,0.3\n"
    blk = parse_csv(text)
    assert blk.gyr_radps is None
    np.testing.assert_allclose(blk.acc_mps2, [[0.1, 0.2, 9.8], [0.1, 0.3, 9.7]])
    np.testing.assert_allclose(blk.t_s, [0.0, 0.01])


def test_g_and_dps_columns_are_converted() -> None:
    text = "t_s,acc_x_g,acc_y_g,acc_z_g,gyr_x_dps,gyr_y_dps,gyr_z_dps\n0,0,0,1,180,0,0\n0.01,0,0,1,0,90,0\n"
    blk = parse_csv(text)
    np.testing.assert_allclose(blk.acc_mps2[:, 2], 9.80665)
    assert blk.gyr_radps is not None
    np.testing.assert_allclose(blk.gyr_radps[:, :2], [[np.pi, 0.0], [0.0, np.pi / 2]])


def _err(text: str) -> ImportFormatError:
    with pytest.raises(ImportFormatError) as ei:
        parse_csv(text, source="f.csv")
    assert ei.value.path == "f.csv"
    return ei.value


def test_empty_file() -> None:
    e = _err("")
    assert e.line == 1
    assert "empty" in str(e)
    e = _err("# only a comment\n\n")
    assert "empty" in str(e)


def test_header_without_samples() -> None:
    e = _err(HEADER + "\n")
    assert e.line == 2
    assert "no samples" in str(e)


def test_missing_column_names_the_column() -> None:
    e = _err("t_s,acc_x_mps2,acc_z_mps2\n0,0,9.8\n")
    assert (e.line, e.column) == (1, "acc_y_mps2")
    e = _err("time,acc_x_mps2,acc_y_mps2,acc_z_mps2\n0,0,0,9.8\n")
    assert e.column == "t_s"
    e = _err("t_s,acc_x_mps2,acc_y_mps2,acc_z_mps2,gyr_x_radps,gyr_y_radps\n0,0,0,9.8,0,0\n")
    assert e.column == "gyr_z_radps"


def test_bad_number_and_short_row_give_line_and_column() -> None:
    e = _err("# meta\n" + HEADER + "\n0,0,0,9.8,0,0,0\n0.01,0,abc,9.8,0,0,0\n")
    assert (e.line, e.column) == (4, "acc_y_mps2")
    assert "'abc'" in str(e)
    e = _err(HEADER + "\n0,0,0,9.8,0,0,0\n0.01,0,0,9.8,0,0\n")
    assert e.line == 3
    assert "6 fields" in str(e)


def test_nan_and_inf_are_refused() -> None:
    e = _err(HEADER + "\n0,0,0,9.8,0,0,0\n0.01,0,0,9.8,nan,0,0\n")
    assert (e.line, e.column) == (3, "gyr_x_radps")
    e = _err(HEADER + "\n0,0,0,inf,0,0,0\n")
    assert (e.line, e.column) == (2, "acc_z_mps2")


def test_non_monotonic_and_duplicated_timestamps() -> None:
    rows = "\n".join(f"{t},0,0,9.8,0,0,0" for t in (0.0, 0.01, 0.02, 0.015))
    e = _err(HEADER + "\n" + rows + "\n")
    assert (e.line, e.column) == (5, "t_s")
    assert "goes back" in str(e)
    rows = "\n".join(f"{t},0,0,9.8,0,0,0" for t in (0.0, 0.01, 0.01))
    e = _err(HEADER + "\n\n" + rows + "\n")  # a blank line does not confuse the line count
    assert e.line == 5
    assert "repeats" in str(e)


def test_acceleration_in_g_declared_as_mps2_is_caught_with_the_fix() -> None:
    rows = "\n".join(f"{i * 0.01},0.01,0.02,0.99,0,0,0" for i in range(50))
    e = _err(HEADER + "\n" + rows + "\n")
    assert "looks like g" in str(e)
    assert "--acc-unit g" in str(e)
    blk = parse_csv(HEADER + "\n" + rows + "\n", acc_unit="g")
    assert np.median(np.linalg.norm(blk.acc_mps2, axis=1)) == pytest.approx(9.80665 * 0.99, rel=1e-3)


def test_mps2_declared_as_g_and_dps_declared_as_radps() -> None:
    rows = "\n".join(f"{i * 0.01},0,0,9.8" for i in range(20))
    with pytest.raises(ImportFormatError, match="looks like m/s\\^2"):
        parse_csv("t_s,acc_x_g,acc_y_g,acc_z_g\n" + rows + "\n")
    rows = "\n".join(f"{i * 0.01},0,0,9.8,250,0,0" for i in range(20))
    with pytest.raises(ImportFormatError, match="deg/s"):
        parse_csv(HEADER + "\n" + rows + "\n")


def test_read_csv_reports_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ImportFormatError, match="cannot read"):
        read_csv(tmp_path / "nope.csv")


def test_format_csv_acc_only() -> None:
    blk = ImuBlock.from_arrays("a", [0.0, 0.5], [[0, 0, 9.8], [0, 0, 9.81]])
    assert format_csv(blk).splitlines() == [
        "t_s,acc_x_mps2,acc_y_mps2,acc_z_mps2",
        "0.000000,0.000000,0.000000,9.800000",
        "0.500000,0.000000,0.000000,9.810000",
    ]


def test_mixed_units_across_axes_are_refused() -> None:
    e = _err("t_s,acc_x_g,acc_y_mps2,acc_z_mps2\n0,0,0,9.8\n")
    assert (e.line, e.column) == (1, "acc_x_g")
    assert "mix units" in str(e)
