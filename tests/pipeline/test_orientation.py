"""Orientation filter on synthetic rotations with known truth, and on the simulator."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.transform import Rotation

from sensor.frames import STANDARD_GRAVITY_MPS2
from sensor.pipeline.orientation import GravityFilter, complementary_pair, pelvis_angles_deg
from tests.pipeline._sims import run_sim

FS = 200.0


def _synthetic(seconds: float = 40.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A body oscillating like a running pelvis, with world-frame running accelerations (0-3 g vertical)."""
    t = np.arange(0, seconds, 1 / FS)
    f = 1.4
    roll = np.radians(5 * np.sin(2 * np.pi * f * t))
    pitch = np.radians(3 * np.sin(4 * np.pi * f * t + 0.5))
    yaw = np.radians(8 * np.sin(2 * np.pi * f * t + 1.0))
    rot = Rotation.from_euler("ZXY", np.c_[yaw, roll, pitch])
    # body rates from the exact rotation between samples, at mid-interval (second-order accurate)
    rel = (rot[:-1].inv() * rot[1:]).as_rotvec() * FS
    w = np.empty((t.size, 3))
    w[1:-1] = (rel[:-1] + rel[1:]) / 2
    w[0], w[-1] = rel[0], rel[-1]
    lin = np.c_[3 * np.sin(4 * np.pi * f * t), 2 * np.sin(2 * np.pi * f * t + 0.3), 15 * np.sin(4 * np.pi * f * t)]
    acc = rot.inv().apply(lin + np.array([0.0, 0.0, STANDARD_GRAVITY_MPS2]))
    up = rot.inv().apply([0.0, 0.0, 1.0])
    return acc, w, up


def test_complementary_pair_sums_to_one() -> None:
    (b_l, a_l), (_b_g, a_g) = complementary_pair(100.0)
    # L(1) = 1 (unit DC gain) and G has no pole at z = 1 (the integrator cancelled)
    assert abs(np.sum(b_l) / np.sum(a_l) - 1) < 1e-12
    assert abs(np.sum(a_g)) > 1e-9


def test_roll_follows_the_rotation_through_running_accelerations() -> None:
    acc, w, up = _synthetic()
    u = GravityFilter(FS).feed(acc, w)
    roll, pitch = pelvis_angles_deg(u)
    roll_t, pitch_t = pelvis_angles_deg(up)
    s = int(10 * FS)  # after the start-up transient
    err = roll[s:] - roll_t[s:]
    # 15 m/s^2 vertical and 2 m/s^2 lateral sway at stride frequency: the obliquity error stays well inside the
    # 0.5 deg budget of the per-step drop (requirement: < 0.2 deg RMS)
    assert np.sqrt(np.mean(err**2)) < 0.2
    assert np.sqrt(np.mean((pitch[s:] - pitch_t[s:]) ** 2)) < 1.5


@settings(max_examples=10, deadline=None)
@given(st.lists(st.integers(1, 300), min_size=1, max_size=5))
def test_gravity_filter_is_chunk_invariant(sizes: list[int]) -> None:
    acc, w, _ = _synthetic(6.0)
    whole = GravityFilter(FS).feed(acc, w)
    g = GravityFilter(FS)
    parts, i, k = [], 0, 0
    while i < acc.shape[0]:
        n = sizes[k % len(sizes)]
        parts.append(g.feed(acc[i : i + n], w[i : i + n]))
        i += n
        k += 1
    np.testing.assert_array_equal(np.concatenate(parts), whole)


def test_block_lowpass_matches_the_full_rate_lowpass() -> None:
    """The low-pass on 8-sample block means (quadratic extrapolation to the samples) gives the up vector of the
    low-pass run at every sample within 0.01 deg, through running accelerations and fast pelvis rotations."""
    acc, w, _ = _synthetic(20.0)
    for gyr in (w, None):
        blocks = GravityFilter(FS, block=8).feed(acc, gyr)
        full = GravityFilter(FS, block=1).feed(acc, gyr)
        cos = np.clip(np.einsum("ij,ij->i", blocks, full), -1.0, 1.0)
        assert float(np.degrees(np.arccos(cos)).max()) < 0.01


def test_gravity_filter_reset_restarts_the_block_grid() -> None:
    """After reset() the filter is the same as a new one, also when the reset falls inside a block."""
    acc, w, _ = _synthetic(3.0)
    g = GravityFilter(FS)
    g.feed(acc[:101], w[:101])
    g.reset()
    np.testing.assert_array_equal(g.feed(acc[101:], w[101:]), GravityFilter(FS).feed(acc[101:], w[101:]))


def test_sim_obliquity_with_true_mounting_and_bias() -> None:
    res = run_sim(realistic=True)
    b, tr = res.block, res.truth
    gyr = b.gyr_radps - tr.gyr_bias_at(b.t_s)
    u = GravityFilter(104.0).feed(b.acc_mps2, gyr)
    roll, _ = pelvis_angles_deg(u @ tr.r_pelvis_from_sensor.T)
    truth = tr.roll_deg[b.sample_index]
    run = tr.activity[b.sample_index] == "running"
    quiet = tr.quiet_standing[b.sample_index]
    err = roll - truth
    # relative to quiet standing (what the drop's neutral removes), running obliquity is right within 0.15 deg
    assert abs(err[run].mean() - err[quiet].mean()) < 0.15
    assert err[run].std() < 0.15


def test_long_input_in_blocks_equals_small_chunks() -> None:
    """GravityFilter.feed cuts inputs longer than its block size into blocks: the same numbers as small chunks."""
    rng = np.random.default_rng(4)
    n = 80_000  # more than two blocks
    acc = rng.normal(size=(n, 3)) * 3.0 + np.array([0.0, 0.0, STANDARD_GRAVITY_MPS2])
    gyr = rng.normal(size=(n, 3)) * 0.5
    whole = GravityFilter(208.0).feed(acc, gyr)
    f = GravityFilter(208.0)
    chunked = np.concatenate([f.feed(acc[i : i + 997], gyr[i : i + 997]) for i in range(0, n, 997)])
    np.testing.assert_array_equal(whole, chunked)
    acc_only = GravityFilter(208.0).feed(acc, None)
    g = GravityFilter(208.0)
    np.testing.assert_array_equal(
        acc_only, np.concatenate([g.feed(acc[i : i + 5000], None) for i in range(0, n, 5000)])
    )


def _chunked(g: GravityFilter, acc: np.ndarray, gyr: np.ndarray | None, sizes: list[int]) -> np.ndarray:
    parts, i, k = [], 0, 0
    while i < acc.shape[0]:
        n = sizes[k % len(sizes)]
        parts.append(g.feed(acc[i : i + n], None if gyr is None else gyr[i : i + n]))
        i += n
        k += 1
    return np.concatenate(parts)


def test_gravity_filter_chunks_bit_for_bit_on_every_block_path() -> None:
    """Chunks within one block (head and tail of the same block), single whole blocks, chunks ending on and across
    block boundaries, and chunks of more than 64 blocks (other sum and copy paths) give the same bits as one call
    (compared as integers: signs of zeros too), with and without gyroscope."""
    acc, w, _ = _synthetic(8.0)
    acc = acc.copy()
    # a still start with exact signed zeros in the block sums
    acc[:120] = np.array([0.0, -0.0, STANDARD_GRAVITY_MPS2])
    w = w.copy()
    w[:120] = -0.0
    sizes = [1, 7, 8, 3, 5, 16, 9, 600, 13, 2, 530, 4, 8, 24]
    for gyr in (w, None):
        whole = GravityFilter(FS).feed(acc, gyr)
        chunked = _chunked(GravityFilter(FS), acc, gyr, sizes)
        np.testing.assert_array_equal(chunked.view(np.int64), whole.view(np.int64))
