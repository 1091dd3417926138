"""HipSense sensor protocol v1: THE encoder (data packets, control-point responses, status, info).

Plain Python: ``struct`` only, no numpy, no typing imports, no f-strings, so that the same file runs on the
sensor under MicroPython and on the host under CPython (the virtual sensor imports it as
``firmware_proto.micropython.hsproto``). The byte layouts are specified in ``firmware_proto/PROTOCOL.md``; the
golden vectors in ``firmware_proto/vectors/`` pin them.

Direction of each codec (each layout is encoded in exactly one place):

* sensor -> host: :func:`encode_data_packet` / :func:`encode_header`, :func:`encode_response`,
  :func:`encode_status`, :func:`encode_info` (here); decoded by ``sensor.protocol.hipsense_v1`` (numpy).
* host -> sensor: control-point commands, encoded by ``sensor.protocol.hipsense_v1.encode_command`` and parsed
  here by :func:`parse_command`.
"""

import struct

PROTOCOL_VERSION = 1
PROTOCOL_MINOR = 0

# 128-bit UUIDs: base f3c4xxxx-6b4e-4a8c-9d1b-48697053656e (the last group spells "HipSen" in ASCII).
SERVICE_UUID = "f3c40001-6b4e-4a8c-9d1b-48697053656e"
DATA_UUID = "f3c40002-6b4e-4a8c-9d1b-48697053656e"
CONTROL_UUID = "f3c40003-6b4e-4a8c-9d1b-48697053656e"
STATUS_UUID = "f3c40004-6b4e-4a8c-9d1b-48697053656e"
INFO_UUID = "f3c40005-6b4e-4a8c-9d1b-48697053656e"
# Standard SIG services and characteristics (16-bit).
BATTERY_SERVICE_UUID16 = 0x180F
BATTERY_LEVEL_UUID16 = 0x2A19
DEVICE_INFO_SERVICE_UUID16 = 0x180A
MANUFACTURER_NAME_UUID16 = 0x2A29
MODEL_NUMBER_UUID16 = 0x2A24
HARDWARE_REVISION_UUID16 = 0x2A27
FIRMWARE_REVISION_UUID16 = 0x2A26

HEADER_LEN = 8
ATT_NOTIFY_OVERHEAD = 3  # opcode + attribute handle: the payload of a notification is MTU - 3
MAX_SAMPLES_PER_PACKET = 255  # the count field is one byte
TICKS_PER_S = 32768  # sensor timestamp unit: 1/32768 s (the nRF52 RTC / 32.768 kHz crystal)
TS_MODULUS = 1 << 24  # the packet carries the low 24 bits of the tick counter (wraps every 512 s)
INDEX_MODULUS = 1 << 16  # the packet carries the low 16 bits of the sample index

# Sample-rate codes: the ST LSM6DS ODR register codes, so the firmware writes them straight to CTRL1_XL/CTRL2_G.
RATE_HZ = {3: 52.0, 4: 104.0, 5: 208.0, 6: 416.0, 7: 833.0}
# Accelerometer full-scale codes -> (range in g, LSB in g). LSB = typical ST sensitivity (LSM6DS3TR-C datasheet
# table 3), so raw IMU counts go on the air untouched; other IMUs rescale to these LSBs.
ACC_RANGES = {0: (2, 0.000061), 1: (4, 0.000122), 2: (8, 0.000244), 3: (16, 0.000488)}
# Gyroscope full-scale codes -> (range in deg/s, LSB in deg/s). Code 7: gyroscope off, accelerometer-only packets.
GYR_RANGES = {0: (125, 0.004375), 1: (245, 0.00875), 2: (500, 0.0175), 3: (1000, 0.035), 4: (2000, 0.070)}
GYR_OFF = 7

# Control point (host -> sensor) op codes.
OP_START = 0x01
OP_STOP = 0x02
OP_SET_RATE = 0x03
OP_SET_ACC_RANGE = 0x04
OP_SET_GYR_RANGE = 0x05
OP_TIME_SYNC = 0x06
OP_SEND_BACKLOG = 0x07
OP_GET_CONFIG = 0x08
OP_RESPONSE = 0x80  # first byte of every control-point response (indication)
# Parameter length of each op code.
COMMAND_PARAM_LEN = {
    OP_START: 0,
    OP_STOP: 0,
    OP_SET_RATE: 1,
    OP_SET_ACC_RANGE: 1,
    OP_SET_GYR_RANGE: 1,
    OP_TIME_SYNC: 4,
    OP_SEND_BACKLOG: 4,
    OP_GET_CONFIG: 0,
}

# Result codes in responses.
RES_SUCCESS = 0x01
RES_UNSUPPORTED_OPCODE = 0x02
RES_INVALID_PARAMETER = 0x03
RES_INVALID_LENGTH = 0x04
RES_OPERATION_FAILED = 0x05

# Status flags.
STATUS_STREAMING = 0x01
STATUS_REPLAYING = 0x02
STATUS_CHARGING = 0x04
STATUS_IMU_FAULT = 0x08
STATUS_LEN = 15
BATTERY_UNKNOWN = 0xFF

# Info: mounting positions (match sensor.config.Mounting) and feature bits.
MOUNTINGS = ("unknown", "sacrum", "belt_back", "belt_left", "belt_right")
FEATURE_GYRO = 0x01
FEATURE_BACKLOG = 0x02
FEATURE_BATTERY = 0x04
INFO_FIXED_LEN = 16


class CommandError(ValueError):
    """A control-point write the sensor refuses; ``result`` is the result code to send back."""

    def __init__(self, opcode, result, message):
        super().__init__(message)
        self.opcode = opcode
        self.result = result


def bytes_per_sample(has_gyr):
    """12 bytes for a 6-axis sample (6 x int16), 6 for an accelerometer-only one."""
    return 12 if has_gyr else 6


def max_samples_per_packet(mtu, has_gyr):
    """Samples that fit in one notification at this ATT MTU (payload = MTU - 3, header 8 bytes)."""
    if mtu < 23:
        raise ValueError("ATT MTU %d is below the BLE minimum of 23" % mtu)
    n = (mtu - ATT_NOTIFY_OVERHEAD - HEADER_LEN) // bytes_per_sample(has_gyr)
    return min(n, MAX_SAMPLES_PER_PACKET)


def us_to_ticks(t_us):
    """Microseconds -> sensor ticks (1/32768 s), rounded down, not wrapped."""
    return (t_us * TICKS_PER_S) // 1000000


def period_ticks(rate_code, k=1):
    """Ticks spanned by ``k`` sample periods at this rate, rounded to the nearest tick."""
    hz = RATE_HZ[rate_code]
    return int(k * TICKS_PER_S / hz + 0.5)


def _check_codes(rate_code, acc_range_code, gyr_range_code):
    if rate_code not in RATE_HZ:
        raise ValueError("rate code %r is not one of %r" % (rate_code, sorted(RATE_HZ)))
    if acc_range_code not in ACC_RANGES:
        raise ValueError("accelerometer range code %r is not one of 0..3" % (acc_range_code,))
    if gyr_range_code != GYR_OFF and gyr_range_code not in GYR_RANGES:
        raise ValueError("gyroscope range code %r is not one of 0..4 or 7 (off)" % (gyr_range_code,))


def encode_header(sample_index, ts_ticks, n_samples, rate_code, acc_range_code, gyr_range_code):
    """The 8-byte data-packet header. ``sample_index`` and ``ts_ticks`` may be unwrapped (they are masked)."""
    _check_codes(rate_code, acc_range_code, gyr_range_code)
    if n_samples < 1 or n_samples > MAX_SAMPLES_PER_PACKET:
        raise ValueError("sample count %d must be 1..255" % n_samples)
    ts = ts_ticks & 0xFFFFFF
    return struct.pack(
        "<BBBHHB",
        (PROTOCOL_VERSION << 4) | rate_code,
        (acc_range_code << 6) | (gyr_range_code << 3),
        n_samples,
        sample_index & 0xFFFF,
        ts & 0xFFFF,
        ts >> 16,
    )


def _flat(samples):
    """(x, y, z) triples or an already flat x, y, z, x, ... sequence -> flat list of ints."""
    out = []
    for s in samples:
        if isinstance(s, int):
            out.append(s)
        else:
            for v in s:
                out.append(int(v))
    return out


def encode_data_packet(
    sample_index, ts_ticks, acc_counts, gyr_counts, acc_range_code, gyr_range_code, rate_code, mtu=None
):
    """One IMU data notification.

    Args:
        sample_index: running index of the first sample (any int >= 0; the low 16 bits are sent).
        ts_ticks: sensor time of the first sample in 1/32768 s ticks (the low 24 bits are sent).
        acc_counts: accelerometer samples in raw counts, as (x, y, z) triples or a flat x, y, z, x... sequence.
        gyr_counts: gyroscope samples, same shape, or ``None`` for an accelerometer-only packet (then
            ``gyr_range_code`` must be 7).
        acc_range_code, gyr_range_code, rate_code: the codes in force for these samples.
        mtu: if given, refuse a packet that would not fit a notification at this ATT MTU.
    """
    acc = _flat(acc_counts)
    if len(acc) % 3:
        raise ValueError("accelerometer counts hold %d values, not a multiple of 3" % len(acc))
    n = len(acc) // 3
    if gyr_counts is None:
        if gyr_range_code != GYR_OFF:
            raise ValueError("no gyroscope samples given but gyroscope range code is %d (use 7)" % gyr_range_code)
        values = acc
        fmt = "<%dh" % (3 * n)
    else:
        if gyr_range_code == GYR_OFF:
            raise ValueError("gyroscope samples given but gyroscope range code is 7 (off)")
        gyr = _flat(gyr_counts)
        if len(gyr) != len(acc):
            raise ValueError("%d accelerometer values but %d gyroscope values" % (len(acc), len(gyr)))
        values = []
        for i in range(n):
            values.extend(acc[3 * i : 3 * i + 3])
            values.extend(gyr[3 * i : 3 * i + 3])
        fmt = "<%dh" % (6 * n)
    for v in values:
        if v < -32768 or v > 32767:
            raise ValueError("sample value %d is outside int16 (-32768..32767)" % v)
    packet = encode_header(sample_index, ts_ticks, n, rate_code, acc_range_code, gyr_range_code) + struct.pack(
        fmt, *values
    )
    if mtu is not None and len(packet) > mtu - ATT_NOTIFY_OVERHEAD:
        raise ValueError(
            "packet of %d bytes does not fit ATT MTU %d (max %d samples)"
            % (len(packet), mtu, max_samples_per_packet(mtu, gyr_counts is not None))
        )
    return packet


def encode_data_packet_raw(sample_index, ts_ticks, sample_bytes, acc_range_code, gyr_range_code, rate_code):
    """Header + already interleaved little-endian int16 sample bytes (the firmware's zero-reorder path)."""
    bps = bytes_per_sample(gyr_range_code != GYR_OFF)
    if len(sample_bytes) % bps:
        raise ValueError("%d sample bytes are not a multiple of %d" % (len(sample_bytes), bps))
    n = len(sample_bytes) // bps
    return encode_header(sample_index, ts_ticks, n, rate_code, acc_range_code, gyr_range_code) + bytes(sample_bytes)


# -- control point ------------------------------------------------------------------------------------------


def parse_command(data):
    """Parse a control-point write -> ``(opcode, argument)``; ``argument`` is an int or ``None``.

    Raises:
        CommandError: with the result code to answer (unsupported op code, bad length, bad value).
    """
    if len(data) < 1:
        raise CommandError(0, RES_INVALID_LENGTH, "empty control-point write")
    op = data[0]
    if op not in COMMAND_PARAM_LEN:
        raise CommandError(op, RES_UNSUPPORTED_OPCODE, "op code 0x%02x is not supported" % op)
    want = COMMAND_PARAM_LEN[op]
    if len(data) - 1 != want:
        raise CommandError(
            op, RES_INVALID_LENGTH, "op code 0x%02x takes %d parameter bytes, got %d" % (op, want, len(data) - 1)
        )
    if want == 0:
        return op, None
    if want == 1:
        arg = data[1]
        if op == OP_SET_RATE and arg not in RATE_HZ:
            raise CommandError(op, RES_INVALID_PARAMETER, "rate code %d is not one of 3..7" % arg)
        if op == OP_SET_ACC_RANGE and arg not in ACC_RANGES:
            raise CommandError(op, RES_INVALID_PARAMETER, "accelerometer range code %d is not one of 0..3" % arg)
        if op == OP_SET_GYR_RANGE and arg != GYR_OFF and arg not in GYR_RANGES:
            raise CommandError(op, RES_INVALID_PARAMETER, "gyroscope range code %d is not 0..4 or 7" % arg)
        return op, arg
    return op, struct.unpack("<I", bytes(data[1:5]))[0]


def encode_response(opcode, result, payload=b""):
    """Control-point response (indication): 0x80, request op code, result code, op-specific payload."""
    return struct.pack("<BBB", OP_RESPONSE, opcode & 0xFF, result) + bytes(payload)


def time_sync_payload(token, sensor_ticks):
    """TIME_SYNC success payload: the host's token echoed and the sensor's 32-bit tick counter."""
    return struct.pack("<II", token & 0xFFFFFFFF, sensor_ticks & 0xFFFFFFFF)


def backlog_payload(first_index, head_index):
    """SEND_BACKLOG success payload: first sample index that will be sent and the next index to be sampled."""
    return struct.pack("<II", first_index & 0xFFFFFFFF, head_index & 0xFFFFFFFF)


def config_payload(rate_code, acc_range_code, gyr_range_code, streaming):
    """GET_CONFIG success payload: rate, accelerometer and gyroscope range codes, streaming flag."""
    return struct.pack("<BBBB", rate_code, acc_range_code, gyr_range_code, 1 if streaming else 0)


# -- status and info ----------------------------------------------------------------------------------------


def encode_status(flags, battery_pct, battery_mv, dropped_samples, pending_samples, head_index):
    """Status notification (15 bytes).

    Args:
        flags: STATUS_* bits.
        battery_pct: 0..100, or 255 when unknown.
        battery_mv: battery voltage in mV (0 when unknown).
        dropped_samples: samples lost on the sensor since boot (ring buffer overwrote them before they were sent).
        pending_samples: samples in the ring buffer not yet sent (saturates at 65535).
        head_index: the index the next sampled value will get (low 32 bits).
    """
    if not (0 <= battery_pct <= 100 or battery_pct == BATTERY_UNKNOWN):
        raise ValueError("battery percentage %r must be 0..100 or 255 (unknown)" % (battery_pct,))
    return struct.pack(
        "<BBBHIHI",
        PROTOCOL_VERSION,
        flags & 0xFF,
        battery_pct,
        min(battery_mv, 0xFFFF),
        dropped_samples & 0xFFFFFFFF,
        min(pending_samples, 0xFFFF),
        head_index & 0xFFFFFFFF,
    )


def _code_mask(codes):
    m = 0
    for c in codes:
        m |= 1 << c
    return m


def encode_info(
    imu_part,
    firmware,
    mounting,
    up_axis,
    forward_axis,
    buffer_capacity,
    boot_id,
    features=FEATURE_GYRO | FEATURE_BACKLOG | FEATURE_BATTERY,
    rate_codes=None,
    acc_codes=None,
    gyr_codes=None,
):
    """Info characteristic value (read-only; longer than 20 bytes, so hosts read it with Read Blob).

    Args:
        imu_part: IMU part number, ASCII (e.g. "LSM6DS3TR-C").
        firmware: firmware name and version, ASCII.
        mounting: intended wearing position, one of MOUNTINGS.
        up_axis, forward_axis: sensor axis that points up / forward when worn as documented: +-1 (x), +-2 (y),
            +-3 (z), 0 unknown.
        buffer_capacity: ring-buffer depth in samples.
        boot_id: random 16-bit number drawn at boot; a changed value tells the host the counters restarted.
    """
    if mounting not in MOUNTINGS:
        raise ValueError("mounting %r is not one of %r" % (mounting, MOUNTINGS))
    for name, axis in (("up_axis", up_axis), ("forward_axis", forward_axis)):
        if axis < -3 or axis > 3:
            raise ValueError("%s %d must be -3..3 (+-1 x, +-2 y, +-3 z, 0 unknown)" % (name, axis))
    part = imu_part.encode()
    fw = firmware.encode()
    if len(part) > 32 or len(fw) > 32:
        raise ValueError("IMU part and firmware strings must be at most 32 bytes")
    rates = _code_mask(RATE_HZ if rate_codes is None else rate_codes)
    accs = _code_mask(ACC_RANGES if acc_codes is None else acc_codes)
    gyrs = _code_mask(GYR_RANGES if gyr_codes is None else gyr_codes)
    return (
        struct.pack(
            "<BBBBbbIHHBB",
            PROTOCOL_VERSION,
            PROTOCOL_MINOR,
            features & 0xFF,
            MOUNTINGS.index(mounting),
            up_axis,
            forward_axis,
            buffer_capacity & 0xFFFFFFFF,
            boot_id & 0xFFFF,
            rates,
            accs,
            gyrs,
        )
        + bytes([len(part)])
        + part
        + bytes([len(fw)])
        + fw
    )
