"""Host codec of the HipSense sensor protocol v1 (``firmware_proto/PROTOCOL.md``): sans-IO, numpy-vectorised.

* :func:`decode_packet` / :func:`decode_packets`: stateless decoding of data notifications (one, or many at once
  with no per-sample Python loop), validating every header field.
* :class:`HipSenseV1Decoder`: the stateful :class:`~sensor.protocol.base.StreamDecoder` of one sensor's stream:
  unwraps the 16-bit sample index and the 24-bit sensor clock, marks lost samples exactly (``missing_before``),
  drops duplicates (backlog replays), refuses out-of-order and malformed packets with
  :class:`~sensor.errors.PacketError`.
* Control point: :func:`encode_command` and friends (host -> sensor), :func:`decode_response`; and
  :func:`decode_status`, :func:`decode_info`.

The sensor-side encoder is ``firmware_proto/micropython/hsproto.py`` (one encoder, shared by firmware and the
virtual sensor); its tables (UUIDs, rate and range codes, LSB sizes) are imported from there, so the two sides
cannot disagree on them. The golden vectors in ``firmware_proto/vectors/`` pin both sides.
"""

from __future__ import annotations

import math
import operator
import struct
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from firmware_proto.micropython import hsproto as _hs
from sensor.errors import CommandRejectedError, ConfigError, PacketError
from sensor.frames import STANDARD_GRAVITY_MPS2
from sensor.model import FloatArray, ImuBlock, IntArray, RawFrame
from sensor.protocol.registry import CharSpec, GattWrite, SensorTypeSpec

SENSOR_TYPE: Final = "hipsense_v1"
PROTOCOL_VERSION: Final[int] = _hs.PROTOCOL_VERSION
SERVICE_UUID: Final[str] = _hs.SERVICE_UUID
DATA_UUID: Final[str] = _hs.DATA_UUID
CONTROL_UUID: Final[str] = _hs.CONTROL_UUID
STATUS_UUID: Final[str] = _hs.STATUS_UUID
INFO_UUID: Final[str] = _hs.INFO_UUID
HEADER_LEN: Final[int] = _hs.HEADER_LEN
TICKS_PER_S: Final[int] = _hs.TICKS_PER_S
TS_MODULUS: Final[int] = _hs.TS_MODULUS
INDEX_MODULUS: Final[int] = _hs.INDEX_MODULUS
GYR_OFF: Final[int] = _hs.GYR_OFF

RATE_HZ: Final[dict[int, float]] = dict(_hs.RATE_HZ)
ACC_RANGE_G: Final[dict[int, int]] = {k: v[0] for k, v in _hs.ACC_RANGES.items()}
GYR_RANGE_DPS: Final[dict[int, int]] = {k: v[0] for k, v in _hs.GYR_RANGES.items()}

# Lookup tables indexed by the raw header codes (nan = invalid code).
_RATE_LUT = np.full(16, np.nan)
for _c, _hz in _hs.RATE_HZ.items():
    _RATE_LUT[_c] = _hz
_ACC_LSB_MPS2 = np.array([_hs.ACC_RANGES[c][1] * STANDARD_GRAVITY_MPS2 for c in range(4)])
_GYR_LSB_RADPS = np.full(8, np.nan)
for _c, (_, _lsb) in _hs.GYR_RANGES.items():
    _GYR_LSB_RADPS[_c] = math.radians(_lsb)
_GYR_VALID = ~np.isnan(_GYR_LSB_RADPS)
_GYR_VALID[GYR_OFF] = True
# k / rate for k = 0..255: the offsets of a packet's samples from its first one, per rate code
_SAMPLE_OFFSETS_S: Final[dict[int, FloatArray]] = {
    c: np.arange(256, dtype=np.float64) / hz for c, hz in _hs.RATE_HZ.items()
}

RESULT_NAMES: Final[dict[int, str]] = {
    _hs.RES_SUCCESS: "success",
    _hs.RES_UNSUPPORTED_OPCODE: "unsupported op code",
    _hs.RES_INVALID_PARAMETER: "invalid parameter",
    _hs.RES_INVALID_LENGTH: "invalid length",
    _hs.RES_OPERATION_FAILED: "operation failed",
}
OPCODE_NAMES: Final[dict[int, str]] = {
    _hs.OP_START: "start",
    _hs.OP_STOP: "stop",
    _hs.OP_SET_RATE: "set_rate",
    _hs.OP_SET_ACC_RANGE: "set_acc_range",
    _hs.OP_SET_GYR_RANGE: "set_gyr_range",
    _hs.OP_TIME_SYNC: "time_sync",
    _hs.OP_SEND_BACKLOG: "send_backlog",
    _hs.OP_GET_CONFIG: "get_config",
}


def _err(message: str, offset: int, reason: str) -> PacketError:
    return PacketError(message, offset=offset, reason=reason, sensor_type=SENSOR_TYPE)


# -- data packets: stateless ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class PacketBatch:
    """Many decoded data packets: header fields per packet, samples concatenated in packet order.

    Attributes:
        index_raw: low 16 bits of each packet's first sample index, shape ``(p,)``.
        ts_ticks_raw: low 24 bits of each packet's first-sample time in 1/32768 s, shape ``(p,)``.
        n_samples: samples per packet, shape ``(p,)``; ``offsets`` = ``[0, cumsum(n_samples)]``.
        rate_code, acc_range_code, gyr_range_code: the codes per packet (``gyr_range_code == 7``: no gyroscope).
        sampling_rate_hz: nominal rate per packet.
        acc_counts, gyr_counts: raw int16 counts, shape ``(n, 3)``; gyroscope rows of accelerometer-only
            packets are zero.
        acc_mps2, gyr_radps: the same in SI units (gyroscope nan for accelerometer-only packets).
    """

    index_raw: IntArray
    ts_ticks_raw: IntArray
    n_samples: IntArray
    offsets: IntArray
    rate_code: IntArray
    acc_range_code: IntArray
    gyr_range_code: IntArray
    sampling_rate_hz: FloatArray
    acc_counts: NDArray[np.int16]
    gyr_counts: NDArray[np.int16]
    acc_mps2: FloatArray
    gyr_radps: FloatArray

    def __len__(self) -> int:
        return int(self.n_samples.shape[0])

    @property
    def has_gyr(self) -> NDArray[np.bool_]:
        return np.not_equal(self.gyr_range_code, GYR_OFF)


def _check_headers(
    hdr: NDArray[np.uint8], lengths: IntArray, order: IntArray
) -> tuple[IntArray, IntArray, IntArray, IntArray]:
    """Validate headers ``(p, 8)`` of payloads with these lengths; raise for the first bad one (in ``order``)."""
    version = (hdr[:, 0] >> 4).astype(np.int64)
    rate = (hdr[:, 0] & 0x0F).astype(np.int64)
    gyr = ((hdr[:, 1] >> 3) & 0x07).astype(np.int64)
    n = hdr[:, 2].astype(np.int64)
    expected = HEADER_LEN + n * np.where(gyr == GYR_OFF, 6, 12)
    checks = (
        (version != PROTOCOL_VERSION, "version", 0),
        (np.isnan(_RATE_LUT[rate]), "rate", 0),
        (~_GYR_VALID[gyr], "gyr_range", 1),
        ((hdr[:, 1] & 0x07) != 0, "reserved", 1),
        (n == 0, "count", 2),
        (lengths < expected, "truncated", -1),
        (lengths > expected, "length", -2),
    )
    bad = np.zeros(len(lengths), dtype=bool)
    for mask, _, _ in checks:
        bad |= mask
    if bad.any():
        first = int(np.flatnonzero(bad)[np.argmin(order[bad])])
        for mask, reason, _offset in checks:
            if mask[first]:
                raise _packet_error(hdr[first], int(lengths[first]), reason, int(order[first]))
    return rate, gyr, n, expected


def _packet_error(h: NDArray[np.uint8], length: int, reason: str, packet_no: int) -> PacketError:
    where = f"packet {packet_no}: " if packet_no >= 0 else ""
    n = int(h[2])
    gyr = (int(h[1]) >> 3) & 7
    expected = HEADER_LEN + n * (6 if gyr == GYR_OFF else 12)
    if reason == "version":
        return _err(
            f"{where}byte 0 carries protocol version {int(h[0]) >> 4}, this host decodes version {PROTOCOL_VERSION}; "
            "update HipSense or the sensor firmware so they speak the same major version",
            0,
            reason,
        )
    if reason == "rate":
        return _err(
            f"{where}byte 0 carries rate code {int(h[0]) & 15}, valid codes are {sorted(RATE_HZ)}; the packet is "
            "corrupt or from a newer minor version",
            0,
            reason,
        )
    if reason == "gyr_range":
        return _err(f"{where}byte 1 carries gyroscope range code {gyr}, valid are 0..4 and 7 (off)", 1, reason)
    if reason == "reserved":
        return _err(f"{where}byte 1 has reserved bits 0x{int(h[1]) & 7:x} set; they must be 0 in v1", 1, reason)
    if reason == "count":
        return _err(f"{where}byte 2 (sample count) is 0; a data packet carries at least one sample", 2, reason)
    if reason == "truncated":
        return _err(
            f"{where}payload ends at byte {length} but {n} samples need {expected} bytes; the notification was cut "
            "(ATT MTU smaller than the sensor assumed?)",
            length,
            reason,
        )
    return _err(
        f"{where}payload has {length} bytes but the header announces {n} samples = {expected} bytes; "
        "trailing bytes are not allowed",
        expected,
        reason,
    )


def decode_packets(payloads: Sequence[bytes]) -> PacketBatch:
    """Decode many data notifications at once (vectorised per group of equal length).

    Raises:
        PacketError: for the first malformed payload (its number is in the message), nothing is returned.
    """
    p = len(payloads)
    lengths = np.fromiter(map(len, payloads), dtype=np.int64, count=p)
    order = np.arange(p, dtype=np.int64)
    if p and int(lengths.min()) < HEADER_LEN:
        first = int(np.flatnonzero(lengths < HEADER_LEN)[0])
        raise _err(
            f"packet {first}: payload of {int(lengths[first])} bytes is shorter than the {HEADER_LEN}-byte header",
            int(lengths[first]),
            "short",
        )
    buf = np.frombuffer(b"".join(payloads), dtype=np.uint8)
    starts = np.zeros(p, dtype=np.int64)
    if p:
        np.cumsum(lengths[:-1], out=starts[1:])
    uniform = p > 0 and int(lengths.min()) == int(lengths.max())
    if uniform:
        hdr = buf.reshape(p, -1)[:, :HEADER_LEN]
    else:
        hdr = buf[starts[:, None] + np.arange(HEADER_LEN)] if p else np.zeros((0, HEADER_LEN), np.uint8)
    rate, gyr, n, _ = _check_headers(hdr, lengths, order)
    offsets = np.zeros(p + 1, dtype=np.int64)
    np.cumsum(n, out=offsets[1:])
    total = int(offsets[-1])
    acc_counts = np.empty((total, 3), dtype=np.int16)
    gyr_counts = np.zeros((total, 3), dtype=np.int16)
    # Group packets of equal length and layout: their sample bytes form one (k, n, c) int16 view.
    key = lengths * 2 + (gyr != GYR_OFF)
    if p and bool((key == key[0]).all()):
        groups = [np.arange(p)]
    else:
        _, inverse = np.unique(key, return_inverse=True)
        groups = [np.flatnonzero(inverse == g) for g in range(int(inverse.max()) + 1)] if p else []
    for g in groups:
        length = int(lengths[g[0]])
        has_g = bool(gyr[g[0]] != GYR_OFF)
        ng = int(n[g[0]])
        c = 6 if has_g else 3
        rows = buf.reshape(p, length) if g.size == p else buf[starts[g][:, None] + np.arange(length)]
        vals = rows[:, HEADER_LEN:].view("<i2").reshape(g.size, ng, c)
        dest = slice(None) if g.size == p else (offsets[g][:, None] + np.arange(ng)).ravel()
        acc_counts[dest] = vals[:, :, :3].reshape(-1, 3)
        if has_g:
            gyr_counts[dest] = vals[:, :, 3:].reshape(-1, 3)
    acc_code = (hdr[:, 1] >> 6).astype(np.int64)
    acc_scale = np.repeat(_ACC_LSB_MPS2[acc_code], n)
    gyr_scale = np.repeat(_GYR_LSB_RADPS[gyr], n)
    index_raw = hdr[:, 3].astype(np.int64) | (hdr[:, 4].astype(np.int64) << 8)
    ts_raw = hdr[:, 5].astype(np.int64) | (hdr[:, 6].astype(np.int64) << 8) | (hdr[:, 7].astype(np.int64) << 16)
    return PacketBatch(
        index_raw=index_raw,
        ts_ticks_raw=ts_raw,
        n_samples=n,
        offsets=offsets,
        rate_code=rate,
        acc_range_code=acc_code,
        gyr_range_code=gyr,
        sampling_rate_hz=_RATE_LUT[rate],
        acc_counts=acc_counts,
        gyr_counts=gyr_counts,
        acc_mps2=acc_counts * acc_scale[:, None],
        gyr_radps=gyr_counts * gyr_scale[:, None],
    )


@dataclass(frozen=True, slots=True, eq=False)
class DataPacket:
    """One decoded data notification (see PROTOCOL.md, "IMU data packet")."""

    version: int
    rate_code: int
    acc_range_code: int
    gyr_range_code: int
    index_raw: int
    ts_ticks_raw: int
    acc_counts: NDArray[np.int16]
    gyr_counts: NDArray[np.int16] | None

    @property
    def n_samples(self) -> int:
        return int(self.acc_counts.shape[0])

    @property
    def has_gyr(self) -> bool:
        return self.gyr_counts is not None

    @property
    def sampling_rate_hz(self) -> float:
        return RATE_HZ[self.rate_code]

    @property
    def acc_range_g(self) -> int:
        return ACC_RANGE_G[self.acc_range_code]

    @property
    def gyr_range_dps(self) -> int | None:
        return None if self.gyr_range_code == GYR_OFF else GYR_RANGE_DPS[self.gyr_range_code]

    @property
    def acc_mps2(self) -> FloatArray:
        out: FloatArray = self.acc_counts.astype(np.float64) * float(_ACC_LSB_MPS2[self.acc_range_code])
        return out

    @property
    def gyr_radps(self) -> FloatArray | None:
        if self.gyr_counts is None:
            return None
        out: FloatArray = self.gyr_counts.astype(np.float64) * float(_GYR_LSB_RADPS[self.gyr_range_code])
        return out


def _parse_one(payload: bytes) -> tuple[int, int, int, int, int, int, int]:
    """Header of one packet -> (rate, acc, gyr, n, index_raw, ts_raw, bytes per sample); validates all of it."""
    length = len(payload)
    if length < HEADER_LEN:
        raise _err(
            f"payload of {length} bytes is shorter than the {HEADER_LEN}-byte header; not a HipSense v1 data packet",
            length,
            "short",
        )
    b0, b1, n, idx, ts_lo, ts_hi = struct.unpack_from("<BBBHHB", payload)
    rate, gyr = b0 & 0x0F, (b1 >> 3) & 0x07
    bps = 6 if gyr == GYR_OFF else 12
    reason = None
    if b0 >> 4 != PROTOCOL_VERSION:
        reason = "version"
    elif rate not in RATE_HZ:
        reason = "rate"
    elif not _GYR_VALID[gyr]:
        reason = "gyr_range"
    elif b1 & 0x07:
        reason = "reserved"
    elif n == 0:
        reason = "count"
    elif length < HEADER_LEN + n * bps:
        reason = "truncated"
    elif length > HEADER_LEN + n * bps:
        reason = "length"
    if reason is not None:
        raise _packet_error(np.frombuffer(payload[:HEADER_LEN], np.uint8), length, reason, -1)
    return rate, b1 >> 6, gyr, n, idx, ts_lo | (ts_hi << 16), bps


def decode_packet(payload: bytes) -> DataPacket:
    """Decode one data notification.

    Raises:
        PacketError: ``reason`` one of ``short``, ``version``, ``rate``, ``gyr_range``, ``reserved``, ``count``,
            ``truncated``, ``length``; ``offset`` = the byte where the problem is.
    """
    rate, acc, gyr, n, idx, ts, bps = _parse_one(payload)
    vals = np.frombuffer(payload, dtype="<i2", offset=HEADER_LEN).reshape(n, bps // 2)
    return DataPacket(
        version=PROTOCOL_VERSION,
        rate_code=rate,
        acc_range_code=acc,
        gyr_range_code=gyr,
        index_raw=idx,
        ts_ticks_raw=ts,
        acc_counts=vals[:, :3].astype(np.int16),
        gyr_counts=None if gyr == GYR_OFF else vals[:, 3:].astype(np.int16),
    )


# -- SI -> counts (for sources that simulate a sensor: the virtual sensor) ------------------------------------------


def counts_from_si(
    acc_mps2: FloatArray, gyr_radps: FloatArray | None, acc_range_code: int, gyr_range_code: int
) -> tuple[NDArray[np.int16], NDArray[np.int16] | None]:
    """Quantise SI samples to protocol counts as an IMU does: round to the nearest LSB, saturate at int16.

    The inverse of the decoder's scaling (within half an LSB inside the range). ``gyr_radps`` must be ``None``
    exactly when ``gyr_range_code`` is 7 (gyroscope off).
    """
    if acc_range_code not in ACC_RANGE_G:
        raise ValueError(f"accelerometer range code {acc_range_code} is not one of {sorted(ACC_RANGE_G)}")
    if (gyr_radps is None) != (gyr_range_code == GYR_OFF):
        raise ValueError("give gyroscope samples exactly when the gyroscope range code is not 7 (off)")
    if gyr_range_code != GYR_OFF and gyr_range_code not in GYR_RANGE_DPS:
        raise ValueError(f"gyroscope range code {gyr_range_code} is not one of {sorted(GYR_RANGE_DPS)} or 7")

    def q(x: FloatArray, lsb: float) -> NDArray[np.int16]:
        return np.clip(np.rint(np.asarray(x, dtype=np.float64) / lsb), -32768, 32767).astype(np.int16)

    acc = q(acc_mps2, float(_ACC_LSB_MPS2[acc_range_code]))
    gyr = None if gyr_radps is None else q(gyr_radps, float(_GYR_LSB_RADPS[gyr_range_code]))
    return acc, gyr


def sample_records(acc_counts: NDArray[np.int16], gyr_counts: NDArray[np.int16] | None) -> bytes:
    """Counts ``(n, 3)`` -> the samples part of a data packet (acc then gyr per sample, int16 little-endian):
    what ``hsproto.encode_data_packet_raw`` and ``SensorCore.push`` take."""
    parts = [acc_counts] if gyr_counts is None else [acc_counts, gyr_counts]
    return np.hstack(parts).astype("<i2").tobytes()


# -- the stream decoder -----------------------------------------------------------------------------------------


_CHANNEL: Final = operator.attrgetter("channel")
_PAYLOAD: Final = operator.attrgetter("payload")
_HOST_T_S: Final = operator.attrgetter("host_t_s")
_VECTORISED_MIN_FRAMES: Final = 24  # below this the per-packet header path is faster than the array set-up


def _wrap_k(d: float, modulus: int) -> int:
    return math.floor(d / modulus + 0.5)


class HipSenseV1Decoder:
    """Stateful decoder of one HipSense v1 sensor's notifications (:class:`~sensor.protocol.base.StreamDecoder`).

    State is a handful of integers (last index, last time, the last few gaps), never the data.

    * Sample index: the 16-bit index is unwrapped with the help of the unwrapped sensor clock and the nominal
      rate, so a gap is counted exactly (``missing_before``) as long as the clock is unwrapped correctly.
    * Sensor clock: the 24-bit tick counter (1/32768 s, wraps every 512 s) is unwrapped with the host receive
      times as a coarse guide, so link drops of any length unwrap correctly as long as the replay delay
      (host time minus sensor time) changes by less than 256 s between two packets.
    * ``t_s`` of a sample = sensor clock of its packet's first sample (unwrapped, seconds) + k / nominal rate.
    * A packet that only repeats samples already delivered (backlog replay) is a duplicate: ``None``. A packet
      that partly overlaps is trimmed. A packet holding samples that were already reported lost (a gap) cannot be
      inserted into the past: ``PacketError(reason="order")``.
    * Frames on the status, info and control channels are validated and give ``None``; ``last_status`` keeps
      the latest status.

    When the sensor restarts (the info characteristic's ``boot_id`` changes), call :meth:`reset`.
    """

    sensor_type = SENSOR_TYPE

    def __init__(self, sensor_id: str | None = None, *, remembered_gaps: int = 16) -> None:
        self.sensor_id = sensor_id
        self._gaps: deque[tuple[int, int]] = deque(maxlen=remembered_gaps)
        self.last_status: SensorStatus | None = None
        self.n_packets = 0
        self.n_duplicates = 0
        self.n_missing = 0
        self.n_errors = 0
        self.reset()

    def reset(self) -> None:
        """Forget the stream position (after a sensor restart); counters and ``last_status`` stay."""
        self._ref_index: int | None = None  # unwrapped index of the last accepted packet's first sample
        self._ref_ts = 0  # its unwrapped sensor time, ticks
        self._ref_rate = 0.0
        self._ref_host_t_s = 0.0
        self._last_index = -1  # last delivered sample
        self._last_t_ticks = 0.0  # its time, ticks
        self._gaps.clear()

    @property
    def last_sample_index(self) -> int | None:
        """Unwrapped index of the last delivered sample (ask the sensor for backlog from this + 1)."""
        return None if self._ref_index is None else self._last_index

    # ---- one frame -----------------------------------------------------------------------------------------
    def decode(self, frame: RawFrame) -> ImuBlock | None:
        """Decode one frame; ``None`` for duplicates and for status/info/control frames.

        Raises:
            PacketError: malformed packet, or one out of order / with time running backwards; the state is
                unchanged, the caller counts and skips it.
        """
        try:
            if frame.channel in _OTHER_CHANNELS:
                self._decode_other(frame)
                return None
            return self._decode_data(frame)
        except PacketError:
            self.n_errors += 1
            raise

    def _decode_other(self, frame: RawFrame) -> None:
        if frame.channel == STATUS_UUID:
            self.last_status = decode_status(frame.payload)
        elif frame.channel == INFO_UUID:
            decode_info(frame.payload)
        else:
            decode_response(frame.payload)

    def _decode_data(self, frame: RawFrame) -> ImuBlock | None:
        acc = self._accept(frame)
        if acc is None:
            return None
        return self._build(frame.sensor_id, [acc], [frame.payload])

    def _accept(self, frame: RawFrame) -> _Accepted | None:
        """Validate and place one data packet and advance the state; ``None`` for a duplicate.

        Raises PacketError before touching the state.
        """
        rate_code, acc_code, gyr_code, n, idx_raw, ts_raw, bps = _parse_one(frame.payload)
        rate_hz = RATE_HZ[rate_code]
        if self._ref_index is None:
            first, ts, skip, missing = idx_raw, ts_raw, 0, 0
        else:
            first, ts = self._unwrap(idx_raw, ts_raw, frame.host_t_s)
            skip, missing = self._place(first, n)
            if skip >= n:
                self.n_duplicates += 1
                return None
            t_first = ts + skip * TICKS_PER_S / rate_hz
            if not t_first > self._last_t_ticks:
                raise _err(
                    f"sample {first + skip} has sensor time {t_first / TICKS_PER_S:.6f} s, not after the previous "
                    f"sample's {self._last_t_ticks / TICKS_PER_S:.6f} s; the sensor clock went backwards "
                    "(sensor restarted? then reset() the decoder)",
                    5,
                    "timestamp",
                )
            missing = max(missing, 0)
        if missing > 0:
            self._gaps.append((self._last_index + 1, first - 1))
            self.n_missing += missing
        self._ref_index, self._ref_ts, self._ref_rate, self._ref_host_t_s = first, ts, rate_hz, frame.host_t_s
        self._last_index = first + n - 1
        self._last_t_ticks = ts + (n - 1) * TICKS_PER_S / rate_hz
        self.n_packets += 1
        return _Accepted(first, skip, n, missing, ts, rate_code, acc_code, gyr_code, bps)

    def _build(self, sensor_id: str, items: list[_Accepted], payloads: list[bytes]) -> ImuBlock:
        """One block from accepted packets of one gyroscope presence (float ops identical for any grouping)."""
        sid = sensor_id if self.sensor_id is None else self.sensor_id
        a = items[0]
        if len(items) == 1:
            vals = np.frombuffer(payloads[0], dtype="<i2", offset=HEADER_LEN + a.skip * a.bps)
            vals = vals.reshape(-1, a.bps // 2)
            m = a.n - a.skip
            miss = np.zeros(m, dtype=np.int64)
            miss[0] = a.missing
            return ImuBlock(
                sid,
                a.ts / TICKS_PER_S + _SAMPLE_OFFSETS_S[a.rate_code][a.skip : a.n],
                vals[:, :3] * _ACC_LSB_MPS2[a.acc_code],
                None if a.gyr_code == GYR_OFF else vals[:, 3:] * _GYR_LSB_RADPS[a.gyr_code],
                np.arange(a.first + a.skip, a.first + a.n, dtype=np.int64),
                miss,
            )
        body = b"".join([p[HEADER_LEN + it.skip * it.bps :] for it, p in zip(items, payloads, strict=True)])
        vals = np.frombuffer(body, dtype="<i2").reshape(-1, a.bps // 2)
        head = np.array(
            [
                (it.first + it.skip, it.n - it.skip, it.skip, it.missing, it.rate_code, it.acc_code, it.gyr_code)
                for it in items
            ],
            dtype=np.int64,
        )
        ts = np.array([it.ts for it in items], dtype=np.int64)
        cnt = head[:, 1]
        starts = np.zeros(len(items), dtype=np.int64)
        np.cumsum(cnt[:-1], out=starts[1:])
        k = np.arange(int(cnt.sum()), dtype=np.int64) - np.repeat(starts, cnt)
        miss = np.zeros(k.shape[0], dtype=np.int64)
        miss[starts] = head[:, 3]
        within = (k + np.repeat(head[:, 2], cnt)).astype(np.float64)
        gyr = None
        if a.gyr_code != GYR_OFF:
            gyr = vals[:, 3:] * np.repeat(_GYR_LSB_RADPS[head[:, 6]], cnt)[:, None]
        return ImuBlock(
            sid,
            np.repeat(ts / TICKS_PER_S, cnt) + within / np.repeat(_RATE_LUT[head[:, 4]], cnt),
            vals[:, :3] * np.repeat(_ACC_LSB_MPS2[head[:, 5]], cnt)[:, None],
            gyr,
            np.repeat(head[:, 0], cnt) + k,
            miss,
        )

    def _unwrap(self, idx_raw: int, ts_raw: int, host_t_s: float) -> tuple[int, int]:
        assert self._ref_index is not None
        d_ts = (ts_raw - self._ref_ts) % TS_MODULUS
        d_host_ticks = (host_t_s - self._ref_host_t_s) * TICKS_PER_S
        ts = self._ref_ts + d_ts + _wrap_k(d_host_ticks - d_ts, TS_MODULUS) * TS_MODULUS
        d_idx = (idx_raw - self._ref_index) % INDEX_MODULUS
        expected = (ts - self._ref_ts) / TICKS_PER_S * self._ref_rate
        first = self._ref_index + d_idx + _wrap_k(expected - d_idx, INDEX_MODULUS) * INDEX_MODULUS
        return first, ts

    def _place(self, first: int, n: int) -> tuple[int, int]:
        """-> (samples to skip as already delivered, samples missing before the first new one; -1 if none)."""
        last = self._last_index
        if first > last:
            return 0, first - last - 1
        end = first + n - 1
        hi = min(end, last)
        for g0, g1 in self._gaps:
            if first <= g1 and hi >= g0:
                raise _err(
                    f"packet with samples {first}..{end} arrived after sample {last}, and samples {max(first, g0)}.."
                    f"{min(hi, g1)} were already reported lost; a stream cannot be filled in afterwards (ask for the "
                    "backlog right after reconnecting, before new samples)",
                    3,
                    "order",
                )
        return min(last - first + 1, n), -1

    # ---- many frames -----------------------------------------------------------------------------------------
    def decode_batch(self, frames: Sequence[RawFrame]) -> list[ImuBlock]:
        """Decode many frames at once; equals decoding them one by one and concatenating the blocks.

        Returns one block per run of frames with the same gyroscope presence (usually one block). Malformed or
        out-of-order frames are skipped and counted in ``n_errors`` exactly as a caller of :meth:`decode` would
        skip them. The fast path (clean, in-order data) is fully vectorised; anything else falls back to
        :meth:`decode` frame by frame.
        """
        if len(frames) < _VECTORISED_MIN_FRAMES:
            return self._decode_each(frames)
        # attrgetter + map keep the per-frame work in C: at MTU 23 every frame is one sample
        if not _OTHER_CHANNELS.isdisjoint(set(map(_CHANNEL, frames))):
            return self._decode_each(frames)
        data = frames
        try:
            batch = decode_packets(list(map(_PAYLOAD, data)))
        except PacketError:
            return self._decode_each(frames)
        p = len(batch)
        host = np.fromiter(map(_HOST_T_S, data), dtype=np.float64, count=p)
        idx_raw, ts_raw, n = batch.index_raw, batch.ts_ticks_raw, batch.n_samples
        rate = batch.sampling_rate_hz
        # chained unwrap: each packet relative to the previous one (as decode() does after accepting it)
        if self._ref_index is None:
            ref_idx, ref_ts, ref_rate, ref_host = int(idx_raw[0]), int(ts_raw[0]), float(rate[0]), float(host[0])
            first_is_start = True
        else:
            ref_idx, ref_ts, ref_rate, ref_host = self._ref_index, self._ref_ts, self._ref_rate, self._ref_host_t_s
            first_is_start = False
        prev_ts_raw = np.concatenate(([ref_ts], ts_raw[:-1]))
        prev_idx_raw = np.concatenate(([ref_idx], idx_raw[:-1]))
        prev_host = np.concatenate(([ref_host], host[:-1]))
        prev_rate = np.concatenate(([ref_rate], rate[:-1]))
        d_ts = (ts_raw - prev_ts_raw) % TS_MODULUS
        d_host = (host - prev_host) * TICKS_PER_S
        d_ts = d_ts + np.floor((d_host - d_ts) / TS_MODULUS + 0.5).astype(np.int64) * TS_MODULUS
        d_idx = (idx_raw - prev_idx_raw) % INDEX_MODULUS
        expected = d_ts / TICKS_PER_S * prev_rate
        d_idx = d_idx + np.floor((expected - d_idx) / INDEX_MODULUS + 0.5).astype(np.int64) * INDEX_MODULUS
        if first_is_start:
            d_ts[0] = 0
            d_idx[0] = 0
        ts = ref_ts + np.cumsum(d_ts)
        first = ref_idx + np.cumsum(d_idx)
        last_idx = first + n - 1
        prev_last = np.concatenate(([self._last_index if not first_is_start else first[0] - 1], last_idx[:-1]))
        period_ticks = TICKS_PER_S / rate
        t_last = ts + (n - 1) * period_ticks
        prev_t_last = np.concatenate(([self._last_t_ticks if not first_is_start else -np.inf], t_last[:-1]))
        in_order = bool((first > prev_last).all())
        if not in_order or not bool((ts > prev_t_last).all()):
            return self._decode_each(frames)
        has_gyr = batch.has_gyr
        missing = first - prev_last - 1
        miss = np.zeros(int(batch.offsets[-1]), dtype=np.int64)
        miss[batch.offsets[:-1]] = missing
        k = np.arange(int(batch.offsets[-1]), dtype=np.int64) - np.repeat(batch.offsets[:-1], n)
        index = np.repeat(first, n) + k
        # same float operations as decode(): ts / 32768 + k / rate
        t_s = np.repeat(ts / TICKS_PER_S, n) + k / np.repeat(rate, n)
        gap_rows = np.flatnonzero(missing > 0)
        for r in gap_rows[-(self._gaps.maxlen or 1) :]:
            self._gaps.append((int(prev_last[r]) + 1, int(first[r]) - 1))
        self.n_missing += int(missing.sum())
        self.n_packets += p
        self._ref_index, self._ref_ts = int(first[-1]), int(ts[-1])
        self._ref_rate, self._ref_host_t_s = float(rate[-1]), float(host[-1])
        self._last_index, self._last_t_ticks = int(last_idx[-1]), float(t_last[-1])
        sid = self.sensor_id if self.sensor_id is not None else data[0].sensor_id
        blocks = []
        change = np.flatnonzero(has_gyr[1:] != has_gyr[:-1]) + 1
        for a, b in zip(np.concatenate(([0], change)), np.concatenate((change, [p])), strict=True):
            s0, s1 = int(batch.offsets[a]), int(batch.offsets[b])
            blocks.append(
                ImuBlock(
                    sid,
                    t_s[s0:s1],
                    batch.acc_mps2[s0:s1],
                    batch.gyr_radps[s0:s1] if has_gyr[a] else None,
                    index[s0:s1],
                    miss[s0:s1],
                )
            )
        return blocks

    def _decode_each(self, frames: Sequence[RawFrame]) -> list[ImuBlock]:
        """Headers one by one (same code as :meth:`decode`), samples converted once per run."""
        out: list[ImuBlock] = []
        items: list[_Accepted] = []
        payloads: list[bytes] = []
        sid = ""
        for f in frames:
            try:
                if f.channel in _OTHER_CHANNELS:
                    self._decode_other(f)
                    continue
                it = self._accept(f)
            except PacketError:
                self.n_errors += 1
                continue
            if it is None:
                continue
            if items and (it.gyr_code == GYR_OFF) != (items[0].gyr_code == GYR_OFF):
                out.append(self._build(sid, items, payloads))
                items, payloads = [], []
            sid = f.sensor_id
            items.append(it)
            payloads.append(f.payload)
        if items:
            out.append(self._build(sid, items, payloads))
        return out


@dataclass(frozen=True, slots=True)
class _Accepted:
    """Where an accepted packet's samples go: unwrapped first index, samples to skip (already delivered)."""

    first: int
    skip: int
    n: int
    missing: int
    ts: int
    rate_code: int
    acc_code: int
    gyr_code: int
    bps: int


# -- control point, status, info --------------------------------------------------------------------------------

_OTHER_CHANNELS: Final = frozenset({STATUS_UUID, INFO_UUID, CONTROL_UUID})


def encode_command(opcode: int, argument: int | None = None) -> bytes:
    """A control-point write. Prefer the named helpers below.

    Raises:
        ValueError: unknown op code or an argument that does not fit its field.
    """
    if opcode not in _hs.COMMAND_PARAM_LEN:
        raise ValueError(f"op code 0x{opcode:02x} is not a v1 command; use one of {sorted(OPCODE_NAMES)}")
    size: int = _hs.COMMAND_PARAM_LEN[opcode]
    if size == 0:
        if argument is not None:
            raise ValueError(f"{OPCODE_NAMES[opcode]} takes no argument, got {argument!r}")
        return bytes([opcode])
    if argument is None or not 0 <= argument < (1 << (8 * size)):
        raise ValueError(f"{OPCODE_NAMES[opcode]} needs an unsigned {8 * size}-bit argument, got {argument!r}")
    return bytes([opcode]) + argument.to_bytes(size, "little")


def _code_for(value: float, table: dict[int, float] | dict[int, int], what: str) -> int:
    for code, v in table.items():
        if v == value:
            return code
    raise ValueError(f"{what} {value!r} is not supported by protocol v1; choose one of {sorted(table.values())}")


def start_command() -> bytes:
    return encode_command(_hs.OP_START)


def stop_command() -> bytes:
    return encode_command(_hs.OP_STOP)


def set_rate_command(sampling_rate_hz: float) -> bytes:
    """SET_RATE for 52, 104, 208, 416 or 833 Hz."""
    return encode_command(_hs.OP_SET_RATE, _code_for(sampling_rate_hz, RATE_HZ, "sampling rate (Hz)"))


def set_acc_range_command(range_g: int) -> bytes:
    """SET_ACC_RANGE for +-2, 4, 8 or 16 g."""
    return encode_command(_hs.OP_SET_ACC_RANGE, _code_for(range_g, ACC_RANGE_G, "accelerometer range (g)"))


def set_gyr_range_command(range_dps: int | None) -> bytes:
    """SET_GYR_RANGE for 125, 245, 500, 1000 or 2000 deg/s; ``None`` switches the gyroscope off."""
    code = GYR_OFF if range_dps is None else _code_for(range_dps, GYR_RANGE_DPS, "gyroscope range (deg/s)")
    return encode_command(_hs.OP_SET_GYR_RANGE, code)


def time_sync_command(token: int) -> bytes:
    """TIME_SYNC with a 32-bit token the sensor echoes next to its clock."""
    return encode_command(_hs.OP_TIME_SYNC, token & 0xFFFFFFFF)


def send_backlog_command(from_sample_index: int) -> bytes:
    """SEND_BACKLOG: resend buffered samples from this (unwrapped) index on; its low 32 bits are sent."""
    return encode_command(_hs.OP_SEND_BACKLOG, from_sample_index & 0xFFFFFFFF)


def get_config_command() -> bytes:
    return encode_command(_hs.OP_GET_CONFIG)


@dataclass(frozen=True, slots=True)
class ControlResponse:
    """A control-point response. The op-specific fields are set only for a successful response of that op."""

    opcode: int
    result: int
    token: int | None = None  # time_sync
    sensor_ticks: int | None = None  # time_sync: the sensor's 32-bit tick counter when it handled the command
    first_index: int | None = None  # send_backlog: low 32 bits of the first index that will be sent
    head_index: int | None = None  # send_backlog: low 32 bits of the next index to be sampled
    rate_code: int | None = None  # get_config
    acc_range_code: int | None = None
    gyr_range_code: int | None = None
    streaming: bool | None = None

    @property
    def ok(self) -> bool:
        return self.result == _hs.RES_SUCCESS

    @property
    def result_name(self) -> str:
        return RESULT_NAMES.get(self.result, f"unknown result 0x{self.result:02x}")

    def raise_for_result(self) -> ControlResponse:
        """Return self if the sensor accepted the command, else raise :class:`CommandRejectedError`."""
        if not self.ok:
            name = OPCODE_NAMES.get(self.opcode, f"0x{self.opcode:02x}")
            raise CommandRejectedError(
                f"the sensor refused {name}: {self.result_name} (result 0x{self.result:02x}); check the value "
                "against the sensor's info (supported rates and ranges)",
                opcode=self.opcode,
                result=self.result,
            )
        return self


_RESPONSE_PAYLOAD_LEN: Final = {_hs.OP_TIME_SYNC: 8, _hs.OP_SEND_BACKLOG: 8, _hs.OP_GET_CONFIG: 4}


def decode_response(payload: bytes) -> ControlResponse:
    """Decode a control-point response (indication).

    Raises:
        PacketError: reasons ``short``, ``response`` (first byte not 0x80), ``opcode``, ``length``.
    """
    if len(payload) < 3:
        raise _err(f"control response of {len(payload)} bytes, needs at least 3", len(payload), "short")
    tag, op, result = payload[0], payload[1], payload[2]
    if tag != _hs.OP_RESPONSE:
        raise _err(f"control response starts with 0x{tag:02x}, expected 0x80", 0, "response")
    want = _RESPONSE_PAYLOAD_LEN.get(op, 0) if result == _hs.RES_SUCCESS else 0
    if op not in OPCODE_NAMES and result == _hs.RES_SUCCESS:
        raise _err(f"control response for unknown op code 0x{op:02x} claims success", 1, "opcode")
    if len(payload) != 3 + want:
        raise _err(
            f"control response to {OPCODE_NAMES.get(op, hex(op))} with result 0x{result:02x} has "
            f"{len(payload)} bytes, expected {3 + want}",
            min(len(payload), 3 + want),
            "length",
        )
    if want == 0:
        return ControlResponse(op, result)
    if op == _hs.OP_GET_CONFIG:
        rate, acc, gyr, streaming = payload[3:7]
        return ControlResponse(
            op, result, rate_code=rate, acc_range_code=acc, gyr_range_code=gyr, streaming=bool(streaming)
        )
    a, b = struct.unpack_from("<II", payload, 3)
    if op == _hs.OP_TIME_SYNC:
        return ControlResponse(op, result, token=a, sensor_ticks=b)
    return ControlResponse(op, result, first_index=a, head_index=b)


@dataclass(frozen=True, slots=True)
class SensorStatus:
    """The status characteristic (see PROTOCOL.md)."""

    streaming: bool
    replaying: bool
    charging: bool
    imu_fault: bool
    battery_pct: int | None
    battery_mv: int
    dropped_samples: int
    pending_samples: int
    head_index: int


def decode_status(payload: bytes) -> SensorStatus:
    """Decode a status notification.

    Raises:
        PacketError: reasons ``length``, ``version``, ``battery``.
    """
    if len(payload) != _hs.STATUS_LEN:
        raise _err(
            f"status of {len(payload)} bytes, v1 status is {_hs.STATUS_LEN} bytes",
            min(len(payload), _hs.STATUS_LEN),
            "length",
        )
    ver, flags, pct, mv, dropped, pending, head = struct.unpack("<BBBHIHI", payload)
    if ver != PROTOCOL_VERSION:
        raise _err(f"status carries version {ver}, this host decodes {PROTOCOL_VERSION}", 0, "version")
    if pct > 100 and pct != _hs.BATTERY_UNKNOWN:
        raise _err(f"status battery level {pct} % is above 100 and not 255 (unknown)", 2, "battery")
    return SensorStatus(
        streaming=bool(flags & _hs.STATUS_STREAMING),
        replaying=bool(flags & _hs.STATUS_REPLAYING),
        charging=bool(flags & _hs.STATUS_CHARGING),
        imu_fault=bool(flags & _hs.STATUS_IMU_FAULT),
        battery_pct=None if pct == _hs.BATTERY_UNKNOWN else pct,
        battery_mv=mv,
        dropped_samples=dropped,
        pending_samples=pending,
        head_index=head,
    )


@dataclass(frozen=True, slots=True)
class SensorInfo:
    """The info characteristic (see PROTOCOL.md)."""

    protocol_version: int
    protocol_minor: int
    has_gyro: bool
    has_backlog: bool
    has_battery: bool
    mounting: str
    up_axis: int
    forward_axis: int
    buffer_capacity: int
    boot_id: int
    sampling_rates_hz: tuple[float, ...]
    acc_ranges_g: tuple[int, ...]
    gyr_ranges_dps: tuple[int, ...]
    gyr_can_be_off: bool
    imu_part: str
    firmware: str

    def buffer_depth_s(self, sampling_rate_hz: float) -> float:
        """How many seconds of samples the sensor's ring buffer holds at this rate."""
        return self.buffer_capacity / sampling_rate_hz


def decode_info(payload: bytes) -> SensorInfo:
    """Decode the info characteristic.

    Raises:
        PacketError: reasons ``short``, ``version``, ``mounting``, ``axis``, ``string``, ``length``.
    """
    fixed = _hs.INFO_FIXED_LEN
    if len(payload) < fixed + 2:
        raise _err(f"info of {len(payload)} bytes, v1 info has at least {fixed + 2}", len(payload), "short")
    ver, minor, feat, mount, up, fwd, cap, boot, rates, accs, gyrs = struct.unpack_from("<BBBBbbIHHBB", payload)
    if ver != PROTOCOL_VERSION:
        raise _err(f"info carries protocol version {ver}, this host decodes {PROTOCOL_VERSION}", 0, "version")
    if mount >= len(_hs.MOUNTINGS):
        raise _err(f"info mounting code {mount} is not one of 0..{len(_hs.MOUNTINGS) - 1}", 3, "mounting")
    for off, axis in ((4, up), (5, fwd)):
        if not -3 <= axis <= 3:
            raise _err(f"info axis code {axis} at byte {off} is not -3..3", off, "axis")
    strings: list[str] = []
    pos = fixed
    for _ in range(2):
        if pos >= len(payload):
            raise _err(f"info ends at byte {pos}, a string length byte was expected", pos, "short")
        size = payload[pos]
        if pos + 1 + size > len(payload):
            raise _err(
                f"info string at byte {pos} announces {size} bytes but only {len(payload) - pos - 1} follow",
                pos,
                "string",
            )
        try:
            strings.append(payload[pos + 1 : pos + 1 + size].decode("ascii"))
        except UnicodeDecodeError as e:
            raise _err(f"info string at byte {pos} is not ASCII", pos + 1 + e.start, "string") from e
        pos += 1 + size
    if pos != len(payload):
        raise _err(f"info has {len(payload) - pos} trailing bytes after byte {pos}", pos, "length")
    return SensorInfo(
        protocol_version=ver,
        protocol_minor=minor,
        has_gyro=bool(feat & _hs.FEATURE_GYRO),
        has_backlog=bool(feat & _hs.FEATURE_BACKLOG),
        has_battery=bool(feat & _hs.FEATURE_BATTERY),
        mounting=_hs.MOUNTINGS[mount],
        up_axis=up,
        forward_axis=fwd,
        buffer_capacity=cap,
        boot_id=boot,
        sampling_rates_hz=tuple(hz for c, hz in sorted(RATE_HZ.items()) if rates >> c & 1),
        acc_ranges_g=tuple(g for c, g in sorted(ACC_RANGE_G.items()) if accs >> c & 1),
        gyr_ranges_dps=tuple(d for c, d in sorted(GYR_RANGE_DPS.items()) if gyrs >> c & 1),
        gyr_can_be_off=bool(gyrs >> GYR_OFF & 1),
        imu_part=strings[0],
        firmware=strings[1],
    )


# -- registry entry (sensor/protocol/registry.py discovers SPEC) -----------------------------------------------

_START_SETTINGS: Final = frozenset({"sampling_rate_hz", "acc_range_g", "gyr_range_dps", "resume_from_index"})


def _check_settings(settings: dict[str, Any]) -> None:
    unknown = sorted(set(settings) - _START_SETTINGS)
    if unknown:
        raise ConfigError(
            f"hipsense_v1 does not know the settings {unknown}; use {sorted(_START_SETTINGS)}", key="sensor.settings"
        )
    rate = settings.get("sampling_rate_hz")
    if rate is not None and rate not in RATE_HZ.values():
        raise ConfigError(
            f"sampling_rate_hz {rate!r} is not a protocol v1 rate; choose one of {sorted(RATE_HZ.values())}",
            key="sensor.settings.sampling_rate_hz",
        )
    acc = settings.get("acc_range_g")
    if acc is not None and acc not in ACC_RANGE_G.values():
        raise ConfigError(
            f"acc_range_g {acc!r} is not a protocol v1 range; choose one of {sorted(ACC_RANGE_G.values())}",
            key="sensor.settings.acc_range_g",
        )
    gyr = settings.get("gyr_range_dps")
    if gyr is not None and gyr not in GYR_RANGE_DPS.values():
        raise ConfigError(
            f"gyr_range_dps {gyr!r} is not a protocol v1 range; choose one of {sorted(GYR_RANGE_DPS.values())} "
            "or None (gyroscope off)",
            key="sensor.settings.gyr_range_dps",
        )


def make_decoder(sensor_id: str, **settings: Any) -> HipSenseV1Decoder:
    """The registry's factory: a decoder for one sensor. Start settings are checked (and otherwise not needed:
    every packet carries its own rate and ranges)."""
    _check_settings(settings)
    return HipSenseV1Decoder(sensor_id)


def start_writes(**settings: Any) -> tuple[GattWrite, ...]:
    """Control-point writes that start the stream.

    Settings (all optional): ``sampling_rate_hz``, ``acc_range_g``, ``gyr_range_dps`` (``None`` = gyroscope
    off, accelerometer-only), ``resume_from_index``: after a reconnect, the decoder's ``last_sample_index + 1``;
    then SEND_BACKLOG replaces START so the sensor re-sends what the link lost.
    """
    _check_settings(settings)
    cmds = []
    if settings.get("sampling_rate_hz") is not None:
        cmds.append(set_rate_command(settings["sampling_rate_hz"]))
    if settings.get("acc_range_g") is not None:
        cmds.append(set_acc_range_command(settings["acc_range_g"]))
    if "gyr_range_dps" in settings:
        cmds.append(set_gyr_range_command(settings["gyr_range_dps"]))
    resume = settings.get("resume_from_index")
    cmds.append(start_command() if resume is None else send_backlog_command(int(resume)))
    return tuple(GattWrite(CONTROL_UUID, c, with_response=True) for c in cmds)


def stop_writes(**settings: Any) -> tuple[GattWrite, ...]:
    """The STOP write."""
    _check_settings(settings)
    return (GattWrite(CONTROL_UUID, stop_command(), with_response=True),)


# Only the HipSense service: the registry ties every characteristic to ``service_uuids``, which also serve to
# recognise advertisements, and the standard Battery (0x180F) / Device Information (0x180A) services would make
# any device advertising them look like a HipSense. Their UUIDs are in hsproto for the virtual sensor.
SPEC: Final = SensorTypeSpec(
    name=SENSOR_TYPE,
    description="HipSense open hip IMU, protocol v1 (firmware_proto/PROTOCOL.md)",
    service_uuids=(SERVICE_UUID,),
    characteristics=(
        CharSpec(DATA_UUID, SERVICE_UUID, frozenset({"notify"})),
        CharSpec(CONTROL_UUID, SERVICE_UUID, frozenset({"write", "indicate"})),
        CharSpec(STATUS_UUID, SERVICE_UUID, frozenset({"read", "notify"})),
        CharSpec(INFO_UUID, SERVICE_UUID, frozenset({"read"})),
    ),
    # control first: its indications answer the start writes; then data and status
    subscribe_uuids=(CONTROL_UUID, DATA_UUID, STATUS_UUID),
    make_decoder=make_decoder,
    start_writes=start_writes,
    stop_writes=stop_writes,
    name_patterns=(r"^HipSense",),
    clock="sensor",
)
