"""The ``imu-f64`` channel: decoded IMU samples stored losslessly as raw frames (sans-IO codec).

Sources that do not deliver notification payloads of a sensor protocol (file imports, sessions exported as
decoded samples) are stored as frames of this channel, so that replay and analysis treat them exactly like a live
sensor: ``RawFrame -> decode -> ImuBlock``. Values are float64, so a round trip is exact.

Payload layout, all little-endian::

    offset  size      field
    0       1         version (1)
    1       1         flags: bit 0 = gyroscope present
    2       2         n, number of samples (uint16, 1..65535)
    4       8         sample_index of the first sample (int64)
    12      8 n       t_s (float64)
    ...     24 n      acc_mps2, x y z per sample (float64), sensor frame, gravity included
    ...     24 n      gyr_radps, x y z per sample (float64), only when flag bit 0 is set
    ...     4 n       missing_before (uint32)

``sample_index[i] = sample_index[i - 1] + 1 + missing_before[i]`` inside a payload.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Final

import numpy as np

from sensor.errors import PacketError
from sensor.model import FloatArray, ImuBlock, IntArray, RawFrame

CHANNEL: Final = "hipsense.imu-f64"
SENSOR_TYPE: Final = "imu_f64"
VERSION: Final = 1
_HEADER = struct.Struct("<BBHq")
_FLAG_GYR: Final = 0x01
MAX_SAMPLES_PER_FRAME: Final = 65535


def encode(block: ImuBlock) -> bytes:
    """One payload holding every sample of ``block`` (1 to 65535 samples)."""
    n = len(block)
    if not 0 < n <= MAX_SAMPLES_PER_FRAME:
        raise ValueError(f"an imu-f64 frame holds 1..{MAX_SAMPLES_PER_FRAME} samples, got {n}; split the block")
    flags = _FLAG_GYR if block.gyr_radps is not None else 0
    parts = [
        _HEADER.pack(VERSION, flags, n, int(block.sample_index[0])),
        np.ascontiguousarray(block.t_s, dtype="<f8").tobytes(),
        np.ascontiguousarray(block.acc_mps2, dtype="<f8").tobytes(),
    ]
    if block.gyr_radps is not None:
        parts.append(np.ascontiguousarray(block.gyr_radps, dtype="<f8").tobytes())
    parts.append(np.ascontiguousarray(block.missing_before, dtype="<u4").tobytes())
    return b"".join(parts)


def frames_from_block(
    block: ImuBlock, *, samples_per_frame: int = 32, host_t0_s: float | None = None
) -> list[RawFrame]:
    """Cut a block into imu-f64 frames; each frame's host time is ``host_t0_s`` + the t_s of its last sample.

    Without ``host_t0_s`` the block's own ``t_s`` is used as host time (it is then assumed to be epoch seconds or
    at least a consistent clock, which is all replay timing needs).
    """
    if not len(block):
        return []
    offset_s = 0.0 if host_t0_s is None else host_t0_s - float(block.t_s[0])
    return [
        RawFrame(block.sensor_id, offset_s + float(part.t_s[-1]), encode(part), CHANNEL)
        for part in block.chunks(samples_per_frame)
    ]


def decode_payload(sensor_id: str, payload: bytes) -> ImuBlock:
    """Decode one payload (see the module docstring); :class:`PacketError` names what is wrong."""
    return ImuBlock(sensor_id, *_arrays(payload))


def _arrays(payload: bytes) -> tuple[FloatArray, FloatArray, FloatArray | None, IntArray, IntArray]:
    if len(payload) < _HEADER.size:
        raise PacketError(
            f"imu-f64 payload of {len(payload)} bytes is shorter than its {_HEADER.size}-byte header",
            offset=0,
            reason="short",
            sensor_type=SENSOR_TYPE,
        )
    version, flags, n, first = _HEADER.unpack_from(payload)
    if version != VERSION:
        raise PacketError(
            f"imu-f64 payload version {version} is not {VERSION}; this store was written by another HipSense "
            "version, upgrade hipsense",
            offset=0,
            reason="version",
            sensor_type=SENSOR_TYPE,
        )
    has_gyr = bool(flags & _FLAG_GYR)
    expected = _HEADER.size + n * (8 + 24 + (24 if has_gyr else 0) + 4)
    if len(payload) != expected or n == 0:
        raise PacketError(
            f"imu-f64 payload of {len(payload)} bytes does not match its header ({n} samples, gyroscope "
            f"{'on' if has_gyr else 'off'}: {expected} bytes); the frame is damaged",
            offset=2,
            reason="length",
            sensor_type=SENSOR_TYPE,
        )
    off = _HEADER.size
    t = np.frombuffer(payload, "<f8", n, off).astype(np.float64)
    off += 8 * n
    acc = np.frombuffer(payload, "<f8", 3 * n, off).astype(np.float64).reshape(n, 3)
    off += 24 * n
    gyr = None
    if has_gyr:
        gyr = np.frombuffer(payload, "<f8", 3 * n, off).astype(np.float64).reshape(n, 3)
        off += 24 * n
    miss = np.frombuffer(payload, "<u4", n, off).astype(np.int64)
    idx = first + np.arange(n, dtype=np.int64) + np.cumsum(miss) - miss[0]
    return t, acc, gyr, idx, miss


class ImuF64Decoder:
    """:class:`~sensor.protocol.base.StreamDecoder` for the ``imu-f64`` channel (stateless: frames are
    self-contained)."""

    sensor_type: str = SENSOR_TYPE

    n_errors: int = 0

    def decode(self, frame: RawFrame) -> ImuBlock | None:
        return decode_payload(frame.sensor_id, frame.payload)

    def decode_batch(self, frames: Sequence[RawFrame]) -> list[ImuBlock]:
        """Same samples as :meth:`decode` frame by frame, validated once per run of equal gyroscope presence;
        damaged payloads are skipped and counted in ``n_errors``."""
        runs: list[list[tuple[FloatArray, FloatArray, FloatArray | None, IntArray, IntArray]]] = []
        sid = frames[0].sensor_id if frames else ""
        for f in frames:
            try:
                parts = _arrays(f.payload)
            except PacketError:
                self.n_errors += 1
                continue
            if not runs or (runs[-1][0][2] is None) != (parts[2] is None):
                runs.append([])
            runs[-1].append(parts)
        out = []
        for run in runs:
            gyr = None if run[0][2] is None else np.concatenate([p[2] for p in run if p[2] is not None])
            out.append(
                ImuBlock(
                    sid,
                    np.concatenate([p[0] for p in run]),
                    np.concatenate([p[1] for p in run]),
                    gyr,
                    np.concatenate([p[3] for p in run]),
                    np.concatenate([p[4] for p in run]),
                )
            )
        return out
