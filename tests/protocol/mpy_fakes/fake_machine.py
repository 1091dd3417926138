"""FAKE of MicroPython's ``machine`` module for running main.py on the Unix port: an LSM6DSOX register model.

The fake IMU produces samples in real time (``time.ticks_us``) at the configured ODR times ``ODR_ERROR`` (1 %
fast, like a real part's oscillator), into a tagged FIFO (gyroscope word then accelerometer word per time slot,
TAG_CNT = slot % 4). Sample values carry their running number (acc x and gyr y = n % 30000) so the host can
check that the sensor lost, duplicated or reordered nothing.
"""

import struct
import time

ODR_HZ = {3: 52.0, 4: 104.0, 5: 208.0, 6: 416.0, 7: 833.0}
ODR_ERROR = 1.01


class Pin:
    def __init__(self, n):
        self.n = n


class ADC:
    def __init__(self, pin):
        self.pin = pin

    def read_u16(self):
        return 38000  # 3.83 V through the 1:2 divider


def unique_id():
    return b"\x01\x02\x03\x04\x05\x06\x1a\x2b"


class I2C:
    def __init__(self, bus, sda=None, scl=None, freq=400000):
        self.regs = {}
        self.running = False
        self.t0 = 0
        self.produced = 0  # time slots the IMU has filled since the FIFO went continuous
        self.delivered = 0  # samples read out so far (all streams): the value written into each sample
        self.fifo = []
        self.odr = 0.0
        self.gyro = False

    def _tick(self):
        if not self.running:
            return
        elapsed = time.ticks_diff(time.ticks_us(), self.t0) / 1e6
        total = int(elapsed * self.odr * ODR_ERROR) + 1
        while self.produced < total:
            slot = self.produced % 4
            if self.gyro:
                self.fifo.append((0x01, slot))
            self.fifo.append((0x02, slot))
            self.produced += 1

    def readfrom_mem(self, addr, reg, n):
        if reg == 0x0F:
            return bytes([0x6C])
        self._tick()
        if reg == 0x3A:
            level = len(self.fifo)
            return struct.pack("<BB", level & 0xFF, (level >> 8) & 0x03)
        if reg == 0x78:
            out = bytearray()
            for _ in range(n // 7):
                sensor, slot = self.fifo.pop(0)
                value = self.delivered % 30000
                if sensor == 0x02:
                    out += bytes([(0x02 << 3) | (slot << 1)]) + struct.pack("<3h", value, 0, 4096)
                    self.delivered += 1
                else:
                    out += bytes([(0x01 << 3) | (slot << 1)]) + struct.pack("<3h", 0, value, 0)
            return bytes(out)
        return bytes(n)

    def writeto_mem(self, addr, reg, data):
        v = data[0]
        self.regs[reg] = v
        if reg == 0x10:
            self.odr = ODR_HZ.get(v >> 4, 0.0)
        elif reg == 0x11:
            self.gyro = (v >> 4) != 0
        elif reg == 0x0A:
            if v & 0x07 == 0x06:
                self.running = True
                self.t0 = time.ticks_us()
                self.produced = 0
            else:
                self.running = False
                self.fifo = []
