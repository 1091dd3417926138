"""HipSense sensor firmware (MicroPython + aioble): protocol v1 (../PROTOCOL.md) on an LSM6DSOX board.

Tasks (asyncio.gather; MicroPython's asyncio has no TaskGroup, and none of these tasks ever returns):

* ``peripheral``: advertise, accept one central, wait for it to go away, repeat.
* ``sampler``: poll the IMU FIFO every 5 ms, stamp the samples with the sample clock, push them into the ring.
* ``sender``: while streaming and connected, notify the next packet for the current ATT MTU.
* ``control``: control-point writes -> SensorCore.handle_command -> IMU reconfiguration -> indication.
* ``status``: status and battery level every 5 s and on change.

Board specifics live in board.py; the protocol in hsproto.py; the logic in sensorcore.py (tested under CPython).
"""

import asyncio
import random
import time

import aioble
import bluetooth
import board
import hsproto as P
from lsm6dsox import LSM6DSOX
from sensorcore import SampleClock, SensorCore, lipo_percent

FIRMWARE = "hipsense-mpy 0.1.0"
RING_CAPACITY = 8192  # samples (12 bytes each: 96 KB); PROTOCOL.md section 6 lists the depth per rate
POLL_MS = 5
STATUS_PERIOD_MS = 5000
ADV_INTERVAL_US = 100_000
IDLE_STOP_MS = 10 * 60 * 1000  # stop sampling after 10 min without a central (battery)


class TickClock:
    """Monotonic sensor clock in 1/32768 s ticks from time.ticks_us (which wraps every 2^30 us)."""

    def __init__(self):
        self._last = time.ticks_us()
        self._us = 0

    def now(self):
        t = time.ticks_us()
        self._us += time.ticks_diff(t, self._last)
        self._last = t
        return self._us * P.TICKS_PER_S // 1_000_000


clock = TickClock()
core = SensorCore(
    RING_CAPACITY,
    "LSM6DSOX",
    FIRMWARE,
    mounting=board.MOUNTING,
    up_axis=board.UP_AXIS,
    forward_axis=board.FORWARD_AXIS,
    boot_id=random.getrandbits(16),
)
sample_clock = SampleClock(core.sampling_rate_hz)
try:
    imu = LSM6DSOX(board.i2c(), board.IMU_ADDRESS)
except OSError as e:
    # Keep the radio up: the host then sees the IMU fault flag in the status and "operation failed" on START.
    print("IMU not available:", e)
    imu = None
imu_running = False
connection = None
last_seen_ms = time.ticks_ms()

# -- GATT ---------------------------------------------------------------------------------------------------
hipsense = aioble.Service(bluetooth.UUID(P.SERVICE_UUID))
data_char = aioble.Characteristic(hipsense, bluetooth.UUID(P.DATA_UUID), notify=True)
control_char = aioble.Characteristic(hipsense, bluetooth.UUID(P.CONTROL_UUID), write=True, indicate=True, capture=True)
status_char = aioble.Characteristic(hipsense, bluetooth.UUID(P.STATUS_UUID), read=True, notify=True)
info_char = aioble.Characteristic(hipsense, bluetooth.UUID(P.INFO_UUID), read=True, initial=core.info())
battery = aioble.Service(bluetooth.UUID(P.BATTERY_SERVICE_UUID16))
battery_char = aioble.Characteristic(battery, bluetooth.UUID(P.BATTERY_LEVEL_UUID16), read=True, notify=True)
dis = aioble.Service(bluetooth.UUID(P.DEVICE_INFO_SERVICE_UUID16))
for uuid16, text in (
    (P.MANUFACTURER_NAME_UUID16, board.MANUFACTURER),
    (P.MODEL_NUMBER_UUID16, board.MODEL),
    (P.HARDWARE_REVISION_UUID16, board.HARDWARE_REVISION),
    (P.FIRMWARE_REVISION_UUID16, FIRMWARE),
):
    aioble.Characteristic(dis, bluetooth.UUID(uuid16), read=True, initial=text.encode())
aioble.register_services(hipsense, battery, dis)
aioble.config(mtu=247)  # our preferred ATT MTU; the central decides


def _start_imu():
    global imu_running
    if imu is None:
        raise OSError(19)  # ENODEV
    imu.configure(core.rate_code, core.acc_code, core.gyr_code)
    sample_clock.reset(core.sampling_rate_hz)
    imu_running = True


def _drain_imu():
    """Move what the FIFO holds into the ring (with the codes it was sampled with); one read, one stamp."""
    if not imu_running:
        return
    records, n, _overrun = imu.read_samples()
    stamp = sample_clock.stamp(clock.now(), n)
    if n:
        core.push(stamp, records)


async def sampler():
    global imu_running
    while True:
        if imu_running:
            _drain_imu()
            if connection is None and time.ticks_diff(time.ticks_ms(), last_seen_ms) > IDLE_STOP_MS:
                imu.power_down()
                imu_running = False
                core.streaming = False
        await asyncio.sleep_ms(POLL_MS)


async def sender():
    while True:
        conn = connection
        if conn is None or not core.streaming:
            await asyncio.sleep_ms(20)
            continue
        before = core.cursor
        pkt = core.next_packet(getattr(conn, "mtu", None) or 23, clock.now())
        if pkt is None:
            await asyncio.sleep_ms(POLL_MS)
            continue
        try:
            data_char.notify(conn, pkt)
        except OSError:
            # The controller's TX queue is full (or the link just dropped): resend this packet later.
            core.cursor = before
            await asyncio.sleep_ms(10)
        else:
            await asyncio.sleep_ms(0)


async def control():
    while True:
        conn, data = await control_char.written()
        op = data[0] if data else 0
        if op in (P.OP_SET_RATE, P.OP_SET_ACC_RANGE, P.OP_SET_GYR_RANGE, P.OP_STOP):
            _drain_imu()  # samples taken with the old settings keep their codes
        response = core.handle_command(data, clock.now())
        if response[2] == P.RES_SUCCESS:
            try:
                if op == P.OP_STOP:
                    if imu is not None:
                        imu.power_down()
                    _stop()
                elif (op in (P.OP_START, P.OP_SEND_BACKLOG) and not imu_running) or (
                    op in (P.OP_SET_RATE, P.OP_SET_ACC_RANGE, P.OP_SET_GYR_RANGE) and imu_running
                ):
                    _start_imu()
            except OSError:
                response = P.encode_response(op, P.RES_OPERATION_FAILED)
                if op in (P.OP_START, P.OP_SEND_BACKLOG):
                    core.streaming = False
        try:
            await control_char.indicate(conn, response, timeout_ms=1000)
        except Exception as e:  # the central left or did not confirm: the command itself stands
            print("control-point indication failed:", e)


def _stop():
    global imu_running
    imu_running = False


def _status_value():
    mv = board.battery_mv()
    pct = lipo_percent(mv) if mv else P.BATTERY_UNKNOWN
    return core.status(pct, mv, imu_fault=imu is None), pct


async def status():
    last = None
    while True:
        value, pct = _status_value()
        if value != last:
            status_char.write(value, send_update=True)
            if pct != P.BATTERY_UNKNOWN:
                battery_char.write(bytes([pct]), send_update=True)
            last = value
        await asyncio.sleep_ms(STATUS_PERIOD_MS)


async def peripheral():
    global connection, last_seen_ms
    name = board.NAME_PREFIX + board.unique_suffix()
    while True:
        conn = await aioble.advertise(
            ADV_INTERVAL_US, name=name, services=[bluetooth.UUID(P.SERVICE_UUID)], appearance=0x0540
        )
        connection = conn
        await conn.disconnected(timeout_ms=None)
        # Keep sampling, send nothing until the next central says where to resume (SEND_BACKLOG or START).
        connection = None
        core.link_lost()
        last_seen_ms = time.ticks_ms()


async def main():
    status_char.write(_status_value()[0])
    await asyncio.gather(peripheral(), sampler(), sender(), control(), status())


asyncio.run(main())
