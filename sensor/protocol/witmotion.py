"""WitMotion WT901BLE family (BWT901BLECL, WT9011DCL): sans-IO codec of the BLE notification stream.

Wire format (WitMotion's protocol PDF and BLE SDK; ``/work/shared/notes/sensors.md``):

* service ``0000ffe5-0000-1000-8000-00805f9a34fb``, notify characteristic ``...ffe4...``, write characteristic
  ``...ffe9...``. Note the vendor's ``9a34fb`` suffix: it is *not* the Bluetooth base UUID (``9b34fb``), and
  WitMotion's own SDK uses it. :func:`sensor.protocol.registry.recognise` accepts both spellings.
* a notification holds one or more 20-byte frames. ``55 61`` + nine int16 little-endian ``ax ay az wx wy wz roll
  pitch yaw`` is a sample; acceleration ``v / 32768 * 16`` g, rate ``v / 32768 * 2000`` deg/s, angles
  ``v / 32768 * 180`` deg. ``55 71`` + start register (uint16) + eight int16 register values answers a register
  read (magnetometer, quaternion, temperature, battery) and carries no sample.
* commands on the write characteristic: unlock ``FF AA 69 88 B5``, output rate ``FF AA 03 RR 00``, save
  ``FF AA 00 00 00``, read register ``FF AA 27 RR 00``.

Timing (the important consequence of the format): the frames carry **no timestamp and no counter**. Sample
times therefore come from the host receive time of the notification, laid on a grid at the configured output
rate (``sampling_rate_hz``) that slowly follows the receive times (so the sensor's crystal drift and the BLE
connection-interval jitter are absorbed) and never runs ahead of them. Loss cannot be detected exactly; it is
inferred, best effort, from receive-time gaps: when a notification arrives more than ``loss_tolerance_s`` later
than the grid expects, the samples that would fit into the gap are reported as ``missing_before`` (rounded) and
the grid is re-anchored on the receive time. Shorter losses are invisible, and a delivery stall longer than the
tolerance without loss is reported as a (false) gap. ``sample_index`` counts received plus inferred-missing
samples. ``t_s`` is host time (the spec says ``clock="host"``).

Public API: :data:`SPEC`, :class:`WitMotionDecoder`, :func:`parse_notification` (pure frame parser),
:func:`encode_samples` / :func:`encode_block` (``55 61`` frames for impersonation), :func:`encode_register_reply`,
command encoders :data:`UNLOCK`, :data:`SAVE`, :func:`encode_set_rate`, :func:`encode_read_register`, and for
the virtual sensor the command parser :func:`parse_command` and :func:`answer_command`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from sensor.errors import ConfigError, PacketError
from sensor.frames import STANDARD_GRAVITY_MPS2
from sensor.model import FloatArray, ImuBlock, RawFrame
from sensor.protocol.registry import CharSpec, GattWrite, SensorTypeSpec, uuid16

SENSOR_TYPE: Final = "witmotion"

_VENDOR_SUFFIX: Final = "-0000-1000-8000-00805f9a34fb"  # WitMotion's SDK spelling (9a, not the SIG base 9b)
SERVICE_UUID: Final = f"0000ffe5{_VENDOR_SUFFIX}"
NOTIFY_UUID: Final = f"0000ffe4{_VENDOR_SUFFIX}"
WRITE_UUID: Final = f"0000ffe9{_VENDOR_SUFFIX}"

FRAME_LEN: Final = 20
HEADER: Final = 0x55
TYPE_SAMPLE: Final = 0x61
TYPE_REGISTER: Final = 0x71

ACC_G_PER_LSB: Final = 16.0 / 32768.0
GYR_DPS_PER_LSB: Final = 2000.0 / 32768.0
ANGLE_DEG_PER_LSB: Final = 180.0 / 32768.0
_ACC_MPS2_PER_LSB: Final = ACC_G_PER_LSB * STANDARD_GRAVITY_MPS2
_GYR_RADPS_PER_LSB: Final = np.deg2rad(GYR_DPS_PER_LSB)

UNLOCK: Final = bytes.fromhex("FFAA6988B5")
SAVE: Final = bytes.fromhex("FFAA000000")
REG_RATE: Final = 0x03
REG_READ: Final = 0x27
RATE_CODES: Final[dict[float, int]] = {10.0: 0x06, 20.0: 0x07, 50.0: 0x08, 100.0: 0x09, 200.0: 0x0B}
"""Output rate (Hz) -> code of register 0x03 (vendor protocol PDF; verify on new firmware)."""

DEFAULT_RATE_HZ: Final = 50.0
DEFAULT_LOSS_TOLERANCE_S: Final = 0.25
# The grid follows the receive times with a small software PLL on its lag behind them: the phase is pulled
# forward slowly (connection-interval jitter only ever delays), clamped back at once when it would run ahead,
# and the sample interval is learnt from both (the sensor's crystal is not exactly nominal). Measured on
# simulated streams: spacing std <= 2 % of the interval with 30 ms delivery jitter or 1 % rate error.
_PHASE_GAIN: Final = 0.005
_RATE_GAIN_BEHIND: Final = 1e-5
_RATE_GAIN_AHEAD: Final = 2e-3
_MAX_RATE_ERROR: Final = 0.05  # the learnt sample interval stays within 5 % of the nominal one


def _err(message: str, offset: int, reason: str) -> PacketError:
    return PacketError(message, offset=offset, reason=reason, sensor_type=SENSOR_TYPE)


@dataclass(frozen=True, slots=True)
class WitFrames:
    """The content of one notification.

    Attributes:
        raw: the nine int16 values ``ax ay az wx wy wz roll pitch yaw`` of each ``55 61`` frame, shape ``(k, 9)``.
        registers: ``(start_register, values)`` of each ``55 71`` register reply.
    """

    raw: np.ndarray[Any, np.dtype[np.int16]]
    registers: tuple[tuple[int, tuple[int, ...]], ...]

    @property
    def n_samples(self) -> int:
        return int(self.raw.shape[0])

    @property
    def acc_g(self) -> FloatArray:
        """Acceleration in g, ``(k, 3)``."""
        return self.raw[:, 0:3].astype(np.float64) * ACC_G_PER_LSB

    @property
    def gyr_dps(self) -> FloatArray:
        """Angular rate in deg/s, ``(k, 3)``."""
        return self.raw[:, 3:6].astype(np.float64) * GYR_DPS_PER_LSB

    @property
    def angle_deg(self) -> FloatArray:
        """The sensor's own roll, pitch, yaw estimate in degrees, ``(k, 3)``."""
        return self.raw[:, 6:9].astype(np.float64) * ANGLE_DEG_PER_LSB


def parse_notification(payload: bytes) -> WitFrames:
    """Split one notification into its 20-byte frames (vectorised over the frames, no copy of sample data).

    Raises:
        PacketError: empty payload, length not a multiple of 20, a frame not starting with ``0x55`` or of an
            unknown type (``offset`` points at the offending byte).
    """
    n = len(payload)
    if n == 0:
        raise _err("empty WitMotion notification; expected 20-byte 0x55 frames", 0, "short")
    if n % FRAME_LEN:
        raise _err(
            f"WitMotion notification of {n} bytes is not a whole number of 20-byte frames; the last "
            f"{n % FRAME_LEN} bytes are a partial frame (check the MTU is at least 23)",
            n - n % FRAME_LEN,
            "length",
        )
    k = n // FRAME_LEN
    rows = np.frombuffer(payload, dtype=np.uint8).reshape(k, FRAME_LEN)
    if not (rows[:, 0] == HEADER).all():
        i = int(np.flatnonzero(rows[:, 0] != HEADER)[0])
        raise _err(f"WitMotion frame {i} starts with 0x{rows[i, 0]:02X}, expected 0x55", i * FRAME_LEN, "header")
    body: np.ndarray[Any, np.dtype[np.int16]] = np.ndarray(
        (k, 9), dtype="<i2", buffer=payload, offset=2, strides=(FRAME_LEN, 2)
    )
    is_sample = rows[:, 1] == TYPE_SAMPLE
    if is_sample.all():  # the usual case: samples only
        return WitFrames(body, ())
    kinds = rows[:, 1]
    bad_kind = np.flatnonzero(~is_sample & (kinds != TYPE_REGISTER))
    if bad_kind.size:
        i = int(bad_kind[0])
        raise _err(
            f"WitMotion frame {i} has type 0x{kinds[i]:02X}; only 0x61 (samples) and 0x71 (register reply) are known",
            i * FRAME_LEN + 1,
            "frame_type",
        )
    registers = tuple((int(r[0]) & 0xFFFF, tuple(int(v) for v in r[1:])) for r in body[~is_sample])
    return WitFrames(body[is_sample], registers)


_SI_PER_LSB: Final = np.array([_ACC_MPS2_PER_LSB] * 3 + [_GYR_RADPS_PER_LSB] * 3)


def _check_settings(settings: dict[str, Any], allowed: frozenset[str]) -> None:
    unknown = set(settings) - allowed
    if unknown:
        raise ConfigError(
            f"unknown WitMotion setting(s) {sorted(unknown)}; accepted: {sorted(allowed)}", key="sensor.settings"
        )


class WitMotionDecoder:
    """Stateful decoder of one WitMotion notification stream into :class:`ImuBlock` (see the module docstring).

    State: the time of the last sample, the next sample index and the grid's slowly tracked spacing; no data.
    """

    sensor_type: str = SENSOR_TYPE

    def __init__(
        self,
        sensor_id: str,
        *,
        sampling_rate_hz: float = DEFAULT_RATE_HZ,
        loss_tolerance_s: float = DEFAULT_LOSS_TOLERANCE_S,
    ) -> None:
        if not (0.0 < sampling_rate_hz <= 1000.0):
            raise ConfigError(
                f"WitMotion sampling_rate_hz={sampling_rate_hz!r} is out of range; use one of {sorted(RATE_CODES)}",
                key="sampling_rate_hz",
            )
        if not loss_tolerance_s > 0.0:
            raise ConfigError(
                f"loss_tolerance_s={loss_tolerance_s!r} must be > 0 s (default {DEFAULT_LOSS_TOLERANCE_S})",
                key="loss_tolerance_s",
            )
        self.sensor_id = sensor_id
        self.sampling_rate_hz = float(sampling_rate_hz)
        self.loss_tolerance_s = float(loss_tolerance_s)
        self._nominal_dt_s = 1.0 / self.sampling_rate_hz
        self._dt_s = self._nominal_dt_s
        self._t_last_s: float | None = None
        self._next_index = 0

    def decode(self, frame: RawFrame) -> ImuBlock | None:
        """Decode one notification; ``None`` when it holds only register replies."""
        frames = parse_notification(frame.payload)
        k = frames.n_samples
        if k == 0:
            return None
        si: FloatArray = frames.raw[:, 0:6].astype(np.float64) * _SI_PER_LSB
        t_s, missing = self._times(frame.host_t_s, k)
        miss = np.zeros(k, dtype=np.int64)
        miss[0] = missing
        first = self._next_index + missing
        self._next_index = first + k
        return ImuBlock(
            self.sensor_id,
            t_s,
            si[:, 0:3],
            si[:, 3:6],
            np.arange(first, first + k, dtype=np.int64),
            miss,
        )

    def _times(self, host_t_s: float, k: int) -> tuple[FloatArray, int]:
        dt = self._dt_s
        steps = np.arange(1, k + 1, dtype=np.float64)
        t_last = self._t_last_s
        if t_last is None:
            t = host_t_s - dt * (k - steps)
            missing = 0
        else:
            lag = host_t_s - (t_last + k * dt)
            if lag > self.loss_tolerance_s:
                # a receive gap longer than the tolerance: infer lost samples, re-anchor on the receive time
                missing = max(1, round((host_t_s - t_last) / dt) - k)
                t = host_t_s - dt * (k - steps)
            else:
                missing = 0
                nominal = self._nominal_dt_s
                # asymmetric: latency only ever delays a notification, so a grid ahead of the receive time is
                # strong evidence of a fast sensor, a grid behind it weak evidence of a slow one
                gain = _RATE_GAIN_AHEAD if lag < 0 else _RATE_GAIN_BEHIND
                learnt = dt + gain * lag / k
                self._dt_s = min(max(learnt, nominal * (1 - _MAX_RATE_ERROR)), nominal * (1 + _MAX_RATE_ERROR))
                step = dt + _PHASE_GAIN * max(lag, 0.0) / k
                if t_last + k * step > host_t_s:
                    # the grid would run ahead of the receive time (sensor faster than the learnt rate, or a
                    # notification that came unusually fast): squeeze the spacing; the floor keeps times strictly
                    # increasing when the host clock stalls
                    step = max((host_t_s - t_last) / k, 1e-3 * dt)
                t = t_last + step * steps
        self._t_last_s = float(t[-1])
        return t, missing


def make_decoder(sensor_id: str, **settings: Any) -> WitMotionDecoder:
    """Registry factory: settings ``sampling_rate_hz`` (default 50), ``loss_tolerance_s`` (default 0.25)."""
    _check_settings(settings, frozenset({"sampling_rate_hz", "loss_tolerance_s"}))
    return WitMotionDecoder(sensor_id, **settings)


# ---- commands --------------------------------------------------------------------------------------------------
def encode_write_register(register: int, value: int) -> bytes:
    """``FF AA reg valueL valueH``: write one register (unlock first)."""
    if not (0 <= register <= 0xFF and -0x8000 <= value <= 0xFFFF):
        raise ConfigError(f"WitMotion register {register!r} / value {value!r} out of range (0..255 / int16)")
    return bytes((0xFF, 0xAA, register)) + (value & 0xFFFF).to_bytes(2, "little")


def encode_set_rate(sampling_rate_hz: float) -> bytes:
    """The output-rate command for one of :data:`RATE_CODES`."""
    code = RATE_CODES.get(float(sampling_rate_hz))
    if code is None:
        raise ConfigError(
            f"WitMotion cannot stream at {sampling_rate_hz!r} Hz; use one of {sorted(RATE_CODES)} Hz",
            key="sampling_rate_hz",
        )
    return encode_write_register(REG_RATE, code)


def encode_read_register(register: int) -> bytes:
    """Ask for eight registers from ``register`` on; the sensor answers with a ``55 71`` frame."""
    return encode_write_register(REG_READ, register)


@dataclass(frozen=True, slots=True)
class WitCommand:
    """A decoded write-characteristic command (for the virtual sensor)."""

    register: int
    value: int

    @property
    def is_unlock(self) -> bool:
        return self.register == 0x69 and self.value == 0xB588

    @property
    def is_save(self) -> bool:
        return self.register == 0x00 and self.value == 0

    @property
    def rate_hz(self) -> float | None:
        """The requested output rate if this is a known rate command."""
        if self.register != REG_RATE:
            return None
        return next((hz for hz, code in RATE_CODES.items() if code == self.value), None)


def parse_command(data: bytes) -> WitCommand:
    """Decode ``FF AA reg valueL valueH`` (value unsigned)."""
    if len(data) != 5:
        raise _err(f"WitMotion command of {len(data)} bytes; commands are 5 bytes FF AA reg lo hi", 0, "length")
    if data[0] != 0xFF or data[1] != 0xAA:
        raise _err(f"WitMotion command starts with {data[:2].hex(' ')}, expected ff aa", 0, "header")
    return WitCommand(data[2], int.from_bytes(data[3:5], "little"))


def start_writes(**settings: Any) -> tuple[GattWrite, ...]:
    """Notifications start streaming on subscription; with ``sampling_rate_hz`` also unlock and set the rate.

    The rate is not saved to flash (the sensor falls back to its saved rate after a power cycle).
    """
    rate = settings.get("sampling_rate_hz")
    if rate is None:
        return ()
    return (
        GattWrite(WRITE_UUID, UNLOCK, with_response=False),
        GattWrite(WRITE_UUID, encode_set_rate(rate), with_response=False),
    )


# ---- encoders for impersonation -----------------------------------------------------------------------------------
def _to_int16(values: FloatArray, per_lsb: float) -> np.ndarray[Any, np.dtype[np.int16]]:
    return np.clip(np.rint(values / per_lsb), -32768, 32767).astype("<i2")


def encode_samples(
    acc_mps2: FloatArray, gyr_radps: FloatArray | None = None, angle_deg: FloatArray | None = None
) -> bytes:
    """``55 61`` frames (20 bytes each, concatenated) for ``n`` samples; values beyond the range saturate.

    Args:
        acc_mps2: ``(n, 3)`` specific force in m/s^2 (gravity included).
        gyr_radps: ``(n, 3)`` rate in rad/s, zeros when ``None``.
        angle_deg: ``(n, 3)`` roll, pitch, yaw in degrees, zeros when ``None``.
    """
    acc = np.asarray(acc_mps2, dtype=np.float64).reshape(-1, 3)
    n = acc.shape[0]
    zeros = np.zeros((n, 3))
    gyr = zeros if gyr_radps is None else np.asarray(gyr_radps, dtype=np.float64).reshape(n, 3)
    ang = zeros if angle_deg is None else np.asarray(angle_deg, dtype=np.float64).reshape(n, 3)
    out = np.empty((n, FRAME_LEN), dtype=np.uint8)
    out[:, 0] = HEADER
    out[:, 1] = TYPE_SAMPLE
    body = np.concatenate(
        [_to_int16(acc, _ACC_MPS2_PER_LSB), _to_int16(gyr, _GYR_RADPS_PER_LSB), _to_int16(ang, ANGLE_DEG_PER_LSB)],
        axis=1,
    )
    out[:, 2:] = body.view(np.uint8).reshape(n, 18)
    return out.tobytes()


def encode_block(block: ImuBlock, *, frames_per_notification: int = 1) -> list[bytes]:
    """Notifications impersonating a WitMotion streaming ``block`` (times and indices are not transmitted)."""
    if frames_per_notification < 1:
        raise ConfigError(f"frames_per_notification={frames_per_notification} must be >= 1")
    data = encode_samples(block.acc_mps2, block.gyr_radps)
    size = FRAME_LEN * frames_per_notification
    return [data[i : i + size] for i in range(0, len(data), size)]


def answer_command(data: bytes, registers: Mapping[int, int]) -> tuple[bytes | None, WitCommand]:
    """What a WitMotion notifies after the write ``data`` (for the virtual sensor).

    A register read (``FF AA 27 reg 00``) is answered with a ``55 71`` frame of the eight registers from ``reg``
    (absent ones read 0); other commands get no notification. Raises :class:`PacketError` for a malformed write.
    """
    command = parse_command(data)
    if command.register == REG_READ:
        values = tuple(registers.get(command.value + i, 0) for i in range(8))
        return encode_register_reply(command.value, values), command
    return None, command


def encode_register_reply(start_register: int, values: tuple[int, ...]) -> bytes:
    """A ``55 71`` reply frame: start register and eight int16 values (fewer are zero-padded)."""
    if len(values) > 8:
        raise ConfigError(f"a WitMotion register reply holds 8 values, got {len(values)}")
    padded = [*values, *([0] * (8 - len(values)))]
    body = np.array([start_register, *padded], dtype=np.int64) & 0xFFFF
    return bytes((HEADER, TYPE_REGISTER)) + body.astype("<u2").tobytes()


def _settings_for_name(_name: str | None) -> dict[str, Any]:
    return {"sampling_rate_hz": DEFAULT_RATE_HZ}


SPEC: Final = SensorTypeSpec(
    name=SENSOR_TYPE,
    description="WitMotion WT901BLE family (BWT901BLECL, WT9011DCL): acc + gyro + angles, no sensor clock",
    # the vendor's spelling first; the Bluetooth-base spelling too, seen on some firmware revisions
    service_uuids=(SERVICE_UUID, uuid16(0xFFE5)),
    characteristics=(
        CharSpec(NOTIFY_UUID, SERVICE_UUID, frozenset({"notify"})),
        CharSpec(WRITE_UUID, SERVICE_UUID, frozenset({"write", "write-without-response"})),
    ),
    subscribe_uuids=(NOTIFY_UUID,),
    make_decoder=make_decoder,
    start_writes=start_writes,
    name_patterns=(r"^B?WT9\d\d", r"^WT\d+BLE"),
    settings_for_name=_settings_for_name,
    clock="host",
)
