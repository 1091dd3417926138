"""WitMotion WT901BLE codec: documented frames, timing from receive times, commands, impersonation round trip."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sensor.errors import ConfigError, PacketError
from sensor.frames import STANDARD_GRAVITY_MPS2
from sensor.model import ImuBlock, RawFrame
from sensor.protocol import witmotion as wm

# The vendor's documented example: 55 61 35 FF 59 FF 0A 08 ... -> ax -0.099 g, ay -0.082 g, az 1.005 g
EXAMPLE = bytes.fromhex("5561 35FF 59FF 0A08".replace(" ", "")) + bytes(12)


def _frame(payload: bytes, t: float) -> RawFrame:
    return RawFrame("wit", t, payload, wm.NOTIFY_UUID)


def _sample_frame(ints: list[int]) -> bytes:
    return bytes((0x55, 0x61)) + np.array(ints, dtype="<i2").tobytes()


def test_documented_example_frame() -> None:
    block = wm.make_decoder("wit").decode(_frame(EXAMPLE, 10.0))
    assert block is not None
    acc_g = block.acc_mps2[0] / STANDARD_GRAVITY_MPS2
    # the vendor rounds to 3 decimals; the exact values are -203/2048, -167/2048, 2058/2048 g
    np.testing.assert_allclose(acc_g, [-0.099, -0.082, 1.005], atol=5e-4)
    np.testing.assert_allclose(acc_g, np.array([-203, -167, 2058]) / 2048.0, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(block.gyr_radps, np.zeros((1, 3)))


def test_gyro_and_angle_scales() -> None:
    frames = wm.parse_notification(_sample_frame([0, 0, 2048, 16384, -16384, 1638, 16384, -8192, 32767]))
    np.testing.assert_allclose(frames.acc_g[0], [0, 0, 1.0])
    np.testing.assert_allclose(frames.gyr_dps[0], [1000.0, -1000.0, 1638 * 2000 / 32768])
    np.testing.assert_allclose(frames.angle_deg[0], [90.0, -45.0, 32767 * 180 / 32768])


def test_concatenated_frames_and_register_replies() -> None:
    reply = wm.encode_register_reply(0x64, (3950,))  # battery register read
    payload = EXAMPLE + reply + _sample_frame([0, 0, 2048, 0, 0, 0, 0, 0, 0]) + EXAMPLE
    frames = wm.parse_notification(payload)
    assert frames.n_samples == 3
    assert frames.registers == ((0x64, (3950, 0, 0, 0, 0, 0, 0, 0)),)
    np.testing.assert_allclose(frames.acc_g[1], [0, 0, 1.0])
    dec = wm.make_decoder("wit")
    assert dec.decode(_frame(reply + reply, 1.0)) is None
    block = dec.decode(_frame(payload, 1.0))
    assert block is not None
    assert len(block) == 3
    assert block.sample_index.tolist() == [0, 1, 2]


@pytest.mark.parametrize(
    ("payload", "reason", "offset"),
    [
        (b"", "short", 0),
        (EXAMPLE[:19], "length", 0),
        (EXAMPLE + EXAMPLE[:5], "length", 20),
        (EXAMPLE + b"\x54" + EXAMPLE[1:], "header", 20),
        (EXAMPLE[:1] + b"\x62" + EXAMPLE[2:], "frame_type", 1),
    ],
)
def test_malformed_notifications(payload: bytes, reason: str, offset: int) -> None:
    with pytest.raises(PacketError) as info:
        wm.make_decoder("wit").decode(_frame(payload, 0.0))
    assert (info.value.reason, info.value.offset, info.value.sensor_type) == (reason, offset, "witmotion")


def _stream(
    n_notifications: int,
    rate_hz: float,
    *,
    true_rate_hz: float | None = None,
    jitter_s: float = 0.0,
    drop: frozenset[int] = frozenset(),
    seed: int = 0,
) -> tuple[list[RawFrame], np.ndarray]:
    """One sample per notification; sample k made at k / true_rate, received after a random latency."""
    rng = np.random.default_rng(seed)
    true_rate = true_rate_hz or rate_hz
    made = 1000.0 + np.arange(n_notifications) / true_rate
    received = made + 0.004 + rng.uniform(0, jitter_s, n_notifications)
    received = np.maximum.accumulate(received)  # BLE delivers in order
    frames = [_frame(EXAMPLE, float(received[k])) for k in range(n_notifications) if k not in drop]
    return frames, received


def _decode_all(frames: list[RawFrame], **settings: float) -> ImuBlock:
    dec = wm.make_decoder("wit", **settings)
    blocks = [b for f in frames if (b := dec.decode(f)) is not None]
    return ImuBlock.concat(blocks)


def test_steady_stream_with_jitter_has_no_false_loss() -> None:
    frames, received = _stream(3000, 50.0, jitter_s=0.03)
    block = _decode_all(frames, sampling_rate_hz=50.0)
    assert block.n_missing == 0
    assert np.all(np.diff(block.t_s) > 0)
    assert np.all(block.t_s <= received + 1e-9)  # never timestamped after it arrived
    assert abs(block.sampling_rate_hz - 50.0) < 0.5


@pytest.mark.parametrize("true_rate_hz", [99.0, 101.0])
def test_clock_drift_of_one_percent_is_tracked_not_reported_as_loss(true_rate_hz: float) -> None:
    frames, received = _stream(12000, 100.0, true_rate_hz=true_rate_hz, jitter_s=0.01)
    block = _decode_all(frames, sampling_rate_hz=100.0)
    assert block.n_missing == 0
    assert np.all(np.diff(block.t_s) > 0)
    # timestamps stay within a connection interval or two of the receive times after two minutes
    assert np.max(np.abs(block.t_s - received)) < 0.06


def test_long_loss_is_inferred_from_the_receive_gap() -> None:
    dropped = frozenset(range(1000, 1040))  # 40 samples = 0.8 s at 50 Hz
    frames, _ = _stream(2000, 50.0, jitter_s=0.005, drop=dropped)
    block = _decode_all(frames, sampling_rate_hz=50.0)
    assert block.n_missing == 40
    i = int(np.flatnonzero(block.missing_before)[0])
    assert i == 1000
    assert block.sample_index[-1] == 1999


def test_short_loss_is_invisible_as_documented() -> None:
    frames, _ = _stream(2000, 50.0, drop=frozenset(range(500, 505)))  # 0.1 s < loss_tolerance_s
    block = _decode_all(frames, sampling_rate_hz=50.0)
    assert len(block) == 1995
    assert block.n_missing == 0


def test_bursty_delivery_keeps_times_increasing() -> None:
    # three notifications per 60 ms connection event, all received at its end
    recv = 5.04 + 0.06 * (np.arange(900) // 3)
    frames = [_frame(EXAMPLE, float(t)) for t in recv]
    block = _decode_all(frames, sampling_rate_hz=50.0)
    assert block.n_missing == 0
    assert np.all(np.diff(block.t_s) > 0)
    # the first event cannot be told apart from a stalled host clock; from the second on, times are causal
    assert np.all(block.t_s[3:] <= recv[3:] + 1e-9)
    assert abs(np.mean(np.diff(block.t_s[3:])) - 0.02) < 1e-4


def test_commands() -> None:
    assert bytes.fromhex("FFAA6988B5") == wm.UNLOCK
    assert bytes.fromhex("FFAA000000") == wm.SAVE
    assert wm.encode_set_rate(100.0) == bytes.fromhex("FFAA030900")
    assert wm.encode_set_rate(200) == bytes.fromhex("FFAA030B00")
    assert wm.encode_read_register(0x64) == bytes.fromhex("FFAA276400")
    with pytest.raises(ConfigError, match=r"208\.0 Hz; use one of \[10\.0, 20\.0, 50\.0, 100\.0, 200\.0\]"):
        wm.encode_set_rate(208.0)
    cmd = wm.parse_command(wm.encode_set_rate(20.0))
    assert cmd.rate_hz == 20.0
    assert wm.parse_command(wm.UNLOCK).is_unlock
    assert wm.parse_command(wm.SAVE).is_save
    writes = wm.start_writes(sampling_rate_hz=100.0)
    assert [w.data for w in writes] == [wm.UNLOCK, bytes.fromhex("FFAA030900")]
    assert all(w.char_uuid == wm.WRITE_UUID for w in writes)
    assert wm.start_writes() == ()


def test_bad_settings_name_the_fix() -> None:
    with pytest.raises(ConfigError, match="sampling_rate_hz"):
        wm.make_decoder("wit", rate=50)
    with pytest.raises(ConfigError, match="out of range"):
        wm.make_decoder("wit", sampling_rate_hz=-1.0)


@settings(max_examples=40, deadline=None)
@given(
    acc_g=st.lists(st.tuples(*[st.floats(-15.9, 15.9)] * 3), min_size=1, max_size=30),
    gyr_dps=st.lists(st.tuples(*[st.floats(-1990, 1990)] * 3), min_size=30, max_size=30),
    per_notification=st.integers(1, 12),
)
def test_impersonation_round_trip(
    acc_g: list[tuple[float, float, float]], gyr_dps: list[tuple[float, float, float]], per_notification: int
) -> None:
    n = len(acc_g)
    acc = np.array(acc_g) * STANDARD_GRAVITY_MPS2
    gyr = np.deg2rad(np.array(gyr_dps[:n]))
    block = ImuBlock.from_arrays("wit", np.arange(n) / 50.0, acc, gyr)
    dec = wm.make_decoder("wit", sampling_rate_hz=50.0)
    notes = wm.encode_block(block, frames_per_notification=per_notification)
    assert all(len(p) <= 20 * per_notification for p in notes)
    out = ImuBlock.concat(
        [b for i, p in enumerate(notes) if (b := dec.decode(_frame(p, 100.0 + 0.02 * per_notification * i)))]
    )
    half_lsb_acc = 16 / 32768 / 2 * STANDARD_GRAVITY_MPS2
    half_lsb_gyr = np.deg2rad(2000 / 32768 / 2)
    np.testing.assert_allclose(out.acc_mps2, acc, rtol=0, atol=half_lsb_acc + 1e-12)
    assert out.gyr_radps is not None
    np.testing.assert_allclose(out.gyr_radps, gyr, rtol=0, atol=half_lsb_gyr + 1e-12)
    assert out.sample_index.tolist() == list(range(n))


def test_encoder_saturates_out_of_range_values() -> None:
    acc = np.array([[40 * STANDARD_GRAVITY_MPS2, -40 * STANDARD_GRAVITY_MPS2, 0.0]])
    frames = wm.parse_notification(wm.encode_samples(acc))
    np.testing.assert_allclose(frames.acc_g[0], [32767 / 2048, -16.0, 0.0])


def test_impersonated_register_read() -> None:
    answer, command = wm.answer_command(wm.encode_read_register(0x64), {0x64: 3950, 0x65: -2})
    assert command.register == wm.REG_READ
    assert answer is not None
    assert wm.parse_notification(answer).registers == ((0x64, (3950, -2, 0, 0, 0, 0, 0, 0)),)
    assert wm.answer_command(wm.UNLOCK, {}) == (None, wm.WitCommand(0x69, 0xB588))
