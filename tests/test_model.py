from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sensor.errors import DataValidationError, HipSenseError
from sensor.model import ImuBlock


def _block(n: int = 10, gyr: bool = True) -> ImuBlock:
    t = np.arange(n) / 104.0
    acc = np.tile([0.0, 0.0, 9.80665], (n, 1))
    return ImuBlock.from_arrays("s1", t, acc, np.zeros((n, 3)) if gyr else None)


def test_from_arrays_numbers_samples_and_freezes_arrays() -> None:
    b = _block(5)
    assert b.sample_index.tolist() == [0, 1, 2, 3, 4]
    assert b.n_missing == 0
    assert b.sampling_rate_hz == pytest.approx(104.0)
    with pytest.raises(ValueError, match="read-only"):
        b.acc_mps2[0, 0] = 1.0


def test_accelerometer_only_block_is_allowed() -> None:
    b = _block(4, gyr=False)
    assert not b.has_gyr
    assert len(b) == 4


def test_non_increasing_time_names_sample_and_fix() -> None:
    with pytest.raises(
        DataValidationError, match=r"sample 2 .*strictly increasing|strictly increasing.*sample 2"
    ) as ei:
        ImuBlock.from_arrays("s", [0.0, 0.1, 0.1], np.zeros((3, 3)))
    assert ei.value.field == "t_s"
    assert ei.value.index == 2
    assert isinstance(ei.value, HipSenseError)
    assert isinstance(ei.value, ValueError)


def test_nan_is_refused_with_index() -> None:
    acc = np.zeros((3, 3))
    acc[1, 2] = np.nan
    with pytest.raises(DataValidationError, match="sample 1") as ei:
        ImuBlock.from_arrays("s", [0.0, 0.1, 0.2], acc)
    assert ei.value.field == "acc_mps2"


def test_shape_mismatch_is_refused() -> None:
    with pytest.raises(DataValidationError, match="shape"):
        ImuBlock.from_arrays("s", [0.0, 0.1], np.zeros((3, 3)))


def test_concat_refuses_mixed_gyro() -> None:
    with pytest.raises(DataValidationError, match="gyroscope"):
        ImuBlock.concat([_block(3), ImuBlock.from_arrays("s1", [1.0], np.zeros((1, 3)))])


@given(st.lists(st.integers(min_value=1, max_value=17), min_size=1, max_size=20))
def test_chunks_concat_round_trip(sizes: list[int]) -> None:
    b = _block(50)
    parts = b.chunks(sizes)
    assert sum(len(p) for p in parts) == 50
    joined = ImuBlock.concat(parts)
    np.testing.assert_array_equal(joined.t_s, b.t_s)
    np.testing.assert_array_equal(joined.acc_mps2, b.acc_mps2)
    np.testing.assert_array_equal(joined.sample_index, b.sample_index)


def test_with_times_shares_samples_and_checks_only_the_new_times() -> None:
    b = _block(5)
    t_host = b.t_s + 1_700_000_000.0
    moved = b.with_times(t_host)
    np.testing.assert_array_equal(moved.t_s, t_host)
    assert moved.acc_mps2 is b.acc_mps2
    assert moved.sample_index is b.sample_index
    assert t_host.flags.writeable  # the caller's array is not frozen behind its back
    with pytest.raises(DataValidationError, match="strictly increasing") as ei:
        b.with_times(np.array([0.0, 0.1, 0.1, 0.2, 0.3]))
    assert ei.value.index == 2
    with pytest.raises(DataValidationError, match="needs 5 times"):
        b.with_times(np.zeros(4))
