"""Fuzz every third-party decoder: random and mutated notifications give a typed PacketError or a valid result.

Never another exception, never a hang (every parser loop consumes at least one byte per step), and a decoder
keeps decoding valid notifications after garbage.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzz.strategies import mutated as _mutated
from sensor.errors import PacketError
from sensor.model import ImuBlock, RawFrame
from sensor.protocol import polar, witmotion
from sensor.protocol.polar import ControlOp, MeasurementType, SettingType

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _wit_valid() -> list[bytes]:
    acc = np.array([[0.1, -0.2, 9.8], [1.0, 2.0, 3.0], [-150.0, 0.0, 150.0]])
    gyr = np.array([[0.1, 0.2, -0.3], [1.0, -1.0, 0.0], [40.0, -40.0, 0.0]])
    frames = witmotion.encode_samples(acc, gyr)
    return [frames[:20], frames, frames[:20] + witmotion.encode_register_reply(0x64, (3900,))]


def _polar_valid() -> list[bytes]:
    rng = np.random.default_rng(0)
    counts = np.cumsum(rng.integers(-300, 300, (40, 3)), axis=0)
    return [
        polar.encode_frame(MeasurementType.ACC, 10**12, counts),
        polar.encode_frame(MeasurementType.ACC, 10**12, counts, compressed=True),
        polar.encode_frame(MeasurementType.GYRO, 10**12, counts, compressed=True),
        polar.encode_frame(MeasurementType.ACC, 10**12, counts[:5], frame_type=2),
    ]


def _control_valid() -> list[bytes]:
    factor = polar.encode_settings({SettingType.FACTOR: 2.44e-4, SettingType.SAMPLE_RATE: 52})
    return [
        polar.encode_response(ControlOp.START, MeasurementType.ACC, parameters=factor),
        polar.encode_response(ControlOp.GET_SETTINGS, MeasurementType.GYRO, parameters=factor),
        polar.encode_features((MeasurementType.ACC, MeasurementType.GYRO)),
    ]


def _check(call: Callable[[], Any], payload: bytes, sensor_type: str) -> Any:
    """Run ``call``; a PacketError is allowed and must carry a usable offset, reason and sensor type."""
    error: PacketError | None = None
    result = None
    try:
        result = call()
    except PacketError as exc:
        error = exc
    if error is not None:
        assert isinstance(error.offset, int)
        assert 0 <= error.offset <= len(payload)
        assert error.reason.isidentifier()
        assert error.sensor_type == sensor_type
        assert str(error)
    return result


MODELS: tuple[polar.Model, ...] = ("verity_sense", "h10")
WIT = _wit_valid()
POL = _polar_valid()
CTL = _control_valid()
PAYLOADS = st.one_of(
    st.binary(max_size=300), _mutated(WIT), _mutated(POL), _mutated(CTL), st.sampled_from(WIT + POL + CTL)
)


@FUZZ
@given(payloads=st.lists(PAYLOADS, min_size=1, max_size=6))
def test_witmotion_decoder_fuzz(payloads: list[bytes]) -> None:
    dec = witmotion.make_decoder("wit", sampling_rate_hz=100.0)
    for i, p in enumerate([*payloads, WIT[1]]):
        out = _check(
            lambda p=p, i=i: dec.decode(RawFrame("wit", 10.0 + 0.01 * i, p, witmotion.NOTIFY_UUID)), p, "witmotion"
        )
        assert out is None or isinstance(out, ImuBlock)
        for cmd in (witmotion.parse_command, witmotion.parse_notification):
            _check(lambda cmd=cmd, p=p: cmd(p), p, "witmotion")
        _check(lambda p=p: witmotion.answer_command(p, {0x64: 1}), p, "witmotion")
    assert isinstance(out, ImuBlock)  # the valid notification after the garbage still decodes
    assert len(out) == 3


@FUZZ
@given(payloads=st.lists(PAYLOADS, min_size=1, max_size=6), to_control=st.lists(st.booleans(), min_size=6, max_size=6))
def test_polar_decoder_fuzz(payloads: list[bytes], to_control: list[bool]) -> None:
    dec = polar.make_decoder("pol", sampling_rate_hz=52.0, gyro=False)
    first = polar.encode_frame(MeasurementType.ACC, 10**9, np.zeros((3, 3), np.int64))
    assert dec.decode(RawFrame("pol", 0.0, first, polar.PMD_DATA_UUID)) is not None
    for p, ctl in zip(payloads, to_control, strict=False):
        channel = polar.PMD_CONTROL_UUID if ctl else polar.PMD_DATA_UUID
        out = _check(lambda p=p, channel=channel: dec.decode(RawFrame("pol", 0.0, p, channel)), p, "polar")
        assert out is None or isinstance(out, ImuBlock)
        for parse in (polar.parse_frame, polar.parse_command, polar.parse_response, polar.parse_settings):
            _check(lambda parse=parse, p=p: parse(p), p, "polar")
        _check(lambda p=p: polar.parse_features(p), p, "polar")
        for model in MODELS:  # the impersonated sensor answers anything, never raises
            answer, _ = polar.answer_command(p, model=model)
            assert answer[0] == polar.RESPONSE_CODE


@FUZZ
@given(payloads=st.lists(st.one_of(_mutated(POL), st.binary(min_size=10, max_size=200)), min_size=1, max_size=8))
def test_polar_merging_decoder_fuzz(payloads: list[bytes]) -> None:
    # ACC + GYRO merging path: random timestamps and sizes on both streams
    dec = polar.make_decoder("pol", sampling_rate_hz=52.0)
    blocks = []
    for p in payloads:
        out = _check(lambda p=p: dec.decode(RawFrame("pol", 0.0, p, polar.PMD_DATA_UUID)), p, "polar")
        if out is not None:
            blocks.append(out)
    if blocks:
        joined = ImuBlock.concat(blocks)  # delivered blocks continue each other in time
        assert np.all(np.diff(joined.t_s) > 0)
