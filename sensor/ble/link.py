"""Link supervision: one supervisor per sensor, many sensors in one process, a gap-annotated stream out.

::

    links = [SensorLink(entry.alias, entry.address, sensor_type=entry.sensor_type, backend=backend) for ...]
    async with BleGateway(links) as gateway:
        decoders = {link.sensor_id: LinkDecoder(link.sensor_id, link.sensor_type) for link in links}
        async for frame in gateway.frames():            # RawFrame: bytes + host receive time + channel
            block = decoders[frame.sensor_id].feed(frame)   # ImuBlock in host time, exact missing_before

* :class:`SensorLink` (the producer side) connects with a timeout, subscribes, starts the stream, notices the
  disconnect, reconnects with capped exponential back-off and jitter, and after a reconnect asks a protocol v1
  sensor for its backlog (``SEND_BACKLOG`` from the last index it received). Its notify callbacks only stamp
  the host time and enqueue the bytes.
* :class:`BleGateway` runs one supervisor per sensor as named tasks of one TaskGroup. A sensor that disappears
  only makes its own supervisor retry; the others stream on.
* :class:`LinkDecoder` (the consumer side) decodes with the sensor type's codec from the registry, maps sensor
  time to host time (:mod:`sensor.protocol.clock`), and counts and skips bad notifications per reason
  (malformed, short, duplicated, out of order, unknown version ...), logging each reason.

Backends: Bleak's platform backend by default; the Bumble backend (virtual world or a dongle via a Bumble
transport) with :class:`BleBackend`.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import random
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

import numpy as np
from bleak import BleakClient, BleakScanner
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.device import BLEDevice
from bleak.exc import BleakBluetoothNotAvailableError, BleakError

from sensor.ble.bumble_backend import BumbleCentral, BumbleClient, BumbleScanner
from sensor.errors import ConfigError, LinkError, PacketError
from sensor.model import ImuBlock, RawFrame
from sensor.protocol import hipsense_v1 as v1
from sensor.protocol import registry
from sensor.protocol.base import StreamDecoder
from sensor.protocol.clock import ClockEstimate, SensorToHostClock

logger = logging.getLogger(__name__)

BATTERY_LEVEL_UUID = registry.uuid16(0x2A19)

_NO_ADAPTER_FIX = (
    "no usable Bluetooth adapter: switch Bluetooth on and make sure the service runs "
    "(Linux: `rfkill unblock bluetooth` and `sudo systemctl start bluetooth`; check `bluetoothctl show`), or use "
    'a USB dongle through Bumble (`transport = "usb:0"` in the sensor\'s config entry), or try the virtual '
    "sensors with HIPSENSE_BLE=virtual"
)


# ---------------------------------------------------------------------------------------------------------------
# time and backend choice
# ---------------------------------------------------------------------------------------------------------------
class Clock(Protocol):
    """Host time source; the virtual world passes its sped-up clock."""

    speed: float  # world seconds per wall second (1 for the real clock)

    def now(self) -> float: ...

    async def sleep(self, dt_s: float) -> None: ...


class SystemClock:
    """The host clock as the links need it: Unix seconds that never step.

    ``now()`` is the wall clock read once at construction plus the monotonic time elapsed since, so an NTP step
    or a manual change of the system time (forward or back) after start-up moves nothing: receive times stay
    increasing, the sensor-to-host clock mapping sees no jump, host-clock sensor types (WitMotion) infer no gap,
    and durations do not end early or late. The monotonic clock is still rate-disciplined by NTP on Linux, so it
    follows the true time as a slewed wall clock would. ``wall`` and ``monotonic`` are injectable for tests.
    """

    speed = 1.0

    def __init__(self, wall: Callable[[], float] = time.time, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._m0 = monotonic()
        self._t0 = wall()

    def now(self) -> float:
        return self._t0 + (self._monotonic() - self._m0)

    async def sleep(self, dt_s: float) -> None:
        await asyncio.sleep(max(dt_s, 0.0))


@dataclass(frozen=True, slots=True)
class BleBackend:
    """Which Bleak backend the links use: the platform's (``central=None``) or Bumble's.

    ``central`` is a :class:`~sensor.ble.bumble_backend.BumbleCentral` (the in-process virtual world) or a Bumble
    transport string (``usb:0``, ``serial:/dev/ttyACM0``, ``tcp-client:host:port``). ``keys_path`` is where a
    transport's central keeps its bonding keys (the platform backend leaves them to the OS: BlueZ, CoreBluetooth,
    WinRT; a ``BumbleCentral`` object has its own).
    """

    central: BumbleCentral | str | None = None
    keys_path: Path | None = None

    @property
    def name(self) -> str:
        if self.central is None:
            return "platform"
        return self.central if isinstance(self.central, str) else self.central.label

    def scanner_kwargs(self) -> dict[str, Any]:
        if self.central is None:
            return {}
        return {"backend": BumbleScanner, "bumble": self.central, **self._keys_kwargs()}

    def client_kwargs(self) -> dict[str, Any]:
        if self.central is None:
            return {}
        return {"backend": BumbleClient, "bumble": self.central, **self._keys_kwargs()}

    def _keys_kwargs(self) -> dict[str, Any]:
        return {"bumble_keys": self.keys_path} if isinstance(self.central, str) and self.keys_path else {}


def link_error_from(exc: BaseException, address: str | None = None) -> LinkError:
    """A :class:`LinkError` whose message says what to do, for the errors that mean "no adapter" / "Bluetooth off"."""
    text = str(exc) or type(exc).__name__
    if "Bumble transport" in text:  # our own message from central_for_transport already names the fix
        return LinkError(text, address=address, reason="no_adapter")
    if isinstance(exc, BleakBluetoothNotAvailableError) or any(
        key in text for key in ("No Bluetooth adapters found", "Bluetooth device is turned off", "org.bluez")
    ):
        return LinkError(f"{text}: {_NO_ADAPTER_FIX}", address=address, reason="no_adapter")
    if isinstance(exc, FileNotFoundError | PermissionError | ConnectionRefusedError):
        return LinkError(
            f"cannot reach the system's Bluetooth service ({text}): {_NO_ADAPTER_FIX}",
            address=address,
            reason="no_adapter",
        )
    return LinkError(f"BLE error with {address or 'the adapter'}: {text}", address=address, reason="link")


def _is_fatal(exc: BaseException) -> bool:
    return link_error_from(exc).reason == "no_adapter"


# ---------------------------------------------------------------------------------------------------------------
# back-off
# ---------------------------------------------------------------------------------------------------------------
class Backoff:
    """Capped exponential back-off with multiplicative jitter: ``min(cap, first * 2**k) * U(1 - j, 1 + j)``."""

    def __init__(
        self, *, first_s: float = 0.25, cap_s: float = 10.0, jitter: float = 0.25, seed: int | None = None
    ) -> None:
        if not 0 < first_s <= cap_s or not 0 <= jitter < 1:
            raise ConfigError(
                f"back-off needs 0 < first_s <= cap_s and 0 <= jitter < 1, got {first_s}, {cap_s}, {jitter}",
                key="backoff",
            )
        self.first_s, self.cap_s, self.jitter = first_s, cap_s, jitter
        self._rng = random.Random(seed)
        self.attempt = 0

    def next_delay(self) -> float:
        base = min(self.cap_s, self.first_s * 2.0 ** min(self.attempt, 30))
        self.attempt += 1
        return base * self._rng.uniform(1.0 - self.jitter, 1.0 + self.jitter)

    def reset(self) -> None:
        self.attempt = 0


# ---------------------------------------------------------------------------------------------------------------
# the producer side: one supervisor per sensor
# ---------------------------------------------------------------------------------------------------------------
class LinkState(enum.Enum):
    IDLE = "idle"
    SCANNING = "scanning"
    CONNECTING = "connecting"
    STREAMING = "streaming"
    BACKOFF = "backoff"
    STOPPED = "stopped"


@dataclass(slots=True)
class LinkStats:
    """What a supervisor saw (for ``hipsense stream`` and the tests)."""

    state: LinkState = LinkState.IDLE
    connects: int = 0
    disconnects: int = 0
    failed_attempts: int = 0
    frames: int = 0
    bytes: int = 0
    backlog_requests: int = 0
    rssi_dbm: int | None = None
    battery_pct: int | None = None
    mtu: int | None = None
    last_error: str | None = None
    connected_at: list[float] = field(default_factory=list)


class _IndexTracker:
    """The sensor's running sample index (32 bits) of the last data packet received, from packet headers.

    A protocol v1 packet carries the low 16 bits of its first sample's index; the status characteristic gives
    the 32-bit head at connect. Unwrapping each header against the previous one (or the head) yields the index
    to ask the backlog from. Only headers of well-formed packets move it, and never by more than the ring.
    """

    def __init__(self) -> None:
        self.next_index: int | None = None  # the index after the last received sample
        self._ref: int | None = None

    def set_reference(self, head_index: int) -> None:
        if self._ref is None:
            self._ref = head_index

    def observe(self, payload: bytes | bytearray) -> None:
        if len(payload) < v1.HEADER_LEN or payload[0] >> 4 != v1.PROTOCOL_VERSION or self._ref is None:
            return
        n = payload[2]
        bps = 6 if (payload[1] >> 3) & 0x7 == v1.GYR_OFF else 12
        if n == 0 or len(payload) != v1.HEADER_LEN + n * bps:
            return
        idx16 = payload[3] | payload[4] << 8
        d = ((idx16 - self._ref + 32768) & 0xFFFF) - 32768
        first = self._ref + d
        self._ref = first
        end = first + n
        if self.next_index is None or end > self.next_index:
            self.next_index = end


class SensorLink:
    """Supervisor of one sensor's BLE link. Run :meth:`run` as a task; it returns only after :meth:`stop`.

    Args:
        sensor_id: the stable id put into every :class:`RawFrame` (the config alias).
        address: the sensor's Bluetooth address (or platform id).
        sensor_type: a registry type name (``hipsense_v1``, ``witmotion``, ``polar``).
        settings: codec/start settings for the type (e.g. ``sampling_rate_hz``).
        backend: which Bleak backend to use.
        clock: host time source (the virtual world passes its sped-up clock).
        connect_timeout_s: the timeout of one scan + connect + set-up attempt.
        backoff: the reconnect back-off.
        out: the queue frames go to (the gateway's); one is made if ``None``.
    """

    def __init__(
        self,
        sensor_id: str,
        address: str,
        *,
        sensor_type: str = "hipsense_v1",
        settings: dict[str, Any] | None = None,
        backend: BleBackend | None = None,
        clock: Clock | None = None,
        connect_timeout_s: float = 10.0,
        backoff: Backoff | None = None,
        out: asyncio.Queue[RawFrame] | None = None,
    ) -> None:
        self.sensor_id = sensor_id
        self.address = address
        self.sensor_type = sensor_type
        self.spec = registry.get(sensor_type)
        self.settings = dict(settings or {})
        self.backend = backend or BleBackend()
        self.clock: Clock = clock or SystemClock()
        self.connect_timeout_s = connect_timeout_s
        self.backoff = backoff or Backoff()
        self.out: asyncio.Queue[RawFrame] = out if out is not None else asyncio.Queue()
        self.stats = LinkStats()
        self._stop = asyncio.Event()
        self._wake = asyncio.Event()  # set by stop() and by a disconnect
        self._disconnected = False
        self._tracker = _IndexTracker()
        self._boot_id: int | None = None
        self._client: BleakClient | None = None
        self._rate_command: bytes | None = None
        rate = self.settings.get("sampling_rate_hz")
        if sensor_type == v1.SENSOR_TYPE and rate is not None:
            try:
                self._rate_command = v1.set_rate_command(float(rate))
            except ValueError as exc:
                raise ConfigError(
                    f"{sensor_id}: sampling_rate_hz={rate!r} is not a rate a HipSense v1 sensor offers "
                    f"({', '.join(f'{hz:g}' for hz in sorted(v1.RATE_HZ.values()))} Hz): {exc}",
                    key="sampling_rate_hz",
                ) from exc

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    # notify callbacks: stamp, enqueue, nothing else -------------------------------------------------------
    def _enqueue(self, channel: str, data: bytearray) -> None:
        payload = bytes(data)
        self.out.put_nowait(RawFrame(self.sensor_id, self.clock.now(), payload, channel))
        self.stats.frames += 1
        self.stats.bytes += len(payload)

    def _on_data(self, _char: BleakGATTCharacteristic, data: bytearray) -> None:
        # The header peek keeps the resume point for SEND_BACKLOG (a link concern); decoding is the consumer's.
        self._tracker.observe(data)
        self._enqueue(v1.DATA_UUID, data)

    def _make_callback(self, channel: str) -> Callable[[BleakGATTCharacteristic, bytearray], None]:
        def callback(_char: BleakGATTCharacteristic, data: bytearray) -> None:
            self._enqueue(channel, data)

        return callback

    def _on_battery(self, _char: BleakGATTCharacteristic, data: bytearray) -> None:
        if data:
            self.stats.battery_pct = int(data[0])

    def _on_disconnect(self, client: BleakClient) -> None:
        if client is not self._client:
            return  # a late callback of an earlier session's client
        self._disconnected = True
        self._wake.set()

    # supervision --------------------------------------------------------------------------------------------
    async def run(self) -> None:
        """Connect, stream, reconnect after every drop, until :meth:`stop`."""
        try:
            while not self._stop.is_set():
                try:
                    await self._session()
                    self.backoff.reset()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    if _is_fatal(exc):
                        self.stats.state = LinkState.STOPPED
                        raise link_error_from(exc, self.address) from exc
                    self.stats.failed_attempts += 1
                    self.stats.last_error = f"{type(exc).__name__}: {exc}"
                    logger.info("%s: link attempt failed (%s)", self.sensor_id, self.stats.last_error)
                if self._stop.is_set():
                    break
                self.stats.state = LinkState.BACKOFF
                delay = self.backoff.next_delay()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay / self.clock.speed):
                        await self._stop.wait()
        finally:
            self.stats.state = LinkState.STOPPED

    async def _find(self) -> BLEDevice:
        self.stats.state = LinkState.SCANNING
        address = self.address.upper()
        found: tuple[BLEDevice, int] | None = None
        done = asyncio.Event()

        def on_adv(device: BLEDevice, adv: Any) -> None:
            nonlocal found
            if device.address.upper() == address and not done.is_set():
                found = (device, int(adv.rssi))
                done.set()

        async with BleakScanner(on_adv, **self.backend.scanner_kwargs()):
            async with asyncio.timeout(self.connect_timeout_s):
                await done.wait()
        assert found is not None
        self.stats.rssi_dbm = found[1]
        return found[0]

    async def _session(self) -> None:
        try:
            device = await self._find()
        except TimeoutError:
            raise LinkError(
                f"{self.sensor_id} ({self.address}) was not seen advertising within {self.connect_timeout_s:g} s; "
                "is it switched on and in range?",
                address=self.address,
                reason="not_found",
            ) from None
        self.stats.state = LinkState.CONNECTING
        self._disconnected = False
        if not self._stop.is_set():
            self._wake.clear()
        client = BleakClient(
            device,
            disconnected_callback=self._on_disconnect,
            timeout=self.connect_timeout_s,
            **self.backend.client_kwargs(),
        )
        self._client = client
        async with contextlib.AsyncExitStack() as stack:
            async with asyncio.timeout(self.connect_timeout_s):
                await client.connect()
                stack.push_async_callback(self._disconnect, client)
                self.stats.mtu = client.mtu_size
                await self._start(client)
            self.stats.connects += 1
            self.stats.connected_at.append(self.clock.now())
            self.stats.state = LinkState.STREAMING
            logger.info("%s: streaming (MTU %d)", self.sensor_id, client.mtu_size)
            await self._wake.wait()
            if self._disconnected:
                self.stats.disconnects += 1
                logger.info("%s: link lost; reconnecting", self.sensor_id)
            elif client.is_connected:
                for w in self.spec.stop_writes(**self.settings):
                    with contextlib.suppress(BleakError, TimeoutError):
                        await client.write_gatt_char(w.char_uuid, w.data, response=w.with_response)

    async def _disconnect(self, client: BleakClient) -> None:
        with contextlib.suppress(BleakError, TimeoutError):
            await client.disconnect()

    async def _start(self, client: BleakClient) -> None:
        if client.services.get_characteristic(BATTERY_LEVEL_UUID) is not None:
            with contextlib.suppress(BleakError):
                level = await client.read_gatt_char(BATTERY_LEVEL_UUID)
                self.stats.battery_pct = int(level[0]) if level else None
                await client.start_notify(BATTERY_LEVEL_UUID, self._on_battery)
        if self.sensor_type == v1.SENSOR_TYPE:
            await self._start_v1(client)
            return
        for uuid in self.spec.subscribe_uuids:
            await client.start_notify(uuid, self._make_callback(uuid))
        for w in self.spec.start_writes(**self.settings):
            await client.write_gatt_char(w.char_uuid, w.data, response=w.with_response)

    async def _start_v1(self, client: BleakClient) -> None:
        info_bytes = bytes(await client.read_gatt_char(v1.INFO_UUID))
        info = v1.decode_info(info_bytes)
        self._enqueue(v1.INFO_UUID, bytearray(info_bytes))
        if self._boot_id is not None and info.boot_id != self._boot_id:
            logger.info("%s: the sensor restarted (boot id changed); starting afresh", self.sensor_id)
            self._tracker = _IndexTracker()
        self._boot_id = info.boot_id
        status_bytes = bytes(await client.read_gatt_char(v1.STATUS_UUID))
        status = v1.decode_status(status_bytes)
        self._enqueue(v1.STATUS_UUID, bytearray(status_bytes))
        self._tracker.set_reference(status.head_index)
        await client.start_notify(v1.CONTROL_UUID, self._make_callback(v1.CONTROL_UUID))
        await client.start_notify(v1.DATA_UUID, self._on_data)
        await client.start_notify(v1.STATUS_UUID, self._make_callback(v1.STATUS_UUID))
        if self._rate_command is not None:
            await client.write_gatt_char(v1.CONTROL_UUID, self._rate_command, response=True)
        resume = self._tracker.next_index
        if resume is None:
            await client.write_gatt_char(v1.CONTROL_UUID, v1.start_command(), response=True)
        else:
            self.stats.backlog_requests += 1
            logger.info("%s: asking for the backlog from sample %d", self.sensor_id, resume)
            await client.write_gatt_char(v1.CONTROL_UUID, v1.send_backlog_command(resume), response=True)


class BleGateway:
    """Runs many :class:`SensorLink` supervisors (named tasks of one TaskGroup) and merges their frames.

    ``async with BleGateway(links) as gw: async for frame in gw.frames(): ...``. Leaving the context stops every
    supervisor and waits for them.
    """

    def __init__(self, links: Sequence[SensorLink]) -> None:
        ids = [link.sensor_id for link in links]
        if len(set(ids)) != len(ids):
            raise ConfigError(f"sensor ids must be distinct, got {ids}", key="sensors")
        self.queue: asyncio.Queue[RawFrame] = asyncio.Queue()
        self.links = list(links)
        for link in self.links:
            link.out = self.queue
        self._stack = contextlib.AsyncExitStack()

    async def __aenter__(self) -> BleGateway:
        await self._stack.__aenter__()
        tg = await self._stack.enter_async_context(asyncio.TaskGroup())
        for link in self.links:
            tg.create_task(link.run(), name=f"link:{link.sensor_id}")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for link in self.links:
            link.stop()
        await self._stack.__aexit__(exc_type, exc, tb)

    async def frames(self) -> AsyncIterator[RawFrame]:
        """Every frame of every sensor, in arrival order (forever; break out of the loop to stop)."""
        while True:
            yield await self.queue.get()

    def drain(self) -> list[RawFrame]:
        """The frames queued right now (without waiting)."""
        out: list[RawFrame] = []
        while not self.queue.empty():
            out.append(self.queue.get_nowait())
        return out


# ---------------------------------------------------------------------------------------------------------------
# the consumer side: decode, map the clock, count the bad ones
# ---------------------------------------------------------------------------------------------------------------
class LinkDecoder:
    """Decodes one sensor's :class:`RawFrame` stream into :class:`ImuBlock` in host time.

    Bad notifications raise nothing: each is counted in :attr:`skipped` under its reason (the codec's
    :class:`PacketError` reason: ``short``, ``truncated``, ``length``, ``version``, ``order``, ``timestamp`` ...,
    and ``duplicate`` for replayed samples already delivered) and logged once per reason at WARNING, then at
    DEBUG. Sensor times are mapped to host time by :class:`SensorToHostClock` for sensor-clock types.
    """

    _WARN_PER_REASON = 3

    def __init__(self, sensor_id: str, sensor_type: str = "hipsense_v1", **settings: Any) -> None:
        self.sensor_id = sensor_id
        self.sensor_type = sensor_type
        spec = registry.get(sensor_type)
        self.decoder: StreamDecoder = spec.make_decoder(sensor_id, **settings)
        self.clock = SensorToHostClock() if spec.clock == "sensor" else None
        self.skipped: Counter[str] = Counter()
        self.samples = 0
        self.missing = 0
        self.frames = 0
        self.last_sensor_t_s: float | None = None
        self._boot_id: int | None = None

    @property
    def clock_estimate(self) -> ClockEstimate | None:
        return None if self.clock is None else self.clock.estimate

    def feed(self, frame: RawFrame) -> ImuBlock | None:
        """One frame in; a block of new samples (host time) or ``None``."""
        self.frames += 1
        if frame.channel == v1.INFO_UUID and self.sensor_type == v1.SENSOR_TYPE:
            self._on_info(frame)
        duplicates = getattr(self.decoder, "n_duplicates", None)
        try:
            block = self.decoder.decode(frame)
        except PacketError as exc:
            self._skip(exc.reason, str(exc))
            return None
        if block is None:
            if duplicates is not None and getattr(self.decoder, "n_duplicates", None) != duplicates:
                self._skip("duplicate", "samples already delivered (backlog replay)")
            return None
        if len(block) == 0:
            return None
        self.last_sensor_t_s = float(block.t_s[-1])
        if self.clock is not None:
            t_host = self.clock.map(np.asarray(block.t_s), frame.host_t_s)
            block = block.with_times(t_host)
        self.samples += len(block)
        self.missing += block.n_missing
        return block

    def decode(self, frame: RawFrame) -> ImuBlock | None:
        """The :class:`~sensor.protocol.base.StreamDecoder` face of :meth:`feed` (replay uses it, so replay == live)."""
        return self.feed(frame)

    def feed_many(self, frames: Sequence[RawFrame]) -> list[ImuBlock]:
        """Frames in arrival order; the same blocks as feeding them one by one."""
        out = []
        for f in frames:
            b = self.feed(f)
            if b is not None:
                out.append(b)
        return out

    def _on_info(self, frame: RawFrame) -> None:
        try:
            info = v1.decode_info(frame.payload)
        except PacketError:
            return
        if self._boot_id is not None and info.boot_id != self._boot_id:
            reset = getattr(self.decoder, "reset", None)
            if reset is not None:
                reset()
            if self.clock is not None:
                self.clock.reset()
        self._boot_id = info.boot_id

    def _skip(self, reason: str, message: str) -> None:
        self.skipped[reason] += 1
        level = logging.WARNING if self.skipped[reason] <= self._WARN_PER_REASON else logging.DEBUG
        logger.log(level, "%s: skipped a notification (%s): %s", self.sensor_id, reason, message)


def decoder_for(link: SensorLink) -> LinkDecoder:
    """The consumer-side decoder matching a link (protocol v1 takes no settings: it reads them from packets)."""
    settings = {} if link.sensor_type == v1.SENSOR_TYPE else link.settings
    return LinkDecoder(link.sensor_id, link.sensor_type, **settings)


async def stream_for(
    links: Sequence[SensorLink],
    duration_s: float | None,
    *,
    clock: Clock | None = None,
    on_block: Callable[[ImuBlock], None] | None = None,
    stop: asyncio.Event | None = None,
    decoders: dict[str, LinkDecoder] | None = None,
) -> dict[str, LinkDecoder]:
    """Run the links for ``duration_s`` of (world) time, decode every frame, hand each block to ``on_block``.

    Returns the decoders (their counters say what was delivered, missing and skipped); pass a dict as
    ``decoders`` to watch them while streaming. ``duration_s=None`` streams until ``stop`` is set.
    """
    clk: Clock = clock or SystemClock()
    end = None if duration_s is None else clk.now() + duration_s
    if decoders is None:
        decoders = {}
    for link in links:
        decoders.setdefault(link.sensor_id, decoder_for(link))
    try:
        await _pump(links, decoders, clk, end, on_block, stop)
    except BaseExceptionGroup as group:
        # A supervisor gives up only for a reason that concerns every sensor (no adapter): say that, not a group.
        fatal = group.subgroup(LinkError)
        if fatal is None:
            raise
        first: BaseException = fatal
        while isinstance(first, BaseExceptionGroup):
            first = first.exceptions[0]
        raise first from None
    return decoders


async def _pump(
    links: Sequence[SensorLink],
    decoders: dict[str, LinkDecoder],
    clk: Clock,
    end: float | None,
    on_block: Callable[[ImuBlock], None] | None,
    stop: asyncio.Event | None,
) -> None:
    async with BleGateway(links) as gw:
        while True:
            if stop is not None and stop.is_set():
                break
            remaining = None if end is None else end - clk.now()
            if remaining is not None and remaining <= 0:
                break
            if gw.queue.empty():
                wait_s = 0.25 if remaining is None else min(0.25, remaining / clk.speed)
                try:
                    async with asyncio.timeout(wait_s):
                        frame = await gw.queue.get()
                except TimeoutError:
                    continue
                frames = [frame, *gw.drain()]
            else:
                frames = gw.drain()
            for frame in frames:
                block = decoders[frame.sensor_id].feed(frame)
                if block is not None and on_block is not None:
                    on_block(block)
        for frame in gw.drain():
            block = decoders[frame.sensor_id].feed(frame)
            if block is not None and on_block is not None:
                on_block(block)
