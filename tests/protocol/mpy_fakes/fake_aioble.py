"""FAKE of aioble (peripheral side) with a scripted central, for running main.py on the Unix port.

The central: connects at MTU 247, sets 416 Hz and starts; after 0.5 s the link "drops" and the last 3 data
notifications are lost in the air; 0.3 s later it reconnects at MTU 23 and asks for the backlog from the first
lost sample; then switches the gyroscope off, stops, prints every frame it got (``D``/``R``/``S``/``I`` + hex) and
exits. Printing is the whole interface: the CPython test decodes the frames with the host decoder.
"""

import asyncio
import struct
import sys
from binascii import hexlify

_chars = {}
_link = {"want": asyncio.Event(), "conn": None, "central": None}


class Service:
    def __init__(self, uuid):
        self.uuid = uuid


class DeviceConnection:
    def __init__(self, mtu):
        self.mtu = mtu
        self._gone = asyncio.Event()

    async def disconnected(self, timeout_ms=None):
        await self._gone.wait()


class Characteristic:
    def __init__(
        self, service, uuid, read=False, write=False, notify=False, indicate=False, initial=None, capture=False
    ):
        self.uuid = uuid
        self.value = initial
        self._writes = []
        self._written = asyncio.Event()
        _chars[uuid.value] = self

    def write(self, data, send_update=False):
        self.value = data
        if send_update and _link["conn"] is not None:
            _frames.append("S " + hexlify(data).decode())

    def notify(self, connection, data=None):
        if connection is not _link["conn"]:
            raise OSError(128)  # ENOTCONN: the link is gone
        _frames.append("D " + hexlify(data).decode())

    async def indicate(self, connection, data=None, timeout_ms=1000):
        _frames.append("R " + hexlify(data).decode())
        _responses.append(bytes(data))

    async def written(self, timeout_ms=None):
        while not self._writes:
            self._written.clear()
            await self._written.wait()
        return self._writes.pop(0)

    def _central_writes(self, conn, data):
        self._writes.append((conn, data))
        self._written.set()


_frames = []
_responses = []


def register_services(*services):
    pass


def config(**kwargs):
    pass


async def advertise(interval_us, name=None, services=None, appearance=0, timeout_ms=None):
    if _link["central"] is None:
        _link["central"] = asyncio.create_task(_central())
    await _link["want"].wait()
    _link["want"].clear()
    return _link["conn"]


async def _connect(mtu):
    conn = DeviceConnection(mtu)
    _link["conn"] = conn
    _link["want"].set()
    await asyncio.sleep_ms(20)
    return conn


async def _command(conn, data):
    n = len(_responses)
    _chars[CONTROL].value = data
    _chars[CONTROL]._central_writes(conn, data)
    while len(_responses) == n:
        await asyncio.sleep_ms(2)
    return _responses[-1]


CONTROL = "f3c40003-6b4e-4a8c-9d1b-48697053656e"
INFO = "f3c40005-6b4e-4a8c-9d1b-48697053656e"


async def _central():
    await asyncio.sleep_ms(50)
    conn = await _connect(247)
    _frames.append("I " + hexlify(_chars[INFO].value).decode())
    await _command(conn, bytes([0x03, 6]))  # 416 Hz
    await _command(conn, bytes([0x01]))  # START
    await asyncio.sleep_ms(500)
    # the link drops: the last 3 notifications handed to the radio never arrive
    data = [k for k, f in enumerate(_frames) if f.startswith("D ")]
    lost = data[-3:]
    first_lost = struct.unpack("<H", bytes.fromhex(_frames[lost[0]][2:])[3:5])[0]
    for k in reversed(lost):
        _frames.pop(k)
    _link["conn"] = None
    conn._gone.set()
    await asyncio.sleep_ms(300)
    conn = await _connect(23)
    await _command(conn, bytes([0x07]) + struct.pack("<I", first_lost))  # SEND_BACKLOG
    await asyncio.sleep_ms(400)
    await _command(conn, bytes([0x05, 7]))  # gyroscope off: accelerometer-only
    await asyncio.sleep_ms(200)
    await _command(conn, bytes([0x08]))  # GET_CONFIG
    await _command(conn, bytes([0x02]))  # STOP
    await asyncio.sleep_ms(50)
    for f in _frames:
        print(f)
    print("END")
    sys.exit(0)
