"""The sensor's pure logic: configuration, ring buffer with backlog replay, packetising, command handling.

No I/O and no board specifics: ``main.py`` (MicroPython + aioble on the board) and the host's virtual sensor
both drive this same object, so they behave alike. Plain Python that runs under MicroPython and CPython.

Data flow on the sensor::

    IMU FIFO --push()--> SampleRing --next_packet(mtu)--> notification
                             ^ cursor: next sample to send (moved back by SEND_BACKLOG)

Sampling continues while the link is down; the ring keeps the newest ``capacity`` samples. Samples overwritten
before they were sent are counted in ``dropped`` (reported in the status characteristic).
"""

try:
    from . import hsproto as P
except ImportError:  # MicroPython: flat file system, no package
    import hsproto as P

RECORD_LEN = 12  # one slot per sample: acc x, y, z, gyr x, y, z as int16 LE (gyro zero when off)
DEFAULT_RATE_CODE = 5  # 208 Hz
DEFAULT_ACC_CODE = 2  # +-8 g: sacral vertical peaks in running stay well below
DEFAULT_GYR_CODE = 2  # 500 deg/s: pelvic rates in running stay well below
DEFAULT_MAX_LATENCY_TICKS = 1638  # 50 ms: a partly filled packet is sent once its first sample is this old
ANCHOR_TOLERANCE_TICKS = 16  # re-anchor the sample clock when the measured time drifts more than ~0.5 ms


def _mod_diff(a, b, modulus):
    """(a - b) mod modulus mapped to [-modulus/2, modulus/2)."""
    d = (a - b) % modulus
    return d - modulus if d >= modulus // 2 else d


class SampleRing:
    """Ring buffer of the newest ``capacity`` samples plus clock/config anchors.

    Sample ``i`` (absolute running index) lives in slot ``i % capacity``. An anchor
    ``(first_index, ts_ticks, rate_code, acc_code, gyr_code)`` says: from ``first_index`` on, sample ``i`` was
    taken at ``ts_ticks + (i - first_index) * 32768 / rate`` (mod 2^24) with these codes. A new anchor starts on
    a configuration change or when the measured time drifts from that line by more than the tolerance; so the
    per-packet timestamps are smooth and strictly increasing.
    """

    def __init__(self, capacity):
        if capacity < 1:
            raise ValueError("ring capacity %d must be >= 1 sample" % capacity)
        self.capacity = capacity
        self.buf = bytearray(capacity * RECORD_LEN)
        self.head = 0  # index the next pushed sample gets
        self.anchors = []

    @property
    def oldest(self):
        return max(0, self.head - self.capacity)

    def anchor_for(self, index):
        anchors = self.anchors
        for k in range(len(anchors) - 1, -1, -1):
            if anchors[k][0] <= index:
                return k
        raise IndexError("sample %d is older than every anchor" % index)

    def ts_of(self, index):
        a = self.anchors[self.anchor_for(index)]
        return (a[1] + P.period_ticks(a[2], index - a[0])) % P.TS_MODULUS

    def push(self, ts_ticks, rate_code, acc_code, gyr_code, records):
        """Append samples taken with these codes; the first was taken at ``ts_ticks`` (any int, mod 2^24).

        ``records`` holds the samples in packet layout: 12 bytes each (acc then gyr), or 6 bytes each when the
        gyroscope is off. Returns the number of samples appended.
        """
        has_gyr = gyr_code != P.GYR_OFF
        bps = P.bytes_per_sample(has_gyr)
        if len(records) % bps:
            raise ValueError("%d record bytes are not a multiple of %d" % (len(records), bps))
        n = len(records) // bps
        if n == 0:
            return 0
        ts = ts_ticks % P.TS_MODULUS
        codes = (rate_code, acc_code, gyr_code)
        if not self.anchors or tuple(self.anchors[-1][2:]) != codes:
            if self.anchors and self.head > 0:
                ts = self._not_before_last(ts)
            self.anchors.append((self.head, ts, rate_code, acc_code, gyr_code))
        else:
            predicted = self.ts_of(self.head)
            drift = _mod_diff(ts, predicted, P.TS_MODULUS)
            if drift > ANCHOR_TOLERANCE_TICKS or drift < -ANCHOR_TOLERANCE_TICKS:
                self.anchors.append((self.head, self._not_before_last(ts), rate_code, acc_code, gyr_code))
        buf = self.buf
        cap = self.capacity
        src = memoryview(records)
        for k in range(n):
            slot = ((self.head + k) % cap) * RECORD_LEN
            if has_gyr:
                buf[slot : slot + 12] = src[12 * k : 12 * k + 12]
            else:
                buf[slot : slot + 6] = src[6 * k : 6 * k + 6]
                buf[slot + 6 : slot + 12] = b"\x00\x00\x00\x00\x00\x00"
        self.head += n
        oldest = self.oldest
        while len(self.anchors) > 1 and self.anchors[1][0] <= oldest:
            self.anchors.pop(0)
        return n

    def _not_before_last(self, ts):
        # A new anchor must not move time back to or before the previous sample: the host refuses that.
        last = self.ts_of(self.head - 1)
        if _mod_diff(ts, last, P.TS_MODULUS) < 1:
            return (last + 1) % P.TS_MODULUS
        return ts

    def read(self, index, max_n):
        """Up to ``max_n`` samples from ``index`` that share one configuration -> (codes, ts, n, bytes)."""
        if index < self.oldest or index >= self.head:
            raise IndexError("sample %d is not in the ring (%d..%d)" % (index, self.oldest, self.head - 1))
        k = self.anchor_for(index)
        a = self.anchors[k]
        end = self.head
        for b in self.anchors[k + 1 :]:
            if tuple(b[2:]) != tuple(a[2:]):
                end = b[0]
                break
        n = min(max_n, end - index)
        has_gyr = a[4] != P.GYR_OFF
        out = bytearray(n * P.bytes_per_sample(has_gyr))
        cap = self.capacity
        buf = self.buf
        for j in range(n):
            slot = ((index + j) % cap) * RECORD_LEN
            if has_gyr:
                out[12 * j : 12 * j + 12] = buf[slot : slot + 12]
            else:
                out[6 * j : 6 * j + 6] = buf[slot : slot + 6]
        return (a[2], a[3], a[4]), self.ts_of(index), n, out


class SensorCore:
    """Configuration, streaming state, backlog cursor and counters of one HipSense sensor."""

    def __init__(
        self,
        capacity,
        imu_part,
        firmware,
        mounting="sacrum",
        up_axis=0,
        forward_axis=0,
        boot_id=0,
        has_gyro=True,
        max_latency_ticks=DEFAULT_MAX_LATENCY_TICKS,
    ):
        self.ring = SampleRing(capacity)
        self.rate_code = DEFAULT_RATE_CODE
        self.acc_code = DEFAULT_ACC_CODE
        self.gyr_code = DEFAULT_GYR_CODE if has_gyro else P.GYR_OFF
        self.has_gyro = has_gyro
        self.streaming = False
        self.paused = False  # after a link drop: keep sampling, send nothing until START or SEND_BACKLOG
        self.cursor = 0  # next sample index to notify (meaningful while streaming)
        self.dropped = 0
        self.max_latency_ticks = max_latency_ticks
        gyr_codes = [P.GYR_OFF]
        if has_gyro:
            gyr_codes.extend(P.GYR_RANGES)  # PEP 448 list unpacking is not in MicroPython
        self._info = P.encode_info(
            imu_part,
            firmware,
            mounting,
            up_axis,
            forward_axis,
            capacity,
            boot_id,
            features=(P.FEATURE_GYRO if has_gyro else 0) | P.FEATURE_BACKLOG | P.FEATURE_BATTERY,
            gyr_codes=gyr_codes,
        )

    @property
    def sampling_rate_hz(self):
        return P.RATE_HZ[self.rate_code]

    @property
    def pending(self):
        return self.ring.head - self.cursor if self.streaming else 0

    def info(self):
        return self._info

    def status(self, battery_pct=P.BATTERY_UNKNOWN, battery_mv=0, charging=False, imu_fault=False):
        flags = 0
        if self.streaming:
            flags |= P.STATUS_STREAMING
            if self.pending > P.max_samples_per_packet(247, self.gyr_code != P.GYR_OFF):
                flags |= P.STATUS_REPLAYING
        if charging:
            flags |= P.STATUS_CHARGING
        if imu_fault:
            flags |= P.STATUS_IMU_FAULT
        return P.encode_status(flags, battery_pct, battery_mv, self.dropped, self.pending, self.ring.head)

    def link_lost(self):
        """The central went away. Sampling goes on into the ring; notifications wait until the next central
        says where to resume (SEND_BACKLOG from its last sample + 1, or START for live data), because
        notifications handed to the radio just before the drop may not have arrived."""
        self.paused = True

    # -- sampling ---------------------------------------------------------------------------------------
    def push(self, ts_ticks, records):
        """Store IMU samples (packet layout for the current config) taken from ``ts_ticks`` on."""
        n = self.ring.push(ts_ticks, self.rate_code, self.acc_code, self.gyr_code, records)
        oldest = self.ring.oldest
        if self.streaming and self.cursor < oldest:
            self.dropped += oldest - self.cursor
            self.cursor = oldest
        return n

    def next_packet(self, mtu, now_ticks=None):
        """The next data notification for this ATT MTU, or ``None`` if nothing is due.

        With ``now_ticks`` a packet that is not full waits until its first sample is ``max_latency_ticks``
        old; without it whatever is pending is sent (flush).
        """
        if not self.streaming or self.paused or self.cursor >= self.ring.head:
            return None
        k = self.ring.anchor_for(self.cursor)
        has_gyr = self.ring.anchors[k][4] != P.GYR_OFF
        max_n = P.max_samples_per_packet(mtu, has_gyr)
        codes, ts, n, data = self.ring.read(self.cursor, max_n)
        if n < max_n and now_ticks is not None:
            age = _mod_diff(now_ticks % P.TS_MODULUS, ts, P.TS_MODULUS)
            if age < self.max_latency_ticks and self.ring.head - self.cursor == n:
                return None
        packet = P.encode_data_packet_raw(self.cursor, ts, data, codes[1], codes[2], codes[0])
        self.cursor += n
        return packet

    # -- control point ----------------------------------------------------------------------------------
    def handle_command(self, data, now_ticks=0):
        """Apply one control-point write; returns the response to indicate (always, also on errors)."""
        try:
            op, arg = P.parse_command(data)
        except P.CommandError as e:
            return P.encode_response(e.opcode, e.result)
        if op == P.OP_START:
            if not self.streaming or self.paused:
                self.cursor = self.ring.head
            self.streaming = True
            self.paused = False
            return P.encode_response(op, P.RES_SUCCESS)
        if op == P.OP_STOP:
            self.streaming = False
            return P.encode_response(op, P.RES_SUCCESS)
        if op == P.OP_SET_RATE:
            self.rate_code = arg
            return P.encode_response(op, P.RES_SUCCESS)
        if op == P.OP_SET_ACC_RANGE:
            self.acc_code = arg
            return P.encode_response(op, P.RES_SUCCESS)
        if op == P.OP_SET_GYR_RANGE:
            if arg != P.GYR_OFF and not self.has_gyro:
                return P.encode_response(op, P.RES_INVALID_PARAMETER)
            self.gyr_code = arg
            return P.encode_response(op, P.RES_SUCCESS)
        if op == P.OP_TIME_SYNC:
            return P.encode_response(op, P.RES_SUCCESS, P.time_sync_payload(arg, now_ticks))
        if op == P.OP_SEND_BACKLOG:
            head = self.ring.head
            # the host sends the low 32 bits of its unwrapped index; map back to the nearest index <= head
            start = head - ((head - arg) % (1 << 32))
            if start > head or head - start >= (1 << 31):
                return P.encode_response(op, P.RES_INVALID_PARAMETER)
            first = max(start, self.ring.oldest)
            self.cursor = first
            self.streaming = True
            self.paused = False
            return P.encode_response(op, P.RES_SUCCESS, P.backlog_payload(first, head))
        # OP_GET_CONFIG
        return P.encode_response(
            op, P.RES_SUCCESS, P.config_payload(self.rate_code, self.acc_code, self.gyr_code, self.streaming)
        )


class SampleClock:
    """Stamps IMU batches with sensor-clock times that are smooth and strictly increasing.

    The IMU's sample clock (its own oscillator, ~1-2 % off nominal) and the MCU's crystal disagree, and the
    firmware only knows *when it read* a batch, with scheduling jitter of a few ms. This tracks the line
    ``t(first sample of batch) = t(previous first) + n_previous * period`` and pulls its phase and period slowly
    toward the read times (a second-order loop), so the stamps follow the real clock without the read jitter.
    Times are in ticks of 1/32768 s, plain Python numbers (not wrapped).
    """

    PHASE_GAIN = 0.02
    FREQ_GAIN = 0.0005
    RESYNC_TICKS = 3277  # 100 ms: a larger disagreement means a restart or a stall: jump to the measurement

    def __init__(self, rate_hz):
        self.reset(rate_hz)

    def reset(self, rate_hz):
        self.nominal = P.TICKS_PER_S / rate_hz
        self.period = self.nominal
        self.next_first = None
        self.last_read = None

    def stamp(self, read_ticks, n):
        """Time of the first of ``n`` new samples read at ``read_ticks``.

        The newest of them was taken after the previous read (it was not there then) and at most one period
        ago: its expected age is half of the shorter of the two. Call it for empty reads too (``n == 0``,
        returns ``None``): they bound the age of the next sample.
        """
        since = self.period if self.last_read is None else read_ticks - self.last_read
        self.last_read = read_ticks
        if n <= 0:
            return None
        age = 0.5 * (since if since < self.period else self.period)
        measured = read_ticks - age - (n - 1) * self.period
        if self.next_first is None or abs(measured - self.next_first) > self.RESYNC_TICKS:
            first = measured
            if self.next_first is not None and first <= self.next_first - self.period:
                first = self.next_first - self.period + 1  # never step back over the previous sample
        else:
            err = measured - self.next_first
            first = self.next_first + self.PHASE_GAIN * err
            self.period += self.FREQ_GAIN * err / max(n, 1)
            # keep the estimate within 5 % of nominal: a real IMU is never that far off
            lo, hi = 0.95 * self.nominal, 1.05 * self.nominal
            self.period = lo if self.period < lo else hi if self.period > hi else self.period
        self.next_first = first + n * self.period
        return int(first)


# Resting voltage (mV) -> charge (%) of a 1-cell LiPo at light load, piecewise linear.
LIPO_CURVE = (
    (3300, 0),
    (3600, 5),
    (3700, 15),
    (3750, 30),
    (3800, 45),
    (3850, 58),
    (3900, 68),
    (4000, 83),
    (4100, 94),
    (4200, 100),
)


def lipo_percent(mv):
    """Battery charge estimate in % from the cell voltage in mV (0..100)."""
    if mv <= LIPO_CURVE[0][0]:
        return 0
    for k in range(1, len(LIPO_CURVE)):  # no itertools.pairwise in MicroPython
        v0, p0 = LIPO_CURVE[k - 1]
        v1, p1 = LIPO_CURVE[k]
        if mv <= v1:
            return int(p0 + (p1 - p0) * (mv - v0) / (v1 - v0) + 0.5)
    return 100
