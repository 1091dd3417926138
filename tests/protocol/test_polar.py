"""Polar PMD codec: the SDK's documented frames, control point, timing and loss, ACC+GYRO merge, round trips."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sensor.errors import ConfigError, PacketError
from sensor.frames import STANDARD_GRAVITY_MPS2
from sensor.model import ImuBlock, RawFrame
from sensor.protocol import polar
from sensor.protocol.polar import ControlOp, MeasurementType, SettingType

G = STANDARD_GRAVITY_MPS2
RAW_HEADER = bytes.fromhex("02009435770000000001")  # ACC, t = 2,000,000,000 ns, frame type 1 (SDK test)
RAW_DATA = bytes.fromhex("F7FFFFFFE703F8FFFEFFE503")  # (-9, -1, 999) mg, (-8, -2, 997) mg
COMPRESSED_HEADER = bytes.fromhex("02009435770000000080")
REFERENCE = bytes.fromhex("7107F06A9E8D")  # (1905, 27376, -29282)
FIRST_DELTA = bytes.fromhex("BE5CBEBA")  # 10-bit deltas (+190, -105, -85)


def _data(payload: bytes, host_t_s: float = 0.0) -> RawFrame:
    return RawFrame("pol", host_t_s, payload, polar.PMD_DATA_UUID)


def _control(payload: bytes) -> RawFrame:
    return RawFrame("pol", 0.0, payload, polar.PMD_CONTROL_UUID)


def test_sdk_raw_acc_frame() -> None:
    frame = polar.parse_frame(RAW_HEADER + RAW_DATA)
    assert (frame.measurement, frame.t_last_ns, frame.frame_type, frame.compressed) == (2, 2_000_000_000, 1, False)
    assert frame.samples.tolist() == [[-9, -1, 999], [-8, -2, 997]]
    block = polar.make_decoder("pol", model="h10", sampling_rate_hz=52.0).decode(_data(RAW_HEADER + RAW_DATA))
    assert block is not None
    assert block.gyr_radps is None
    np.testing.assert_allclose(block.acc_mps2, np.array([[-9, -1, 999], [-8, -2, 997]]) * 1e-3 * G)
    # first frame: the last sample at the frame's timestamp, the earlier one a nominal interval before
    np.testing.assert_allclose(block.t_s, [2.0 - 1 / 52, 2.0], rtol=0, atol=1e-12)


def test_sdk_compressed_frame_reference_and_first_delta() -> None:
    # block header 0A 38: 10-bit deltas, 56 samples; the SDK test's first delta sample, then 55 zero deltas
    deltas = FIRST_DELTA + bytes(10 * 3 * 56 // 8 - len(FIRST_DELTA))
    frame = polar.parse_frame(COMPRESSED_HEADER + REFERENCE + bytes.fromhex("0A38") + deltas)
    assert frame.compressed
    assert frame.samples.shape == (57, 3)
    assert frame.samples[0].tolist() == [1905, 27376, -29282]
    assert frame.samples[1].tolist() == [1905 + 190, 27376 - 105, -29282 - 85]
    # scaled with the example's factor 2.44e-4 g per count, as the sensor states it in its start response
    dec = polar.make_decoder("pol", model="h10", sampling_rate_hz=52.0)
    factor = polar.encode_settings({SettingType.FACTOR: 2.44e-4})
    dec.decode(_control(polar.encode_response(ControlOp.START, MeasurementType.ACC, parameters=factor)))
    block = dec.decode(_data(COMPRESSED_HEADER + REFERENCE + bytes.fromhex("0A38") + deltas))
    assert block is not None
    mg = block.acc_mps2[:2] / G * 1000.0
    np.testing.assert_allclose(mg[0], [464.82, 6679.74, -7144.81], atol=0.01)
    np.testing.assert_allclose(mg[1], [511.18, 6654.12, -7165.55], atol=0.01)


def test_compressed_multi_block_cumulative_sums() -> None:
    samples = np.array([[0, 0, 0], [1, -1, 3], [2, -2, 6], [300, -300, 900], [-32768, 32767, 0]])
    payload = polar.encode_frame(MeasurementType.ACC, 10**9, samples, compressed=True)
    assert polar.parse_frame(payload).samples.tolist() == samples.tolist()


def test_start_stop_and_settings_commands() -> None:
    verity = polar.start_writes(model="verity_sense", sampling_rate_hz=52.0)
    assert [w.data.hex(" ") for w in verity] == [
        "02 02 00 01 34 00 01 01 10 00 02 01 08 00 04 01 03",  # ACC 52 Hz, 16 bit, 8 g, 3 channels
        "02 05 00 01 34 00 01 01 10 00 02 01 d0 07 04 01 03",  # GYRO 52 Hz, 16 bit, 2000 dps, 3 channels
    ]
    assert all(w.char_uuid == polar.PMD_CONTROL_UUID and w.with_response for w in verity)
    h10 = polar.start_writes(**polar.settings_for_name("Polar H10 12345678"))
    assert [w.data.hex(" ") for w in h10] == ["02 02 00 01 c8 00 01 01 10 00 02 01 08 00"]
    assert [w.data for w in polar.stop_writes(model="h10")] == [bytes((3, 2))]
    assert polar.encode_get_settings(MeasurementType.GYRO) == bytes((1, 5))
    cmd = polar.parse_command(verity[1].data)
    assert (cmd.op, cmd.measurement) == (ControlOp.START, MeasurementType.GYRO)
    assert cmd.settings == {
        SettingType.SAMPLE_RATE: (52,),
        SettingType.RESOLUTION: (16,),
        SettingType.RANGE: (2000,),
        SettingType.CHANNELS: (3,),
    }


def test_get_settings_response_lists_available_values() -> None:
    # H10-style answer: rates 25/50/100/200 Hz, resolution 16, ranges 2/4/8 g
    params = bytes.fromhex("00 04 1900 3200 6400 C800 01 01 1000 02 03 0200 0400 0800".replace(" ", ""))
    response = polar.parse_response(
        polar.encode_response(ControlOp.GET_SETTINGS, MeasurementType.ACC, parameters=params)
    )
    assert response.ok
    assert response.settings() == {
        SettingType.SAMPLE_RATE: (25, 50, 100, 200),
        SettingType.RESOLUTION: (16,),
        SettingType.RANGE: (2, 4, 8),
    }
    assert polar.parse_features(polar.encode_features((MeasurementType.ACC, MeasurementType.GYRO))) == {2, 5}


def test_factor_from_the_start_response_scales_compressed_frames() -> None:
    dec = polar.make_decoder("pol", model="h10", sampling_rate_hz=50.0)
    factor = polar.encode_settings({SettingType.FACTOR: 1e-3})
    assert dec.decode(_control(polar.encode_response(ControlOp.START, MeasurementType.ACC, parameters=factor))) is None
    payload = polar.encode_frame(MeasurementType.ACC, 10**9, np.array([[1000, 0, -500]]), compressed=True)
    block = dec.decode(_data(payload))
    assert block is not None
    np.testing.assert_allclose(block.acc_mps2[0], [G, 0.0, -0.5 * G], rtol=1e-6)


@pytest.mark.parametrize(
    ("measurement", "factor"),
    [
        (MeasurementType.ACC, 1e30),  # full scale 3e34 g
        (MeasurementType.ACC, 1e-9),  # full scale 3e-5 g: every sample would read ~0
        (MeasurementType.ACC, 0.0),
        (MeasurementType.ACC, -2.44e-4),
        (MeasurementType.ACC, float("nan")),
        (MeasurementType.GYRO, float("inf")),
        (MeasurementType.GYRO, 10.0),  # full scale 327,670 deg/s
    ],
)
def test_an_implausible_factor_is_a_typed_error_and_the_previous_scale_stays(
    measurement: MeasurementType, factor: float
) -> None:
    dec = polar.make_decoder("pol", model="h10", sampling_rate_hz=50.0)
    before = dict(dec.factors)
    bad = polar.encode_settings({SettingType.FACTOR: factor})
    with pytest.raises(PacketError, match=r"factor of .* per count .*outside the plausible") as info:
        dec.decode(_control(polar.encode_response(ControlOp.START, measurement, parameters=bad)))
    assert (info.value.reason, info.value.sensor_type) == ("factor", "polar")
    assert dec.factors == before


def test_refused_start_is_a_typed_error_naming_the_reason() -> None:
    dec = polar.make_decoder("pol")
    refused = polar.encode_response(ControlOp.START, MeasurementType.ACC, polar.PmdError.INVALID_SAMPLE_RATE)
    with pytest.raises(PacketError, match="INVALID_SAMPLE_RATE") as info:
        dec.decode(_control(refused))
    assert (info.value.reason, info.value.sensor_type) == ("control_error", "polar")


def _acc_frames(n_frames: int, per_frame: int, rate_hz: float, *, t0_ns: int = 5 * 10**9) -> list[bytes]:
    frames = []
    for k in range(n_frames):
        counts = np.full((per_frame, 3), k % 100, dtype=np.int64)
        t_last = t0_ns + round(((k + 1) * per_frame - 1) * 1e9 / rate_hz)
        frames.append(polar.encode_frame(MeasurementType.ACC, t_last, counts))
    return frames


def test_samples_are_spread_between_frame_timestamps() -> None:
    dec = polar.make_decoder("pol", model="h10", sampling_rate_hz=200.0)
    first = polar.encode_frame(MeasurementType.ACC, 10**9, np.zeros((4, 3), np.int64))
    second = polar.encode_frame(MeasurementType.ACC, 10**9 + 20_400_000, np.zeros((4, 3), np.int64))
    b1, b2 = dec.decode(_data(first)), dec.decode(_data(second))
    assert b1 is not None
    assert b2 is not None
    np.testing.assert_allclose(b1.t_s, 1.0 - np.arange(3, -1, -1) * 0.005, atol=1e-12)
    np.testing.assert_allclose(b2.t_s, 1.0 + np.arange(1, 5) * 0.0051, atol=1e-12)
    assert b2.sample_index.tolist() == [4, 5, 6, 7]


@pytest.mark.parametrize("true_rate_hz", [52.0, 52.4, 51.6])
def test_lost_frames_are_counted_exactly_from_timestamps(true_rate_hz: float) -> None:
    frames = _acc_frames(400, 36, true_rate_hz)
    lost = {17, 18, 150, 399 - 1}
    dec = polar.make_decoder("pol", model="h10", sampling_rate_hz=52.0)
    blocks = [b for k, p in enumerate(frames) if k not in lost and (b := dec.decode(_data(p))) is not None]
    block = ImuBlock.concat(blocks)
    assert block.n_missing == 36 * len(lost)
    assert np.flatnonzero(block.missing_before).tolist() == [17 * 36, (150 - 2) * 36, (398 - 3) * 36]
    assert block.sample_index[-1] == 400 * 36 - 1
    assert np.all(np.diff(block.t_s) > 0)


def test_duplicate_frame_is_refused_and_the_stream_continues() -> None:
    frames = _acc_frames(3, 10, 52.0)
    dec = polar.make_decoder("pol", model="h10", sampling_rate_hz=52.0)
    assert dec.decode(_data(frames[0])) is not None
    with pytest.raises(PacketError) as info:
        dec.decode(_data(frames[0]))
    assert (info.value.reason, info.value.offset) == ("timestamp", 1)
    block = dec.decode(_data(frames[1]))
    assert block is not None
    assert block.missing_before.sum() == 0


def test_a_corrupted_timestamp_jump_needs_confirmation() -> None:
    frames = _acc_frames(4, 10, 52.0)
    dec = polar.make_decoder("pol", model="h10", sampling_rate_hz=52.0)
    dec.decode(_data(frames[0]))
    corrupt = frames[1][:8] + b"\x7f" + frames[1][9:]  # top timestamp byte flipped: centuries ahead
    with pytest.raises(PacketError) as info:
        dec.decode(_data(corrupt))
    assert info.value.reason == "timestamp_jump"
    block = dec.decode(_data(frames[2]))
    assert block is not None
    assert block.n_missing == 10  # the corrupted frame's samples count as lost


def _t_ns(payload: bytes) -> int:
    return int.from_bytes(payload[1:9], "little")


def _time_order(payloads: list[bytes]) -> list[bytes]:
    return sorted(payloads, key=_t_ns)


def _imu_block(n: int, rate_hz: float, seed: int, t0_s: float = 100.0) -> ImuBlock:
    rng = np.random.default_rng(seed)
    t = t0_s + np.arange(n) / rate_hz
    acc = np.cumsum(rng.normal(0, 0.3, (n, 3)), axis=0) + np.array([0, 0, G])
    gyr = np.cumsum(rng.normal(0, 0.05, (n, 3)), axis=0)
    return ImuBlock.from_arrays("pol", t, acc, gyr)


def _quantised_close(out: ImuBlock, ref: ImuBlock) -> None:
    acc_lsb = 2 * 8 / 65536 * G
    gyr_lsb = np.deg2rad(2 * 2000 / 65536)
    np.testing.assert_allclose(out.t_s, ref.t_s, rtol=0, atol=2e-9)
    np.testing.assert_allclose(out.acc_mps2, ref.acc_mps2, rtol=0, atol=acc_lsb / 2 + 1e-9)
    if ref.gyr_radps is not None:
        assert out.gyr_radps is not None
        np.testing.assert_allclose(out.gyr_radps, ref.gyr_radps, rtol=0, atol=gyr_lsb / 2 + 1e-9)


@pytest.mark.parametrize("max_payload", [20, 244])
def test_impersonated_verity_sense_round_trip(max_payload: int) -> None:
    block = _imu_block(600, 52.0, seed=1)
    acc = polar.encode_block(block, measurement=MeasurementType.ACC, max_payload=max_payload)
    gyr = polar.encode_block(block, measurement=MeasurementType.GYRO, max_payload=max_payload)
    assert max(len(p) for p in acc + gyr) <= max_payload
    dec = polar.make_decoder("pol", model="verity_sense", sampling_rate_hz=52.0)
    out = [b for p in _time_order(acc + gyr) if (b := dec.decode(_data(p))) is not None]
    merged = ImuBlock.concat(out)
    # ACC and GYRO share sample times here, so every ACC sample after the first gyro sample is delivered
    assert len(merged) == 600
    assert merged.n_missing == 0
    _quantised_close(merged, block)


@settings(max_examples=30, deadline=None)
@given(order=st.lists(st.booleans(), min_size=60, max_size=60), seed=st.integers(0, 2**16))
def test_merge_does_not_depend_on_how_acc_and_gyro_interleave(order: list[bool], seed: int) -> None:
    rate = 52.0
    block = _imu_block(520, rate, seed)
    shifted = ImuBlock.from_arrays("pol", block.t_s + 0.4 / rate, block.acc_mps2, block.gyr_radps)
    acc = polar.encode_block(block, measurement=MeasurementType.ACC, max_payload=100)
    gyr = polar.encode_block(shifted, measurement=MeasurementType.GYRO, max_payload=70)

    def run(sequence: list[bytes]) -> ImuBlock:
        dec = polar.make_decoder("pol", sampling_rate_hz=rate)
        return ImuBlock.concat([b for p in sequence if (b := dec.decode(_data(p))) is not None])

    # any interleaving in which neither stream runs more than 2 s (< max_wait_s) ahead of the other
    mixed: list[bytes] = []
    ia = ig = 0
    choices = iter(order)
    while ia < len(acc) or ig < len(gyr):
        take_acc = next(choices, True)
        if ig == len(gyr) or (ia < len(acc) and take_acc and _t_ns(acc[ia]) - _t_ns(gyr[ig]) < 2e9):
            mixed.append(acc[ia])
            ia += 1
        elif ia == len(acc) or _t_ns(gyr[ig]) - _t_ns(acc[ia]) < 2e9:
            mixed.append(gyr[ig])
            ig += 1
        else:
            mixed.append(acc[ia])
            ia += 1
    in_time_order = _time_order(acc + gyr)
    a, b = run(in_time_order), run(mixed)
    np.testing.assert_array_equal(a.t_s, b.t_s)
    np.testing.assert_array_equal(a.acc_mps2, b.acc_mps2)
    assert a.gyr_radps is not None
    assert b.gyr_radps is not None
    np.testing.assert_array_equal(a.gyr_radps, b.gyr_radps)
    np.testing.assert_array_equal(a.sample_index, b.sample_index)
    # gyro starts 0.4 samples late: only the first ACC sample has no gyro partner
    assert a.sample_index[0] == 1
    assert a.n_missing == 0
    # interpolated gyro at the ACC times lies between the neighbouring true gyro samples
    true = block.gyr_radps
    assert true is not None
    lo = np.minimum(true[:-1], true[1:])[: len(a)]
    hi = np.maximum(true[:-1], true[1:])[: len(a)]
    assert np.all((a.gyr_radps >= lo - 1e-3) & (a.gyr_radps <= hi + 1e-3))


def test_gyro_gap_drops_and_counts_the_uncovered_acc_samples() -> None:
    rate = 52.0
    block = _imu_block(520, rate, seed=3)
    acc = polar.encode_block(block, measurement=MeasurementType.ACC, max_payload=120)
    gyr = polar.encode_block(block, measurement=MeasurementType.GYRO, max_payload=120)
    dec = polar.make_decoder("pol", sampling_rate_hz=rate)
    lost_gyr = gyr[5]
    out = [b for p in _time_order(acc + gyr[:5] + gyr[6:]) if (b := dec.decode(_data(p))) is not None]
    merged = ImuBlock.concat(out)
    # ACC samples strictly inside the gyro gap (between the last sample of frame 4 and the first of frame 6)
    gap_lo = polar.parse_frame(gyr[4]).t_last_ns * 1e-9
    n6 = polar.parse_frame(gyr[6]).samples.shape[0]
    gap_hi = polar.parse_frame(gyr[6]).t_last_ns * 1e-9 - (n6 - 1) / rate
    inside = int(np.sum((block.t_s > gap_lo + 1e-9) & (block.t_s < gap_hi - 1e-9)))
    assert inside == polar.parse_frame(lost_gyr).samples.shape[0]
    assert merged.n_missing == inside
    assert len(merged) == 520 - inside
    assert dec.dropped_acc_samples == inside


def test_h10_ignores_gyro_and_other_measurements() -> None:
    dec = polar.make_decoder("pol", **polar.settings_for_name("Polar H10 ABCD"))
    assert dec.gyro is False
    gyro = polar.encode_frame(MeasurementType.GYRO, 10**9, np.zeros((3, 3), np.int64))
    ecg = bytes((MeasurementType.ECG,)) + (10**9).to_bytes(8, "little") + bytes(4)
    assert dec.decode(_data(gyro)) is None
    assert dec.decode(_data(ecg)) is None
    with pytest.raises(ConfigError, match="no gyroscope"):
        polar.make_decoder("pol", model="h10", gyro=True)


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(st.tuples(*[st.integers(-32768, 32767)] * 3), min_size=1, max_size=300),
    compressed=st.booleans(),
)
def test_frame_encoding_round_trips_exactly(rows: list[tuple[int, int, int]], compressed: bool) -> None:
    samples = np.array(rows, dtype=np.int64)
    payload = polar.encode_frame(MeasurementType.GYRO, 123_456_789, samples, compressed=compressed)
    frame = polar.parse_frame(payload)
    assert (frame.measurement, frame.t_last_ns, frame.compressed) == (MeasurementType.GYRO, 123_456_789, compressed)
    assert frame.samples.tolist() == samples.tolist()


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    n=st.integers(1, 400),
    compressed=st.booleans(),
    max_payload=st.integers(20, 244),
)
def test_acc_block_round_trip(seed: int, n: int, compressed: bool, max_payload: int) -> None:
    block = _imu_block(n, 200.0, seed)
    acc_only = ImuBlock.from_arrays("pol", block.t_s, block.acc_mps2)
    payloads = polar.encode_block(acc_only, compressed=compressed, max_payload=max_payload)
    assert max(len(p) for p in payloads) <= max_payload
    dec = polar.make_decoder("pol", model="h10", sampling_rate_hz=200.0)
    out = ImuBlock.concat([b for p in payloads if (b := dec.decode(_data(p))) is not None])
    assert out.n_missing == 0
    if compressed:
        _quantised_close(out, acc_only)
    else:  # raw ACC frames are whole mg
        np.testing.assert_allclose(out.acc_mps2, acc_only.acc_mps2, rtol=0, atol=0.5e-3 * G + 1e-9)
        np.testing.assert_allclose(out.t_s, acc_only.t_s, rtol=0, atol=2e-9)


@pytest.mark.parametrize(("frame_type", "bits"), [(0, 8), (1, 16), (2, 24)])
def test_raw_acc_frame_types_sign_extend(frame_type: int, bits: int) -> None:
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    samples = np.array([[lo, hi, 0], [-1, 1, lo + 1]], dtype=np.int64)
    payload = polar.encode_frame(MeasurementType.ACC, 5, samples, frame_type=frame_type)
    assert len(payload) == 10 + 2 * 3 * bits // 8
    assert polar.parse_frame(payload).samples.tolist() == samples.tolist()


def test_impersonated_control_point_answers_the_link_s_start_sequence() -> None:
    # the link's writes, answered as a Verity Sense would; the answers reach the link's decoder
    settings = polar.settings_for_name("Polar Sense B5A32F2C")
    dec = polar.make_decoder("pol", **settings)
    for write in polar.start_writes(**settings):
        answer, command = polar.answer_command(write.data, model="verity_sense")
        assert command is not None
        assert polar.parse_response(answer).ok
        dec.decode(_control(answer))
    assert dec.factors[MeasurementType.ACC] == pytest.approx(2.44140625e-4)
    assert dec.factors[MeasurementType.GYRO] == pytest.approx(0.06103515625)
    listed, _ = polar.answer_command(polar.encode_get_settings(MeasurementType.GYRO))
    assert polar.parse_response(listed).settings()[SettingType.SAMPLE_RATE] == (52, 104, 208, 416)
    stop, _ = polar.answer_command(polar.encode_stop(MeasurementType.ACC))
    assert polar.parse_response(stop).ok


@pytest.mark.parametrize(
    ("model", "write", "error"),
    [
        (
            "verity_sense",
            polar.encode_start(MeasurementType.ACC, {SettingType.SAMPLE_RATE: 104}),
            "INVALID_SAMPLE_RATE",
        ),
        ("verity_sense", polar.encode_start(MeasurementType.GYRO, {SettingType.RANGE: 4000}), "INVALID_RANGE"),
        ("h10", polar.encode_start(MeasurementType.GYRO, {SettingType.SAMPLE_RATE: 52}), "NOT_SUPPORTED"),
        ("h10", bytes((9, 2)), "INVALID_OP_CODE"),
    ],
)
def test_impersonated_control_point_refuses_like_the_sensor(model: polar.Model, write: bytes, error: str) -> None:
    answer, _ = polar.answer_command(write, model=model)
    assert polar.PmdError(polar.parse_response(answer).error).name == error
    with pytest.raises(PacketError, match=error):
        polar.make_decoder("pol").decode(_control(answer))


def test_frame_whose_timestamp_squeezes_its_samples_is_refused_and_the_stream_goes_on() -> None:
    # found by fuzz/ (polar, link_decoder): a frame 1 ns after the previous one spread 40 samples 0.025 ns apart;
    # float seconds cannot keep them apart, and ImuBlock raised DataValidationError out of the decoder (and out of
    # the live link, which only counts PacketError)
    dec = polar.PolarDecoder("p", model="h10", sampling_rate_hz=200.0)
    zeros = np.zeros((40, 3), np.int64)
    t0 = 10**18
    assert dec.decode(RawFrame("p", 0.0, polar.encode_frame(MeasurementType.ACC, t0, zeros), polar.PMD_DATA_UUID))
    bad = polar.encode_frame(MeasurementType.ACC, t0 + 1, zeros)
    with pytest.raises(PacketError, match=r"40 samples ends 1 ns after .* under 1% of the nominal 5000000 ns") as ei:
        dec.decode(RawFrame("p", 0.0, bad, polar.PMD_DATA_UUID))
    assert ei.value.reason == "timestamp"
    good = polar.encode_frame(MeasurementType.ACC, t0 + 40 * 5_000_000, zeros)
    block = dec.decode(RawFrame("p", 0.0, good, polar.PMD_DATA_UUID))
    assert block is not None
    assert int(block.missing_before[0]) == 0
    assert np.all(np.diff(block.t_s) > 0)


def test_link_decoder_counts_a_squeezed_polar_frame_instead_of_raising() -> None:
    from sensor.ble.link import LinkDecoder

    link = LinkDecoder("p", polar.SENSOR_TYPE, model="h10", sampling_rate_hz=200.0)
    zeros = np.zeros((40, 3), np.int64)
    for i, t_ns in enumerate((10**18, 10**18 + 1)):
        link.feed(RawFrame("p", 1.7e9 + i, polar.encode_frame(MeasurementType.ACC, t_ns, zeros), polar.PMD_DATA_UUID))
    assert link.samples == 40
    assert link.skipped == {"timestamp": 1}
