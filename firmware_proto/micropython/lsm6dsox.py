"""ST LSM6DSOX driver over I2C with the FIFO (MicroPython; the pure FIFO parser also runs under CPython).

Register map: ST DS12814 (LSM6DSOX datasheet) rev 4, sections 9.x. The ODR/BDR register codes equal the
protocol's rate codes (3 = 52 Hz ... 7 = 833 Hz); the full-scale bit patterns differ and are mapped here.
The FIFO stores 7-byte tagged words (TAG, X, Y, Z); accelerometer and gyroscope words of one time slot share
the 2-bit TAG_CNT, which pairs them into one sample.
"""

import struct

WHO_AM_I = 0x0F
WHO_AM_I_VALUE = 0x6C
FIFO_CTRL1 = 0x07
FIFO_CTRL2 = 0x08
FIFO_CTRL3 = 0x09
FIFO_CTRL4 = 0x0A
CTRL1_XL = 0x10
CTRL2_G = 0x11
CTRL3_C = 0x12
FIFO_STATUS1 = 0x3A
FIFO_DATA_OUT_TAG = 0x78
WORD_LEN = 7
TAG_GYRO = 0x01
TAG_ACC = 0x02
FIFO_MODE_BYPASS = 0x00
FIFO_MODE_CONTINUOUS = 0x06
# protocol code -> CTRL1_XL FS_XL bits (00 2 g, 10 4 g, 11 8 g, 01 16 g)
ACC_FS_BITS = {0: 0b00, 1: 0b10, 2: 0b11, 3: 0b01}
# protocol code -> CTRL2_G bits 3..1 (FS_G[1:0], FS_125): 125 uses FS_125, 245/250 is FS_G 00
GYR_FS_BITS = {0: 0b001, 1: 0b000, 2: 0b010, 3: 0b100, 4: 0b110}
GYR_OFF = 7


class FifoParser:
    """Tagged FIFO words -> samples in packet layout (acc x, y, z [, gyr x, y, z] int16 LE).

    Keeps the half of a sample whose other half has not been read yet (a read can end between the two words of
    one time slot). Pure Python, no I/O.
    """

    def __init__(self, has_gyr):
        self.has_gyr = has_gyr
        self.acc = None
        self.gyr = None
        self.cnt = -1

    def feed(self, words):
        """``words``: bytes of whole 7-byte FIFO words. Returns (records bytes, number of samples)."""
        out = bytearray()
        n = 0
        mv = memoryview(words)
        for off in range(0, len(words) - WORD_LEN + 1, WORD_LEN):
            tag = words[off]
            sensor = tag >> 3
            cnt = (tag >> 1) & 0x03
            data = bytes(mv[off + 1 : off + WORD_LEN])
            if not self.has_gyr:
                if sensor == TAG_ACC:
                    out += data
                    n += 1
                continue
            if cnt != self.cnt:
                # a new time slot: an unpaired half of the previous slot is dropped (should not happen)
                self.acc = None
                self.gyr = None
                self.cnt = cnt
            if sensor == TAG_ACC:
                self.acc = data
            elif sensor == TAG_GYRO:
                self.gyr = data
            if self.acc is not None and self.gyr is not None:
                out += self.acc
                out += self.gyr
                n += 1
                self.acc = None
                self.gyr = None
                self.cnt = -1
        return bytes(out), n


class LSM6DSOX:
    """The IMU on the Arduino Nano RP2040 Connect (I2C address 0x6A)."""

    def __init__(self, i2c, address=0x6A):
        self.i2c = i2c
        self.address = address
        self.has_gyr = True
        self.parser = FifoParser(True)
        who = self._read(WHO_AM_I, 1)[0]
        if who != WHO_AM_I_VALUE:
            raise OSError("LSM6DSOX not found at 0x%02x (WHO_AM_I 0x%02x)" % (address, who))
        self._write(CTRL3_C, 0x01)  # software reset; clears to defaults within 50 us

    def _read(self, reg, n):
        return self.i2c.readfrom_mem(self.address, reg, n)

    def _write(self, reg, value):
        self.i2c.writeto_mem(self.address, reg, bytes([value]))

    def configure(self, rate_code, acc_code, gyr_code):
        """Set ODR and full scales, and batch both sensors into the FIFO at the ODR (continuous mode)."""
        self.has_gyr = gyr_code != GYR_OFF
        self._write(FIFO_CTRL4, FIFO_MODE_BYPASS)  # empties the FIFO
        self._write(CTRL3_C, 0x44)  # BDU + register auto-increment
        self._write(CTRL1_XL, (rate_code << 4) | (ACC_FS_BITS[acc_code] << 2))
        if self.has_gyr:
            self._write(CTRL2_G, (rate_code << 4) | (GYR_FS_BITS[gyr_code] << 1))
        else:
            self._write(CTRL2_G, 0x00)  # gyroscope power-down
        self._write(FIFO_CTRL3, ((rate_code if self.has_gyr else 0) << 4) | rate_code)
        self._write(FIFO_CTRL4, FIFO_MODE_CONTINUOUS)
        self.parser = FifoParser(self.has_gyr)

    def power_down(self):
        self._write(FIFO_CTRL4, FIFO_MODE_BYPASS)
        self._write(CTRL1_XL, 0x00)
        self._write(CTRL2_G, 0x00)

    def fifo_level(self):
        """Unread FIFO words (each 7 bytes); bit 6 of the second byte flags an overrun."""
        lo, hi = struct.unpack("<BB", self._read(FIFO_STATUS1, 2))
        return lo | ((hi & 0x03) << 8), bool(hi & 0x40)

    def read_samples(self, max_words=300):
        """Drain the FIFO (up to ``max_words`` words) -> (records bytes, samples, overrun flag).

        The FIFO output address rolls back from 0x7E to 0x78 on a burst read (DS12814 9.x, AN5272 "FIFO"), so k
        words are one k * 7 byte burst.
        """
        level, overrun = self.fifo_level()
        k = min(level, max_words)
        if k == 0:
            return b"", 0, overrun
        words = self._read(FIFO_DATA_OUT_TAG, k * WORD_LEN)
        records, n = self.parser.feed(words)
        return records, n, overrun
