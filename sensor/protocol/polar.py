"""Polar Measurement Data (PMD) service: Verity Sense (ACC + GYRO) and H10 (ACC); sans-IO codec.

Wire format (Polar BLE SDK, ``/work/shared/notes/sensors.md``):

* service ``fb005c80-02e7-f387-1cad-8acd2d8df0c8``; control point ``...5c81...`` (read, write, indicate);
  data ``...5c82...`` (notify). Both streams (ACC and GYRO) arrive on the one data characteristic; byte 0
  says which.
* control point writes: ``01 <type>`` get settings, ``02 <type> <settings>`` start, ``03 <type>`` stop. A setting
  is ``<setting type> <count> <count values>``: sample rate (0, uint16 Hz), resolution (1, uint16 bits), range
  (2, uint16: g or deg/s), range in milli-units (3, uint32), channels (4, uint8), factor (5, float32). A start
  request has count 1 per setting. The sensor answers by indication ``F0 <op> <type> <error> <more>
  <parameters>``; a successful start may carry the factor (the scale of compressed values) as parameter.
  Reading the control point gives ``0F <bitmask of supported types>``.
* data: ``<type> <uint64 LE ns timestamp of the LAST sample> <frame type>`` then samples. Frame type bit 7 set
  = delta-compressed. Raw ACC frames type 0/1/2 hold int8/int16/int24 x, y, z in mg; raw GYRO type 0 holds
  int16 counts times the factor in deg/s. A compressed frame holds a reference sample (int16 per channel) then
  blocks ``<bit width> <sample count> <deltas>``, the deltas packed little-endian, bit-first, channel by channel,
  signed two's complement, added cumulatively. Compressed values times the factor are g (ACC) or deg/s (GYRO);
  without a factor from the sensor, the factor is range / 32768 (8 g -> 2.44e-4 g, the SDK's example).

Timing: ``t_s`` is the sensor clock in seconds (ns / 1e9; Polar counts from 2000-01-01 when the clock is set),
so the spec says ``clock="sensor"`` and the link maps it to host time. Inside a frame the samples are spread
evenly between the previous frame's last timestamp and this frame's; for the first frame (and after a loss)
they are spaced at the tracked sample interval back from the last timestamp. Loss: the frames carry no counter,
but the timestamps make it detectable: when a frame's timestamp is more than half a sample later than the
tracked interval predicts, ``round(gap / interval) - n`` samples are reported in ``missing_before``. The tracked
interval starts at the nominal rate and follows the measured one (Polar's "52 Hz" is not exactly 52 Hz).

Two streams -> one block (Verity Sense): ACC is the master time line (its sample numbers become
``sample_index``); gyroscope samples are linearly interpolated onto the ACC sample times. ACC samples wait until
the gyroscope stream covers them (at most ``max_wait_s``); ACC samples the gyroscope cannot cover (before its
first sample at start-up, inside a gyroscope gap longer than ``max_gyr_gap_s``, or after waiting too long) are
dropped and counted in ``missing_before`` of the next sample delivered (silently at start-up). Without a
gyroscope (H10, or ``gyro=False``) blocks are ACC-only (``gyr_radps=None``). The merger is pure and the result does
not depend on how ACC and GYRO notifications interleave (tested).

Public API: :data:`SPEC`, :class:`PolarDecoder`, :func:`parse_frame` / :func:`encode_frame` (one data
notification), :func:`encode_block` (impersonation), control point: :func:`encode_get_settings`,
:func:`encode_start`, :func:`encode_stop`, :func:`parse_command`, :func:`answer_command` (the sensor's side,
for the virtual sensor), :func:`encode_response`,
:func:`parse_response`, :func:`parse_features` / :func:`encode_features`, :func:`encode_settings` /
:func:`parse_settings`.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, Final, Literal

import numpy as np

from sensor.errors import ConfigError, PacketError
from sensor.frames import STANDARD_GRAVITY_MPS2
from sensor.model import FloatArray, ImuBlock, IntArray, RawFrame
from sensor.protocol.registry import CharSpec, GattWrite, SensorTypeSpec

SENSOR_TYPE: Final = "polar"

PMD_SERVICE_UUID: Final = "fb005c80-02e7-f387-1cad-8acd2d8df0c8"
PMD_CONTROL_UUID: Final = "fb005c81-02e7-f387-1cad-8acd2d8df0c8"
PMD_DATA_UUID: Final = "fb005c82-02e7-f387-1cad-8acd2d8df0c8"
POLAR_COMPANY_ID: Final = 0x006B
POLAR_EPOCH_UNIX_S: Final = 946_684_800  # 2000-01-01T00:00:00Z, the zero of Polar's sensor clock

HEADER_LEN: Final = 10
RESPONSE_CODE: Final = 0xF0
FEATURES_CODE: Final = 0x0F
COMPRESSED_BIT: Final = 0x80

Model = Literal["verity_sense", "h10"]


class MeasurementType(IntEnum):
    ECG = 0
    PPG = 1
    ACC = 2
    PPI = 3
    GYRO = 5
    MAG = 6


class ControlOp(IntEnum):
    GET_SETTINGS = 1
    START = 2
    STOP = 3


class SettingType(IntEnum):
    SAMPLE_RATE = 0
    RESOLUTION = 1
    RANGE = 2
    RANGE_MILLIUNIT = 3
    CHANNELS = 4
    FACTOR = 5


class PmdError(IntEnum):
    SUCCESS = 0
    INVALID_OP_CODE = 1
    INVALID_MEASUREMENT_TYPE = 2
    NOT_SUPPORTED = 3
    INVALID_LENGTH = 4
    INVALID_PARAMETER = 5
    ALREADY_IN_STATE = 6
    INVALID_RESOLUTION = 7
    INVALID_SAMPLE_RATE = 8
    INVALID_RANGE = 9
    INVALID_MTU = 10
    INVALID_NUMBER_OF_CHANNELS = 11
    INVALID_STATE = 12
    DEVICE_IN_CHARGER = 13


_FIELD_SIZE: Final[dict[int, int]] = {0: 2, 1: 2, 2: 2, 3: 4, 4: 1, 5: 4}
_CHANNELS: Final[dict[int, int]] = {MeasurementType.ACC: 3, MeasurementType.GYRO: 3, MeasurementType.MAG: 3}
# raw frame type -> bytes per channel value, per measurement
_RAW_WIDTH: Final[dict[int, dict[int, int]]] = {
    MeasurementType.ACC: {0: 1, 1: 2, 2: 3},
    MeasurementType.GYRO: {0: 2},
    MeasurementType.MAG: {0: 2},
}
_MAX_DELTA_BITS: Final = 32


def _err(message: str, offset: int, reason: str) -> PacketError:
    return PacketError(message, offset=offset, reason=reason, sensor_type=SENSOR_TYPE)


# ---- settings TLVs ------------------------------------------------------------------------------------------------
SettingValue = int | float


def encode_settings(settings: dict[SettingType, SettingValue]) -> bytes:
    """Settings TLVs of a start request (count 1 each), in setting-type order."""
    out = bytearray()
    for kind in sorted(settings):
        value = settings[kind]
        out += bytes((int(kind), 1))
        if kind == SettingType.FACTOR:
            out += struct.pack("<f", float(value))
        else:
            size = _FIELD_SIZE[int(kind)]
            iv = int(value)
            if not 0 <= iv < 1 << (8 * size):
                raise ConfigError(f"PMD setting {kind.name}={value!r} does not fit in {size} byte(s)")
            out += iv.to_bytes(size, "little")
    return bytes(out)


def parse_settings(data: bytes, *, base_offset: int = 0) -> dict[SettingType, tuple[SettingValue, ...]]:
    """Settings TLVs (any count per setting: a get-settings response lists the available values)."""
    out: dict[SettingType, tuple[SettingValue, ...]] = {}
    pos = 0
    while pos < len(data):
        if pos + 2 > len(data):
            raise _err("PMD setting header cut short", base_offset + pos, "truncated")
        kind, count = data[pos], data[pos + 1]
        if kind not in _FIELD_SIZE:
            raise _err(f"unknown PMD setting type {kind}", base_offset + pos, "setting_type")
        size = _FIELD_SIZE[kind]
        end = pos + 2 + size * count
        if end > len(data):
            raise _err(f"PMD setting {SettingType(kind).name} cut short", base_offset + pos, "truncated")
        raw = data[pos + 2 : end]
        values: tuple[SettingValue, ...]
        if kind == SettingType.FACTOR:
            values = tuple(float(v) for (v,) in struct.iter_unpack("<f", raw))
        else:
            values = tuple(int.from_bytes(raw[i : i + size], "little") for i in range(0, len(raw), size))
        out[SettingType(kind)] = values
        pos = end
    return out


def compressed_factor(range_value: float) -> float:
    """Default scale of compressed counts for a range at 16 bits: g (ACC) or deg/s (GYRO) per count.

    8 g gives 2.44e-4 g, the factor of the SDK's example; the sensor states its own in the start response.
    """
    return 2.0 * range_value / 65536.0


# ---- control point ------------------------------------------------------------------------------------------------
def encode_get_settings(measurement: MeasurementType) -> bytes:
    return bytes((ControlOp.GET_SETTINGS, measurement))


def encode_start(measurement: MeasurementType, settings: dict[SettingType, SettingValue]) -> bytes:
    """``02 <type> <settings>``, e.g. Verity Sense ACC 52 Hz, 16 bit, 8 g, 3 channels:
    ``02 02 00 01 34 00 01 01 10 00 02 01 08 00 04 01 03``."""
    return bytes((ControlOp.START, measurement)) + encode_settings(settings)


def encode_stop(measurement: MeasurementType) -> bytes:
    return bytes((ControlOp.STOP, measurement))


@dataclass(frozen=True, slots=True)
class PmdCommand:
    """A control-point write as the sensor sees it (for the virtual sensor)."""

    op: ControlOp
    measurement: int
    settings: dict[SettingType, tuple[SettingValue, ...]] = field(default_factory=dict)


def parse_command(data: bytes) -> PmdCommand:
    if len(data) < 2:
        raise _err(f"PMD command of {len(data)} byte(s); needs op code and measurement type", 0, "short")
    if data[0] not in {op.value for op in ControlOp}:
        raise _err(f"unknown PMD op code 0x{data[0]:02X}; known: 1 settings, 2 start, 3 stop", 0, "op_code")
    settings = parse_settings(data[2:], base_offset=2) if data[0] == ControlOp.START else {}
    return PmdCommand(ControlOp(data[0]), data[1], settings)


@dataclass(frozen=True, slots=True)
class PmdResponse:
    """A control-point indication ``F0 <op> <type> <error> <more> <parameters>``."""

    op: int
    measurement: int
    error: int
    more: bool
    parameters: bytes

    @property
    def ok(self) -> bool:
        return self.error == PmdError.SUCCESS

    def settings(self) -> dict[SettingType, tuple[SettingValue, ...]]:
        return parse_settings(self.parameters, base_offset=5)


def encode_response(
    op: int, measurement: int, error: int = PmdError.SUCCESS, *, more: bool = False, parameters: bytes = b""
) -> bytes:
    return bytes((RESPONSE_CODE, op, measurement, error, int(more))) + parameters


def parse_response(data: bytes) -> PmdResponse:
    if len(data) < 4:
        raise _err(f"PMD control response of {len(data)} byte(s) is too short", 0, "short")
    if data[0] != RESPONSE_CODE:
        raise _err(f"PMD control response starts with 0x{data[0]:02X}, expected 0xF0", 0, "header")
    more = len(data) > 4 and data[4] != 0
    return PmdResponse(data[1], data[2], data[3], more, bytes(data[5:]))


def encode_features(measurements: tuple[MeasurementType, ...]) -> bytes:
    """Control-point read value: ``0F`` + bitmask of the supported measurement types."""
    mask = 0
    for m in measurements:
        mask |= 1 << int(m)
    return bytes((FEATURES_CODE,)) + mask.to_bytes(2, "little")


def parse_features(data: bytes) -> frozenset[int]:
    """Measurement types a sensor supports, from the control-point read value."""
    if len(data) < 2 or data[0] != FEATURES_CODE:
        raise _err("PMD features read must start with 0x0F and hold a bitmask", 0, "header")
    mask = int.from_bytes(data[1:3], "little")
    return frozenset(bit for bit in range(16) if mask >> bit & 1)


# ---- data frames --------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PmdFrame:
    """One data notification: integer samples as sent (scale them with :func:`PolarDecoder` settings).

    Attributes:
        measurement: measurement type (byte 0).
        t_last_ns: sensor time of the last sample, ns.
        frame_type: low 7 bits of byte 9.
        compressed: bit 7 of byte 9.
        samples: int64 ``(n, channels)``.
    """

    measurement: int
    t_last_ns: int
    frame_type: int
    compressed: bool
    samples: IntArray


def _unpack_compressed(payload: bytes, channels: int) -> IntArray:
    pos = HEADER_LEN
    ref_len = 2 * channels
    if len(payload) < pos + ref_len:
        raise _err("compressed PMD frame ends inside its reference sample", len(payload), "truncated")
    reference = np.frombuffer(payload, dtype="<i2", count=channels, offset=pos).astype(np.int64)
    pos += ref_len
    deltas: list[IntArray] = []
    while pos < len(payload):
        if pos + 2 > len(payload):
            raise _err("compressed PMD frame ends inside a delta block header", pos, "truncated")
        width, count = payload[pos], payload[pos + 1]
        if not 1 <= width <= _MAX_DELTA_BITS:
            raise _err(f"PMD delta bit width {width} is outside 1..{_MAX_DELTA_BITS}", pos, "bit_width")
        n_bits = width * channels * count
        n_bytes = (n_bits + 7) // 8
        start = pos + 2
        if n_bytes == 0:
            pos = start
            continue
        if start + n_bytes > len(payload):
            raise _err(
                f"PMD delta block of {count} samples x {width} bits needs {n_bytes} bytes, {len(payload) - start} left",
                pos,
                "truncated",
            )
        packed = np.frombuffer(payload, dtype=np.uint8, count=n_bytes, offset=start)
        bits = np.unpackbits(packed, bitorder="little")[:n_bits].reshape(count * channels, width)
        values = bits.astype(np.int64) @ (np.int64(1) << np.arange(width, dtype=np.int64))
        values -= (values >> (width - 1)) << width  # two's complement sign extension
        deltas.append(values.reshape(count, channels))
        pos = start + n_bytes
    steps = np.concatenate([np.zeros((1, channels), np.int64), *deltas])
    out: IntArray = reference + np.cumsum(steps, axis=0)
    return out


def parse_frame(payload: bytes) -> PmdFrame:
    """Parse one PMD data notification into integer samples (vectorised).

    Raises:
        PacketError: short header, unknown measurement or frame type, length not a whole number of samples,
            truncated or malformed delta blocks.
    """
    if len(payload) < HEADER_LEN:
        raise _err(f"PMD data frame of {len(payload)} bytes; the header alone is 10 bytes", len(payload), "short")
    measurement = payload[0]
    t_last_ns = int.from_bytes(payload[1:9], "little")
    compressed = bool(payload[9] & COMPRESSED_BIT)
    frame_type = payload[9] & 0x7F
    if measurement not in _CHANNELS:
        return PmdFrame(measurement, t_last_ns, frame_type, compressed, np.zeros((0, 0), np.int64))
    channels = _CHANNELS[measurement]
    if compressed:
        if frame_type != 0:
            raise _err(f"compressed PMD frame type {frame_type} is not supported (only 0)", 9, "frame_type")
        samples = _unpack_compressed(payload, channels)
    else:
        width = _RAW_WIDTH[measurement].get(frame_type)
        if width is None:
            raise _err(
                f"raw PMD frame type {frame_type} of measurement {measurement} is not supported; known: "
                f"{sorted(_RAW_WIDTH[measurement])}",
                9,
                "frame_type",
            )
        body = payload[HEADER_LEN:]
        step = width * channels
        if not body or len(body) % step:
            raise _err(
                f"raw PMD frame body of {len(body)} bytes is not a whole number of {step}-byte samples",
                HEADER_LEN + len(body) - len(body) % step,
                "length",
            )
        raw = np.frombuffer(body, dtype=np.uint8).reshape(-1, channels, width).astype(np.int64)
        values = (raw << (8 * np.arange(width, dtype=np.int64))).sum(axis=2)
        values -= (values >> (8 * width - 1)) << (8 * width)
        samples = values
    return PmdFrame(measurement, t_last_ns, frame_type, compressed, samples)


def _signed_width(values: IntArray) -> int:
    if values.size == 0:
        return 1
    hi = int(max(values.max(), -values.min() - 1))
    return max(1, hi.bit_length() + 1)


def _pack_block(deltas: IntArray, width: int) -> bytes:
    n = deltas.shape[0]
    flat = (deltas.reshape(-1) & ((1 << width) - 1)).astype(np.uint64)
    bits = ((flat[:, None] >> np.arange(width, dtype=np.uint64)) & np.uint64(1)).astype(np.uint8)
    return bytes((width, n)) + np.packbits(bits.reshape(-1), bitorder="little").tobytes()


def _compressed_blocks_size(n_deltas: int, width: int) -> int:
    """Bytes taken by the delta blocks of ``n_deltas`` 3-channel samples at ``width`` bits (255 per block)."""
    full, rest = divmod(n_deltas, 255)
    size = full * (2 + (width * 3 * 255 + 7) // 8)
    return size + (2 + (width * 3 * rest + 7) // 8 if rest else 0)


def encode_frame(
    measurement: int, t_last_ns: int, samples: IntArray, *, compressed: bool = False, frame_type: int | None = None
) -> bytes:
    """One PMD data notification from integer samples ``(n, channels)``.

    Raw: ``frame_type`` defaults to int16 (ACC type 1, GYRO type 0). Compressed (type 0x80): the first sample is
    the reference (int16), the rest delta blocks of up to 255 samples, each with the smallest bit width.
    """
    s = np.asarray(samples, dtype=np.int64)
    if s.ndim != 2 or s.shape[0] == 0:
        raise ConfigError(f"PMD frame samples must be a non-empty (n, channels) array, got shape {s.shape}")
    if not 0 <= t_last_ns < 1 << 64:
        raise ConfigError(f"PMD timestamp {t_last_ns} ns does not fit uint64")
    header = bytes((measurement,)) + int(t_last_ns).to_bytes(8, "little")
    if compressed:
        if s[0].min() < -32768 or s[0].max() > 32767:
            raise ConfigError(f"PMD reference sample {s[0].tolist()} does not fit int16")
        out = bytearray(header + bytes((COMPRESSED_BIT,)) + s[0].astype("<i2").tobytes())
        deltas = np.diff(s, axis=0)
        for i in range(0, deltas.shape[0], 255):
            chunk = deltas[i : i + 255]
            out += _pack_block(chunk, _signed_width(chunk))
        return bytes(out)
    ftype = (1 if measurement == MeasurementType.ACC else 0) if frame_type is None else frame_type
    width = _RAW_WIDTH.get(measurement, {}).get(ftype)
    if width is None:
        raise ConfigError(f"no raw PMD frame type {ftype} for measurement {measurement}")
    lo, hi = -(1 << (8 * width - 1)), (1 << (8 * width - 1)) - 1
    clipped = np.clip(s, lo, hi) & ((1 << (8 * width)) - 1)
    body = ((clipped[..., None] >> (8 * np.arange(width, dtype=np.int64))) & 0xFF).astype(np.uint8)
    return header + bytes((ftype,)) + body.tobytes()


# ---- decoder ------------------------------------------------------------------------------------------------------
_MIN_SPACING: Final = 0.01  # samples of a frame closer than this fraction of the nominal interval: corrupt time


@dataclass(slots=True)
class _StreamClock:
    """Per-measurement timing state: last timestamp, tracked sample interval, next sample number."""

    nominal_dt_ns: float
    dt_ns: float
    max_jump_ns: float
    t_last_ns: int | None = None
    next_index: int = 0
    _jump_candidate_ns: int | None = None

    def times(self, t_last_ns: int, n: int) -> tuple[FloatArray, IntArray, IntArray]:
        back = np.arange(n - 1, -1, -1, dtype=np.float64)
        missing = 0
        if self.t_last_ns is None:
            offsets_ns = back * self.dt_ns
        else:
            interval = t_last_ns - self.t_last_ns
            if interval <= 0:
                raise _err(
                    f"PMD frame timestamp {t_last_ns} ns is not after the previous frame's {self.t_last_ns} ns "
                    "(duplicated or out-of-order notification)",
                    1,
                    "timestamp",
                )
            if interval > self.max_jump_ns:
                # a corrupted timestamp must not poison the stream: a jump is only believed when the next frame
                # agrees with it
                candidate, self._jump_candidate_ns = self._jump_candidate_ns, t_last_ns
                if candidate is None or not 0 < t_last_ns - candidate <= self.max_jump_ns:
                    raise _err(
                        f"PMD frame timestamp {t_last_ns} ns jumps {interval / 1e9:.3g} s past the previous frame; "
                        "ignored unless the next frame confirms it (start a new decoder after a reconnect)",
                        1,
                        "timestamp_jump",
                    )
            spacing = interval / n
            lost = round(interval / self.dt_ns) - n
            if lost < 1 and spacing < _MIN_SPACING * self.nominal_dt_ns:
                # float seconds (and the host clock mapping) cannot keep such samples apart: a corrupt timestamp
                raise _err(
                    f"PMD frame of {n} samples ends {interval} ns after the previous frame: {spacing:.3g} ns per "
                    f"sample, under {_MIN_SPACING:.0%} of the nominal {self.nominal_dt_ns:.0f} ns; the timestamp is "
                    "corrupt (or sampling_rate_hz is far too low for this sensor)",
                    1,
                    "timestamp",
                )
            self._jump_candidate_ns = None
            if lost >= 1:
                missing = lost
                offsets_ns = back * self.dt_ns
            else:
                offsets_ns = back * spacing
                if abs(spacing / self.nominal_dt_ns - 1.0) < 0.1:
                    self.dt_ns += 0.2 * (spacing - self.dt_ns)  # follow the sensor's true rate slowly
        t_s = (t_last_ns - offsets_ns) * 1e-9
        miss = np.zeros(n, dtype=np.int64)
        miss[0] = missing
        first = self.next_index + missing
        idx = np.arange(first, first + n, dtype=np.int64)
        self.next_index = first + n
        self.t_last_ns = t_last_ns
        return t_s, idx, miss


@dataclass(slots=True)
class _Samples:
    t_s: FloatArray
    values: FloatArray
    index: IntArray
    missing: IntArray

    @classmethod
    def empty(cls) -> _Samples:
        return cls(np.zeros(0), np.zeros((0, 3)), np.zeros(0, np.int64), np.zeros(0, np.int64))

    def __len__(self) -> int:
        return int(self.t_s.shape[0])

    def append(self, other: _Samples) -> _Samples:
        return _Samples(
            np.concatenate([self.t_s, other.t_s]),
            np.concatenate([self.values, other.values]),
            np.concatenate([self.index, other.index]),
            np.concatenate([self.missing, other.missing]),
        )

    def take(self, sel: slice | IntArray) -> _Samples:
        return _Samples(self.t_s[sel], self.values[sel], self.index[sel], self.missing[sel])


_SAME_TIME_S: Final = 1e-6  # ACC and GYRO times closer than this are the same instant (float rounding of ns)


class AccGyrMerger:
    """Pairs an ACC and a GYRO stream of one sensor into ImuBlocks on the ACC time line (module docstring).

    Pure and bounded: it keeps ACC samples not yet covered by the gyroscope (at most ``max_wait_s``) and the
    gyroscope samples still needed for interpolation.
    """

    def __init__(self, sensor_id: str, *, max_wait_s: float, max_gyr_gap_s: float) -> None:
        self.sensor_id = sensor_id
        self.max_wait_s = max_wait_s
        self.max_gyr_gap_s = max_gyr_gap_s
        self.dropped_acc_samples = 0
        self._acc = _Samples.empty()
        self._gyr = _Samples.empty()
        self._carry = 0
        self._emitted = False
        self._t_emitted = -np.inf

    def push_acc(self, samples_mps2: _Samples) -> ImuBlock | None:
        self._acc = self._acc.append(samples_mps2)
        return self._flush()

    def push_gyr(self, samples_radps: _Samples) -> ImuBlock | None:
        self._gyr = self._gyr.append(samples_radps)
        return self._flush()

    def _flush(self) -> ImuBlock | None:
        acc, gyr = self._acc, self._gyr
        if len(acc) == 0:
            self._trim_gyr()
            return None
        g_last = gyr.t_s[-1] if len(gyr) else -np.inf
        covered = acc.t_s <= g_last + _SAME_TIME_S
        timed_out = acc.t_s < acc.t_s[-1] - self.max_wait_s
        n_done = int(np.flatnonzero(covered | timed_out)[-1]) + 1 if (covered | timed_out).any() else 0
        if n_done == 0:
            return None
        done = acc.take(slice(0, n_done))
        self._acc = acc.take(slice(n_done, None))
        keep = np.zeros(n_done, dtype=bool)
        gyr_at = np.zeros((n_done, 3))
        if len(gyr):
            j = np.searchsorted(gyr.t_s, done.t_s + _SAME_TIME_S, side="right") - 1
            j1 = np.minimum(j + 1, len(gyr) - 1)
            inside = (j >= 0) & (done.t_s <= g_last + _SAME_TIME_S)
            jc = np.clip(j, 0, len(gyr) - 1)
            t0, t1 = gyr.t_s[jc], gyr.t_s[j1]
            gap_ok = t1 - t0 <= self.max_gyr_gap_s
            keep = inside & gap_ok
            span = np.where(t1 > t0, t1 - t0, 1.0)
            w = np.clip((done.t_s - t0) / span, 0.0, 1.0)[:, None]
            gyr_at = (1.0 - w) * gyr.values[jc] + w * gyr.values[j1]
        self._trim_gyr()
        contrib = done.missing + (~keep).astype(np.int64)
        cs = np.cumsum(contrib)
        kept = np.flatnonzero(keep)
        if kept.size == 0:
            self.dropped_acc_samples += n_done
            self._carry = self._carry + int(cs[-1]) if self._emitted else 0
            return None
        self.dropped_acc_samples += n_done - kept.size
        prev = np.concatenate([np.zeros(1, np.int64), cs[kept[:-1]]])
        missing = cs[kept] - prev
        if self._emitted:
            missing[0] += self._carry
        else:
            missing[0] = 0  # samples before the first delivered one are start-up, not loss
        self._carry = int(cs[-1] - cs[kept[-1]])
        self._emitted = True
        self._t_emitted = float(done.t_s[kept[-1]])
        return ImuBlock(self.sensor_id, done.t_s[kept], done.values[kept], gyr_at[kept], done.index[kept], missing)

    def _trim_gyr(self) -> None:
        gyr = self._gyr
        if len(gyr) < 2:
            return
        # keep the bracket of the oldest ACC sample still to come
        horizon = self._acc.t_s[0] if len(self._acc) else max(self._t_emitted, gyr.t_s[-1] - self.max_wait_s)
        first = max(0, int(np.searchsorted(gyr.t_s, horizon, side="right")) - 1)
        first = min(first, len(gyr) - 1)
        if first:
            self._gyr = gyr.take(slice(first, None))


DEFAULT_RATE_HZ: Final[dict[str, float]] = {"verity_sense": 52.0, "h10": 200.0}


class PolarDecoder:
    """Stateful decoder of one Polar PMD stream (data and control-point channels) into :class:`ImuBlock`.

    Args:
        sensor_id: the sensor's id.
        model: ``"verity_sense"`` (ACC + GYRO) or ``"h10"`` (ACC only).
        sampling_rate_hz: nominal rate of both streams (Verity Sense ACC: 52 Hz; H10: 25/50/100/200 Hz).
        gyro: merge a GYRO stream; default: the model has one.
        acc_range_g, gyr_range_dps: the ranges requested at start; they give the factor of compressed frames
            until the sensor's start response states it.
        max_wait_s, max_gyr_gap_s: see :class:`AccGyrMerger`.
        max_jump_s: a frame whose timestamp is more than this after the previous one is refused
            (``PacketError`` reason ``"timestamp_jump"``) unless the following frame confirms the new time.
    """

    sensor_type: str = SENSOR_TYPE

    def __init__(
        self,
        sensor_id: str,
        *,
        model: Model = "verity_sense",
        sampling_rate_hz: float | None = None,
        gyro: bool | None = None,
        acc_range_g: int = 8,
        gyr_range_dps: int = 2000,
        max_wait_s: float = 5.0,
        max_gyr_gap_s: float | None = None,
        max_jump_s: float = 60.0,
    ) -> None:
        if model not in DEFAULT_RATE_HZ:
            raise ConfigError(f"unknown Polar model {model!r}; use 'verity_sense' or 'h10'", key="model")
        rate = DEFAULT_RATE_HZ[model] if sampling_rate_hz is None else float(sampling_rate_hz)
        if not 0.0 < rate <= 2000.0:
            raise ConfigError(
                f"Polar sampling_rate_hz={sampling_rate_hz!r} must be in (0, 2000] Hz", key="sampling_rate_hz"
            )
        if gyro and model == "h10":
            raise ConfigError("a Polar H10 has no gyroscope; drop gyro=True", key="gyro")
        self.sensor_id = sensor_id
        self.model = model
        self.sampling_rate_hz = rate
        self.gyro = (model == "verity_sense") if gyro is None else bool(gyro)
        dt_ns = 1e9 / rate
        self._clocks: dict[int, _StreamClock] = {
            MeasurementType.ACC: _StreamClock(dt_ns, dt_ns, max_jump_s * 1e9),
            MeasurementType.GYRO: _StreamClock(dt_ns, dt_ns, max_jump_s * 1e9),
        }
        # compressed-frame factors (g or deg/s per count) until the sensor states its own
        self.factors: dict[int, float] = {
            MeasurementType.ACC: compressed_factor(acc_range_g),
            MeasurementType.GYRO: compressed_factor(gyr_range_dps),
        }
        self._merger = AccGyrMerger(
            sensor_id,
            max_wait_s=max_wait_s,
            max_gyr_gap_s=(3.5 / rate) if max_gyr_gap_s is None else max_gyr_gap_s,
        )

    @property
    def dropped_acc_samples(self) -> int:
        """ACC samples dropped because no gyroscope sample could be paired with them."""
        return self._merger.dropped_acc_samples

    def decode(self, frame: RawFrame) -> ImuBlock | None:
        if frame.channel == PMD_CONTROL_UUID:
            self._on_control(frame.payload)
            return None
        pmd = parse_frame(frame.payload)
        if pmd.measurement not in (MeasurementType.ACC, MeasurementType.GYRO):
            return None  # ECG, PPG, PPI, MAG: valid, but not part of an ImuBlock
        if pmd.measurement == MeasurementType.GYRO and not self.gyro:
            return None
        n = pmd.samples.shape[0]
        t_s, idx, miss = self._clocks[pmd.measurement].times(pmd.t_last_ns, n)
        counts = pmd.samples.astype(np.float64)
        if pmd.measurement == MeasurementType.ACC:
            g_per_count = self.factors[pmd.measurement] if pmd.compressed else 1e-3  # raw ACC is mg
            values = counts * (g_per_count * STANDARD_GRAVITY_MPS2)
            s = _Samples(t_s, values, idx, miss)
            if not self.gyro:
                return ImuBlock(self.sensor_id, t_s, values, None, idx, miss)
            return self._merger.push_acc(s)
        values = np.deg2rad(counts * self.factors[pmd.measurement])
        return self._merger.push_gyr(_Samples(t_s, values, idx, miss))

    def _on_control(self, payload: bytes) -> None:
        if payload[:1] == bytes((FEATURES_CODE,)):
            parse_features(payload)
            return
        response = parse_response(payload)
        if not response.ok:
            try:
                name = PmdError(response.error).name
            except ValueError:
                name = f"error {response.error}"
            raise _err(
                f"Polar refused op {response.op} for measurement {response.measurement}: {name}; check the "
                "sample rate and ranges against the sensor's get-settings answer",
                3,
                "control_error",
            )
        if response.op == ControlOp.START and response.parameters:
            factor = response.settings().get(SettingType.FACTOR)
            if factor:
                self.factors[response.measurement] = _checked_factor(float(factor[0]), response.measurement)


#: Plausible full scales (int16 counts times the stated factor) of compressed frames: g for ACC, deg/s for GYRO.
#: Polar's sensors use 2-16 g and 250-2000 deg/s; a factor outside these bounds is a corrupt or hostile response.
FULL_SCALE_BOUNDS: Final[dict[int, tuple[float, float, str]]] = {
    MeasurementType.ACC: (0.5, 256.0, "g"),
    MeasurementType.GYRO: (10.0, 10_000.0, "deg/s"),
}


def _checked_factor(factor: float, measurement: int) -> float:
    """The start response's compressed-frame factor, if its full scale is physically plausible."""
    low, high, unit = FULL_SCALE_BOUNDS.get(measurement, (0.0, math.inf, "units"))
    full_scale = factor * 32767.0
    if not (math.isfinite(factor) and low <= full_scale <= high):
        raise _err(
            f"Polar start response states a compressed-frame factor of {factor!r} {unit} per count (full scale "
            f"{full_scale:.6g} {unit}), outside the plausible {low:g}-{high:g} {unit}: the response is corrupt or the "
            "sensor is not a supported Polar model; stop and start the stream again, and report the model if this "
            "persists",
            0,
            "factor",
        )
    return factor


_DECODER_SETTINGS: Final = frozenset(
    {"model", "sampling_rate_hz", "gyro", "acc_range_g", "gyr_range_dps", "max_wait_s", "max_gyr_gap_s", "max_jump_s"}
)


def make_decoder(sensor_id: str, **settings: Any) -> PolarDecoder:
    """Registry factory; settings as :class:`PolarDecoder`'s keyword arguments."""
    unknown = set(settings) - _DECODER_SETTINGS
    if unknown:
        raise ConfigError(
            f"unknown Polar setting(s) {sorted(unknown)}; accepted: {sorted(_DECODER_SETTINGS)}", key="sensor.settings"
        )
    return PolarDecoder(sensor_id, **settings)


def _start_settings(model: str, rate_hz: float, range_value: int) -> dict[SettingType, SettingValue]:
    settings: dict[SettingType, SettingValue] = {
        SettingType.SAMPLE_RATE: round(rate_hz),
        SettingType.RESOLUTION: 16,
        SettingType.RANGE: range_value,
    }
    if model == "verity_sense":
        settings[SettingType.CHANNELS] = 3
    return settings


def _stream_plan(settings: dict[str, Any]) -> tuple[str, float, bool, int, int]:
    model = str(settings.get("model", "verity_sense"))
    if model not in DEFAULT_RATE_HZ:
        raise ConfigError(f"unknown Polar model {model!r}; use 'verity_sense' or 'h10'", key="model")
    rate = settings.get("sampling_rate_hz") or DEFAULT_RATE_HZ[model]
    gyro = settings.get("gyro")
    gyro = (model == "verity_sense") if gyro is None else bool(gyro)
    return model, float(rate), gyro, int(settings.get("acc_range_g", 8)), int(settings.get("gyr_range_dps", 2000))


def start_writes(**settings: Any) -> tuple[GattWrite, ...]:
    """Start ACC (and GYRO) on the control point; the sensor answers by indication on the same characteristic."""
    model, rate, gyro, acc_range, gyr_range = _stream_plan(settings)
    writes = [
        GattWrite(
            PMD_CONTROL_UUID,
            encode_start(MeasurementType.ACC, _start_settings(model, rate, acc_range)),
            with_response=True,
        )
    ]
    if gyro:
        writes.append(
            GattWrite(
                PMD_CONTROL_UUID,
                encode_start(MeasurementType.GYRO, _start_settings(model, rate, gyr_range)),
                with_response=True,
            )
        )
    return tuple(writes)


def stop_writes(**settings: Any) -> tuple[GattWrite, ...]:
    _, _, gyro, _, _ = _stream_plan(settings)
    types = (MeasurementType.ACC, MeasurementType.GYRO) if gyro else (MeasurementType.ACC,)
    return tuple(GattWrite(PMD_CONTROL_UUID, encode_stop(t), with_response=True) for t in types)


def settings_for_name(name: str | None) -> dict[str, Any]:
    """H10 (chest strap): ACC only at 200 Hz; otherwise (Verity Sense): ACC + GYRO at 52 Hz."""
    if name and "H10" in name:
        return {"model": "h10", "sampling_rate_hz": 200.0}
    return {"model": "verity_sense", "sampling_rate_hz": 52.0}


# ---- impersonation ------------------------------------------------------------------------------------------------
# What each model offers (Polar's published capabilities; get-settings answers of the real sensors list these).
_CAPABILITIES: Final[dict[str, dict[int, dict[SettingType, tuple[int, ...]]]]] = {
    "verity_sense": {
        MeasurementType.ACC: {
            SettingType.SAMPLE_RATE: (52,),
            SettingType.RESOLUTION: (16,),
            SettingType.RANGE: (2, 4, 8, 16),
            SettingType.CHANNELS: (3,),
        },
        MeasurementType.GYRO: {
            SettingType.SAMPLE_RATE: (52, 104, 208, 416),
            SettingType.RESOLUTION: (16,),
            SettingType.RANGE: (250, 500, 1000, 2000),
            SettingType.CHANNELS: (3,),
        },
    },
    "h10": {
        MeasurementType.ACC: {
            SettingType.SAMPLE_RATE: (25, 50, 100, 200),
            SettingType.RESOLUTION: (16,),
            SettingType.RANGE: (2, 4, 8),
        },
    },
}
_SETTING_ERRORS: Final = {
    SettingType.SAMPLE_RATE: PmdError.INVALID_SAMPLE_RATE,
    SettingType.RESOLUTION: PmdError.INVALID_RESOLUTION,
    SettingType.RANGE: PmdError.INVALID_RANGE,
    SettingType.CHANNELS: PmdError.INVALID_NUMBER_OF_CHANNELS,
}


def answer_command(data: bytes, *, model: Model = "verity_sense") -> tuple[bytes, PmdCommand | None]:
    """What a Polar sensor indicates on its control point after the write ``data`` (for the virtual sensor).

    Returns the response payload and the parsed command (``None`` if it could not be parsed). A start with
    supported settings is answered with the compressed-frame factor as parameter (Verity Sense) and the
    caller then streams that measurement; unsupported values give the PMD error the real sensor reports.
    """
    op = data[0] if data else 0
    measurement = data[1] if len(data) > 1 else 0
    try:
        command = parse_command(data)
    except PacketError as exc:
        error = PmdError.INVALID_OP_CODE if exc.reason == "op_code" else PmdError.INVALID_LENGTH
        return encode_response(op, measurement, error), None
    caps = _CAPABILITIES[model].get(command.measurement)
    if caps is None:
        return encode_response(command.op, command.measurement, PmdError.NOT_SUPPORTED), command
    if command.op == ControlOp.GET_SETTINGS:
        listed = b"".join(
            bytes((kind, len(values))) + b"".join(v.to_bytes(_FIELD_SIZE[kind], "little") for v in values)
            for kind, values in caps.items()
        )
        return encode_response(command.op, command.measurement, parameters=listed), command
    if command.op == ControlOp.STOP:
        return encode_response(command.op, command.measurement), command
    for kind, values in command.settings.items():
        allowed = caps.get(kind)
        if allowed is not None and (len(values) != 1 or values[0] not in allowed):
            error = _SETTING_ERRORS.get(kind, PmdError.INVALID_PARAMETER)
            return encode_response(command.op, command.measurement, error), command
    if model == "h10":  # raw frames, no factor
        return encode_response(command.op, command.measurement), command
    range_value = int(command.settings.get(SettingType.RANGE, (caps[SettingType.RANGE][-1],))[0])
    factor = encode_settings({SettingType.FACTOR: compressed_factor(range_value)})
    return encode_response(command.op, command.measurement, parameters=factor), command


def encode_block(
    block: ImuBlock,
    *,
    measurement: MeasurementType = MeasurementType.ACC,
    compressed: bool = True,
    factor: float | None = None,
    max_payload: int = 244,
) -> list[bytes]:
    """Data notifications carrying ``block``'s ACC or GYRO samples, each at most ``max_payload`` bytes (MTU - 3).

    Timestamps are ``round(t_s * 1e9)`` of each frame's last sample. Raw ACC is int16 mg; compressed ACC is
    counts of ``factor`` g (default 8 g range: 2.44e-4), GYRO counts of ``factor`` deg/s (default 2000 dps
    range: 0.061). Pass the same factor to the decoder (start response) or keep the ranges' defaults.
    """
    if measurement == MeasurementType.ACC:
        # raw ACC frames are whole mg whatever the factor
        per_count = (factor if factor is not None else compressed_factor(8)) if compressed else 1e-3
        counts = np.rint(block.acc_mps2 / STANDARD_GRAVITY_MPS2 / per_count)
    elif measurement == MeasurementType.GYRO:
        if block.gyr_radps is None:
            raise ConfigError("the block has no gyroscope data to encode as a Polar GYRO stream")
        per_count = factor if factor is not None else compressed_factor(2000)
        counts = np.rint(np.rad2deg(block.gyr_radps) / per_count)
    else:
        raise ConfigError(f"only ACC and GYRO blocks can be encoded, not measurement {measurement}")
    counts_i = np.clip(counts, -32768, 32767).astype(np.int64)
    if compressed:
        width = _signed_width(np.diff(counts_i, axis=0))
        room = max_payload - HEADER_LEN - 6  # after the header and the reference sample
        n_deltas = 0
        while n_deltas < 4096 and _compressed_blocks_size(n_deltas + 1, width) <= room:
            n_deltas += 1
        per_frame = n_deltas + 1
    else:
        per_frame = (max_payload - HEADER_LEN) // 6
    if per_frame < 1:
        raise ConfigError(f"max_payload={max_payload} leaves no room for a sample; use the MTU - 3 (>= 20)")
    t_ns = np.rint(block.t_s * 1e9).astype(np.int64)
    out = []
    for i in range(0, len(block), per_frame):
        chunk = counts_i[i : i + per_frame]
        out.append(encode_frame(measurement, int(t_ns[i + chunk.shape[0] - 1]), chunk, compressed=compressed))
    return out


SPEC: Final = SensorTypeSpec(
    name=SENSOR_TYPE,
    description="Polar PMD: Verity Sense (acc + gyro) and H10 (acc); sensor timestamps, raw and compressed",
    service_uuids=(PMD_SERVICE_UUID,),
    characteristics=(
        CharSpec(PMD_CONTROL_UUID, PMD_SERVICE_UUID, frozenset({"read", "write", "indicate"})),
        CharSpec(PMD_DATA_UUID, PMD_SERVICE_UUID, frozenset({"notify"})),
    ),
    # the control point first: its indications carry the start responses (and the compressed-frame factor)
    subscribe_uuids=(PMD_CONTROL_UUID, PMD_DATA_UUID),
    make_decoder=make_decoder,
    start_writes=start_writes,
    stop_writes=stop_writes,
    name_patterns=(r"^Polar (Sense|H10|OH1|Verity)",),
    manufacturer_ids=(POLAR_COMPANY_ID,),
    settings_for_name=settings_for_name,
    clock="sensor",
)
