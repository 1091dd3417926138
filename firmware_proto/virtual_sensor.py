"""The virtual HipSense sensor: a Bumble GATT peripheral speaking protocol v1 exactly as the firmware does.

It drives the firmware's own pure logic (``micropython/sensorcore.py``: ring buffer, backlog replay, command
handling) and encoder (``micropython/hsproto.py``), so the bytes on the air are the firmware's bytes. Samples come
from the motion simulator (a scenario or preset, looped) or from a recorded :class:`~sensor.model.ImuBlock`.

Knobs (:class:`VirtualSensorConfig`): sample rate (52/104/208/416 Hz), the largest ATT MTU it accepts, packet
loss probability, link drops (period, duration), battery, clock drift (ppm), ring-buffer depth (backlog replay on
reconnect is the firmware's), link capacity (connection interval and packets per event), and a ``speed`` factor on
the shared :class:`WorldClock` so that tests run a minute of sensor time in a few seconds. It can also impersonate
a WitMotion WT901BLE or a Polar Verity Sense / H10 with the encoders of ``sensor/protocol/witmotion.py`` and
``sensor/protocol/polar.py``.

Where it runs:

* in-process: :class:`VirtualWorld` builds a Bumble ``LocalLink``, N virtual sensors and the gateway's central
  (:class:`sensor.ble.bumble_backend.BumbleCentral`); tests and the demo use it through Bleak's public API;
* on a real radio: ``hipsense virtual-sensor --transport usb:0`` (a second machine with a dongle becomes an
  over-the-air sensor).

Every loop is a named task in a TaskGroup; Bumble's event callbacks only set flags or enqueue.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import numpy as np
from bumble import hci
from bumble.controller import Controller
from bumble.core import UUID, AdvertisingData
from bumble.device import AdvertisingEventProperties, AdvertisingParameters, AdvertisingSet, Connection, Device
from bumble.gatt import Characteristic, CharacteristicValue, Service
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport import open_transport
from bumble.transport.common import AsyncPipeSink

from firmware_proto.micropython import hsproto as P
from firmware_proto.micropython.sensorcore import SensorCore
from sensor.ble.bumble_backend import (
    BumbleCentral,
    PrivateJsonKeyStore,
    configure_virtual_controller,
    just_works_pairing,
    release_stale_acl_credits,
)
from sensor.errors import ConfigError, PacketError
from sensor.frames import STANDARD_GRAVITY_MPS2
from sensor.model import ImuBlock
from sensor.protocol import polar as PL
from sensor.protocol import witmotion as W
from sensor.sim import Scenario, SensorModel, Standing, Walking, simulate

logger = logging.getLogger(__name__)

SensorKind = Literal["hipsense_v1", "witmotion", "polar"]
RATE_CODES: dict[float, int] = {hz: code for code, hz in P.RATE_HZ.items()}
_BATTERY_SERVICE = UUID.from_16_bits(0x180F)
_BATTERY_LEVEL = UUID.from_16_bits(0x2A19)
_DIS_SERVICE = UUID.from_16_bits(0x180A)
_DIS_MANUFACTURER = UUID.from_16_bits(0x2A29)
_DIS_MODEL = UUID.from_16_bits(0x2A24)
_DIS_HARDWARE = UUID.from_16_bits(0x2A27)
_DIS_FIRMWARE = UUID.from_16_bits(0x2A26)
_STATUS_PERIOD_S = 5.0
_TICK_S = 0.004  # sampler period in sensor time: a few samples per iteration at 416 Hz
_MIN_TICK_WALL_S = 0.002  # a sped-up world ticks no faster than this in wall time (CPU goes to the radio path)
_TX_BUFFERS = 32  # ACL packets the controller may hold before the sensor waits (a radio's transmit buffers)


# ---------------------------------------------------------------------------------------------------------------
# time
# ---------------------------------------------------------------------------------------------------------------
class WorldClock:
    """Wall-clock time, optionally sped up: ``now()`` runs ``speed`` times faster than real time.

    The virtual sensors and the gateway share one clock, so a sped-up world is consistent: sensor timestamps,
    host receive times, link drops and reconnect back-off all advance together.
    """

    def __init__(self, speed: float = 1.0) -> None:
        if not speed > 0:
            raise ConfigError(f"clock speed {speed!r} must be > 0 (1 = real time)", key="speed")
        self.speed = float(speed)
        self._t0 = time.time()
        self._m0 = time.monotonic()

    def now(self) -> float:
        """World time, seconds since the Unix epoch."""
        return self._t0 + (time.monotonic() - self._m0) * self.speed

    async def sleep(self, dt_s: float) -> None:
        """Sleep ``dt_s`` seconds of world time."""
        await asyncio.sleep(max(dt_s, 0.0) / self.speed)


# ---------------------------------------------------------------------------------------------------------------
# configuration and sample sources
# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class VirtualSensorConfig:
    """How one virtual sensor behaves. Times are sensor (world) seconds.

    Attributes:
        name: advertised local name (by default ``HipSense-`` plus the last four hex digits of the address).
        address: its static random Bluetooth address.
        kind: ``hipsense_v1`` (protocol v1), or impersonate ``witmotion`` / ``polar``.
        sampling_rate_hz: 52, 104, 208 or 416 (protocol v1 codes; a host may change it with SET_RATE).
        max_mtu: the largest ATT MTU it accepts (23 = no MTU exchange benefit).
        packet_loss: probability that a data notification is lost on air (seeded; lost packets are logged in
            :attr:`VirtualSensor.lost`).
        link_drop_period_s, link_drop_duration_s: drop the link every period for that long (None = never).
        battery_pct: battery level (0..100).
        clock_drift_ppm: the sensor crystal runs fast by this much (negative: slow).
        buffer_samples: ring-buffer depth for backlog replay.
        connection_interval_s, packets_per_event: link capacity (notifications per second =
            packets_per_event / connection_interval_s), which bounds the backlog catch-up speed.
        seed: seed of the loss generator.
        polar_model: ``verity_sense`` or ``h10`` when impersonating Polar.
        mounting: the mounting hint in the info characteristic.
        require_encryption: the control point only accepts writes on an encrypted (paired) link, as a sensor
            that takes commands only from its bonded host (unpaired writes get ATT error 0x0F).
        duration_s: the IMU stops sampling this long after the first host started the stream (the link stays
            up); ``None``: never.
            Tests use it to check that every sample of a known stretch arrives, however busy the CPU.
    """

    name: str | None = None
    address: str = "D0:00:00:00:00:01"
    kind: SensorKind = "hipsense_v1"
    sampling_rate_hz: float = 208.0
    max_mtu: int = 247
    packet_loss: float = 0.0
    link_drop_period_s: float | None = None
    link_drop_duration_s: float = 2.0
    battery_pct: int = 87
    clock_drift_ppm: float = 0.0
    buffer_samples: int = 8192
    connection_interval_s: float = 0.0075
    packets_per_event: int = 6
    seed: int = 0
    polar_model: Literal["verity_sense", "h10"] = "verity_sense"
    mounting: str = "sacrum"
    duration_s: float | None = None
    require_encryption: bool = False

    def __post_init__(self) -> None:
        if self.kind == "hipsense_v1" and self.sampling_rate_hz not in RATE_CODES:
            raise ConfigError(
                f"sampling_rate_hz={self.sampling_rate_hz!r} is not a protocol v1 rate; use one of "
                f"{sorted(RATE_CODES)}",
                key="sampling_rate_hz",
            )
        if not 23 <= self.max_mtu <= 517:
            raise ConfigError(f"max_mtu={self.max_mtu} must be within 23..517", key="max_mtu")
        if not 0.0 <= self.packet_loss < 1.0:
            raise ConfigError(f"packet_loss={self.packet_loss!r} must be a probability in [0, 1)", key="packet_loss")
        if self.link_drop_period_s is not None and not self.link_drop_period_s > self.link_drop_duration_s > 0:
            raise ConfigError(
                f"link drops every {self.link_drop_period_s} s for {self.link_drop_duration_s} s: the period must "
                "be longer than the (positive) duration",
                key="link_drop_period_s",
            )
        if not 0 <= self.battery_pct <= 100:
            raise ConfigError(f"battery_pct={self.battery_pct} must be within 0..100", key="battery_pct")
        if self.buffer_samples < 1:
            raise ConfigError(f"buffer_samples={self.buffer_samples} must be >= 1", key="buffer_samples")

    @property
    def local_name(self) -> str:
        if self.name:
            return self.name
        tail = self.address.replace(":", "")[-4:]
        if self.kind == "witmotion":
            return f"WT901BLE{tail[-2:]}"
        if self.kind == "polar":
            return f"Polar H10 {tail}" if self.polar_model == "h10" else f"Polar Sense {tail}"
        return f"HipSense-{tail}"


class SampleSource:
    """Samples for a virtual sensor: a simulated scenario or a recorded block, looped to any length.

    ``window(rate_hz, start, n)`` gives samples ``start .. start + n - 1`` at ``rate_hz`` as
    ``(acc_mps2, gyr_radps)``; the recording repeats when it runs out.
    """

    def __init__(self, *, scenario: Any | None = None, block: ImuBlock | None = None) -> None:
        if scenario is not None and block is not None:
            raise ConfigError("give a scenario or a recorded block, not both", key="source")
        self._scenario = scenario
        self._block = block
        self._cache: dict[float, tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]] = {}

    @classmethod
    def preset(cls, name: str = "run10") -> SampleSource:

        return cls(scenario=Scenario.load(name))

    def _arrays(self, rate_hz: float) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
        arrays = self._cache.get(rate_hz)
        if arrays is not None:
            return arrays
        if self._block is not None:
            b = self._block
            gyr = b.gyr_radps if b.gyr_radps is not None else np.zeros_like(b.acc_mps2)
            if abs(b.sampling_rate_hz - rate_hz) > 0.01 * rate_hz:
                t = b.t_s[0] + np.arange(int((b.t_s[-1] - b.t_s[0]) * rate_hz)) / rate_hz
                acc = np.stack([np.interp(t, b.t_s, b.acc_mps2[:, i]) for i in range(3)], axis=1)
                gyr = np.stack([np.interp(t, b.t_s, gyr[:, i]) for i in range(3)], axis=1)
                arrays = (acc, gyr)
            else:
                arrays = (np.asarray(b.acc_mps2), np.asarray(gyr))
        else:
            scenario = self._scenario
            if scenario is None:
                scenario = Scenario(
                    name="virtual-default",
                    segments=[Standing(duration_s=5.0), Walking(duration_s=55.0)],
                    sensor=SensorModel(sampling_rate_hz=rate_hz),
                )
            scenario = scenario.model_copy(
                update={"sensor": scenario.sensor.model_copy(update={"sampling_rate_hz": rate_hz})}
            )
            res = simulate(scenario)
            blk = res.block
            gyr = blk.gyr_radps if blk.gyr_radps is not None else np.zeros_like(blk.acc_mps2)
            arrays = (np.asarray(blk.acc_mps2), np.asarray(gyr))
        if arrays[0].shape[0] == 0:
            raise ConfigError("the sample source holds no samples; record or simulate something first", key="source")
        self._cache[rate_hz] = arrays
        return arrays

    def window(self, rate_hz: float, start: int, n: int) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
        acc, gyr = self._arrays(rate_hz)
        idx = np.arange(start, start + n) % acc.shape[0]
        return acc[idx], gyr[idx]


@functools.cache
def _default_source() -> SampleSource:
    return SampleSource()


def _counts(values: np.ndarray[Any, Any], lsb: float) -> np.ndarray[Any, Any]:
    return np.clip(np.rint(values / lsb), -32768, 32767).astype("<i2")


# ---------------------------------------------------------------------------------------------------------------
# the peripheral
# ---------------------------------------------------------------------------------------------------------------
@dataclass(slots=True)
class VirtualSensorStats:
    """What the virtual sensor did: ground truth for the tests."""

    notifications: int = 0
    samples_sent: int = 0
    lost_packets: list[tuple[int, int]] = field(default_factory=list)  # (first sample index, n) lost on air
    link_drops: int = 0
    connections: int = 0
    commands: int = 0

    @property
    def lost_samples(self) -> int:
        return sum(n for _, n in self.lost_packets)


class VirtualSensor:
    """One virtual sensor on a Bumble device (a virtual controller on a LocalLink, or a real radio).

    Use :meth:`on_link` or :meth:`on_transport`, then ``await sensor.run()`` (forever, until cancelled) in a
    TaskGroup.
    """

    def __init__(
        self,
        device: Device,
        config: VirtualSensorConfig,
        *,
        source: SampleSource | None = None,
        clock: WorldClock | None = None,
        extended_advertising: bool = False,
    ) -> None:
        self.device = device
        self.config = config
        # Bumble's virtual controller sends no scan responses: in-process, one extended advertisement carries
        # everything; a real radio uses legacy advertising plus a scan response (what phones scan for).
        self._extended = extended_advertising
        self._adv_set: AdvertisingSet | None = None
        self._stop = asyncio.Event()
        self.source = source or _default_source()
        self.clock = clock or WorldClock()
        self.stats = VirtualSensorStats()
        self._rng = random.Random(config.seed)
        self._connection: Connection | None = None
        self._data_subscribed = False
        self._advertise = asyncio.Event()
        self._status_due = asyncio.Event()
        self._commands: asyncio.Queue[tuple[Connection, bytes] | None] = asyncio.Queue()  # answers to send
        self._down_until = -math.inf
        self._boot_w = 0.0
        self.battery_pct = config.battery_pct
        # sampling segment (restarted when the rate changes)
        self._seg_w = 0.0
        self._seg_first = 0
        self._seg_rate = config.sampling_rate_hz
        self._produced = 0  # samples produced so far (= the next sample index)
        self._credit = 0.0
        self._streaming_third_party = False
        self._polar_measurements: set[int] = set()
        self._polar_factors: dict[int, float] = {}
        self._tp_next = 0  # next sample index to send for third-party kinds
        self._stream_start_w: float | None = None
        self._injected: list[bytes] = []  # arbitrary notifications to send on the data characteristic (tests)
        self.lost_payloads: list[bytes] = []  # the bytes of the packets lost on air
        self.last_payload: bytes | None = None
        boot_id = config.seed & 0xFFFF or 0x4853
        self.core = SensorCore(  # type: ignore[no-untyped-call]
            config.buffer_samples,
            "LSM6DSOX",
            "hipsense-virtual 1.0",
            mounting=config.mounting,
            up_axis=3,
            forward_axis=1,
            boot_id=boot_id,
        )
        self.core.rate_code = RATE_CODES.get(config.sampling_rate_hz, self.core.rate_code)
        self._build_gatt()
        device.pairing_config_factory = lambda _conn: just_works_pairing()  # no display, no buttons
        device.on(Device.EVENT_CONNECTION, self._on_connection)
        device.gatt_server.on("characteristic_subscription", self._on_subscription)
        device.gatt_server.max_mtu = config.max_mtu

    # construction --------------------------------------------------------------------------------------------
    @classmethod
    def on_link(
        cls,
        link: LocalLink,
        config: VirtualSensorConfig,
        *,
        source: SampleSource | None = None,
        clock: WorldClock | None = None,
        keys_path: Path | None = None,
    ) -> VirtualSensor:
        """A sensor with its own virtual controller on ``link``; ``keys_path`` keeps its bonds in that JSON file
        (as a real sensor keeps them in flash), else in memory."""
        controller = Controller(f"vs-{config.address}", link=link, public_address=config.address)
        configure_virtual_controller(controller)
        device = Device(
            name=config.local_name,
            address=hci.Address(config.address),
            host=Host(controller, AsyncPipeSink(controller)),
        )
        if keys_path is not None:
            device.keystore = PrivateJsonKeyStore(keys_path, namespace=config.address)
        return cls(device, config, source=source, clock=clock, extended_advertising=True)

    @classmethod
    async def on_transport(
        cls, spec: str, config: VirtualSensorConfig, *, source: SampleSource | None = None
    ) -> tuple[VirtualSensor, Any]:
        """A virtual sensor on a real controller; returns it and the transport (close it when done)."""

        transport = await open_transport(spec)
        device = Device.with_hci(config.local_name, hci.Address(config.address), transport.source, transport.sink)
        return cls(device, config, source=source), transport

    # GATT ----------------------------------------------------------------------------------------------------
    def _build_gatt(self) -> None:
        cfg = self.config
        props = Characteristic.Properties
        if cfg.kind == "hipsense_v1":
            self.data_char: Characteristic[Any] = Characteristic(
                P.DATA_UUID, props.NOTIFY, Characteristic.READABLE, b""
            )
            write_permission = Characteristic.WRITEABLE
            if cfg.require_encryption:
                write_permission |= Characteristic.WRITE_REQUIRES_ENCRYPTION
            self.control_char: Characteristic[Any] = Characteristic(
                P.CONTROL_UUID,
                props.WRITE | props.INDICATE,
                write_permission,
                CharacteristicValue(write=self._on_control_write),
            )
            self.status_char: Characteristic[Any] = Characteristic(
                P.STATUS_UUID,
                props.READ | props.NOTIFY,
                Characteristic.READABLE,
                CharacteristicValue(read=lambda _c: self._status_bytes()),
            )
            info = Characteristic(P.INFO_UUID, props.READ, Characteristic.READABLE, bytes(self.core.info()))  # type: ignore[no-untyped-call]
            primary = Service(P.SERVICE_UUID, [self.data_char, self.control_char, self.status_char, info])
            manufacturer, model = "HipSense", "HipSense Virtual"
        elif cfg.kind == "witmotion":
            self.data_char = Characteristic(W.NOTIFY_UUID, props.NOTIFY, Characteristic.READABLE, b"")
            self.control_char = Characteristic(
                W.WRITE_UUID,
                props.WRITE | props.WRITE_WITHOUT_RESPONSE,
                Characteristic.WRITEABLE,
                CharacteristicValue(write=self._on_control_write),
            )
            primary = Service(W.SERVICE_UUID, [self.data_char, self.control_char])
            manufacturer, model = "WitMotion", "WT901BLECL"
        else:
            self.control_char = Characteristic(
                PL.PMD_CONTROL_UUID,
                props.READ | props.WRITE | props.INDICATE,
                Characteristic.READABLE | Characteristic.WRITEABLE,
                CharacteristicValue(read=lambda _c: self._polar_features(), write=self._on_control_write),
            )
            self.data_char = Characteristic(PL.PMD_DATA_UUID, props.NOTIFY, Characteristic.READABLE, b"")
            primary = Service(PL.PMD_SERVICE_UUID, [self.control_char, self.data_char])
            manufacturer, model = "Polar Electro Oy", "Polar H10" if cfg.polar_model == "h10" else "Polar Sense"
        self.battery_char: Characteristic[Any] = Characteristic(
            _BATTERY_LEVEL,
            props.READ | props.NOTIFY,
            Characteristic.READABLE,
            CharacteristicValue(read=lambda _c: bytes([self.battery_pct])),
        )
        dis = Service(
            _DIS_SERVICE,
            [
                Characteristic(_DIS_MANUFACTURER, props.READ, Characteristic.READABLE, manufacturer.encode()),
                Characteristic(_DIS_MODEL, props.READ, Characteristic.READABLE, model.encode()),
                Characteristic(_DIS_HARDWARE, props.READ, Characteristic.READABLE, b"virtual-1"),
                Characteristic(_DIS_FIRMWARE, props.READ, Characteristic.READABLE, b"1.0.0"),
            ],
        )
        self.device.add_services([primary, Service(_BATTERY_SERVICE, [self.battery_char]), dis])

    def _polar_features(self) -> bytes:

        kinds = (
            (PL.MeasurementType.ACC,)
            if self.config.polar_model == "h10"
            else (
                PL.MeasurementType.ACC,
                PL.MeasurementType.GYRO,
            )
        )
        return bytes(PL.encode_features(kinds))

    def _status_bytes(self) -> bytes:
        return bytes(self.core.status(self.battery_pct, 3700 + 5 * self.battery_pct))  # type: ignore[no-untyped-call]

    def _advertising_data(self) -> tuple[bytes, bytes]:
        cfg = self.config
        flags = (AdvertisingData.FLAGS, bytes([0x06]))
        name = (AdvertisingData.COMPLETE_LOCAL_NAME, cfg.local_name.encode())
        battery = (AdvertisingData.SERVICE_DATA_16_BIT_UUID, bytes(_BATTERY_SERVICE) + bytes([self.battery_pct]))
        if cfg.kind == "hipsense_v1":
            adv = [flags, (AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS, bytes(UUID(P.SERVICE_UUID)))]
            scan = [name, battery]
        elif cfg.kind == "witmotion":
            adv = [flags, (AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS, bytes(UUID(W.SERVICE_UUID)))]
            scan = [name]
        else:
            company = int(PL.POLAR_COMPANY_ID).to_bytes(2, "little")
            adv = [flags, (AdvertisingData.MANUFACTURER_SPECIFIC_DATA, company + b"\x33\x1e\x00")]
            scan = [name]
        return bytes(AdvertisingData(adv)), bytes(AdvertisingData(scan))

    # Bumble callbacks: only set flags / enqueue ---------------------------------------------------------------
    def _on_connection(self, connection: Connection) -> None:
        self._connection = connection
        self._data_subscribed = False
        self.stats.connections += 1
        connection.on(Connection.EVENT_DISCONNECTION, functools.partial(self._on_disconnection, connection))
        self._status_due.set()

    def _on_disconnection(self, connection: Connection, _reason: int) -> None:
        # As the firmware: keep sampling, send nothing until the next central says where to resume.
        if self.config.kind == "hipsense_v1":
            self.core.link_lost()
        if self._connection is connection:
            self._connection = None
            self._data_subscribed = False
            self._streaming_third_party = False
        self._advertise.set()

    def _on_subscription(self, _bearer: Any, characteristic: Any, notify: bool, indicate: bool) -> None:
        if characteristic is self.data_char:
            self._data_subscribed = bool(notify)
            if self.config.kind == "witmotion":
                # a WitMotion streams as soon as its notifications are enabled
                self._streaming_third_party = bool(notify)
                if notify and self._stream_start_w is None:
                    self._stream_start_w = self.clock.now()
                self._tp_next = self._produced

    def _on_control_write(self, connection: Connection, value: bytes) -> None:
        # Like the firmware's write handler: apply the command at once, answer from the control task.
        self.stats.commands += 1
        response = self._handle_command(bytes(value))
        if response is not None:
            self._commands.put_nowait((connection, response))

    # running -------------------------------------------------------------------------------------------------
    def stop(self) -> None:
        """Ask :meth:`run` to return (at the next safe point: an HCI command is never cut in half)."""
        self._stop.set()
        self._advertise.set()
        self._status_due.set()
        self._commands.put_nowait(None)

    async def _pause(self, dt_s: float) -> bool:
        """Sleep ``dt_s`` of world time; ``False`` when asked to stop."""
        if self._stop.is_set():
            return False
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(dt_s, 0.0) / self.clock.speed):
                await self._stop.wait()
        return not self._stop.is_set()

    async def run(self) -> None:
        """Power on, advertise and stream until :meth:`stop` (or cancellation)."""
        await self.device.power_on()
        self._boot_w = self.clock.now()
        self._seg_w = self._boot_w
        self._advertise.set()
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self._advertiser(), name=f"{self.config.local_name}:advertiser")
            tg.create_task(self._sampler(), name=f"{self.config.local_name}:sampler")
            tg.create_task(self._control(), name=f"{self.config.local_name}:control")
            tg.create_task(self._status(), name=f"{self.config.local_name}:status")
            if self.config.link_drop_period_s is not None:
                tg.create_task(self._link_drops(), name=f"{self.config.local_name}:link-drops")

    @property
    def is_connected(self) -> bool:
        return self._connection is not None

    async def vanish(self) -> None:
        """Disappear for good (battery out, walked away): drop the link and never advertise again."""
        self._down_until = math.inf
        connection = self._connection
        self._connection = None
        self._data_subscribed = False
        if self._adv_set is not None and self._adv_set.enabled:
            await self._adv_set.stop()
        elif self.device.is_advertising:
            await self.device.stop_advertising()
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.disconnect(hci.HCI_CONNECTION_TIMEOUT_ERROR)

    def inject(self, payloads: Sequence[bytes]) -> None:
        """Notify these bytes on the data characteristic next, as they are (fuzzing the host through the air)."""
        self._injected.extend(bytes(p) for p in payloads)

    @property
    def finished(self) -> bool:
        """Sampling is over (``duration_s``) and every sample was handed to the radio (or it vanished)."""
        if self._down_until == math.inf:
            return True
        start = self._stream_start_w
        now = self.clock.now()
        if self.config.duration_s is None or start is None or now < start + self.config.duration_s:
            return False
        if self._produced < self._target(now):
            return False  # the sampler has not caught up with the end yet
        if self.config.kind == "hipsense_v1":
            return self.core.streaming and self.core.cursor >= self.core.ring.head
        return self._tp_next >= self._produced

    @property
    def head_index(self) -> int:
        """The index the next sample will get."""
        return self._produced

    def sensor_ticks(self, world_t: float) -> int:
        """The sensor's 32.768 kHz tick counter (unwrapped) at world time ``world_t``; it drifts by the ppm."""
        return int((world_t - self._boot_w) * (1.0 + self.config.clock_drift_ppm * 1e-6) * P.TICKS_PER_S)

    async def _advertiser(self) -> None:
        while not self._stop.is_set():
            await self._advertise.wait()
            self._advertise.clear()
            wait = self._down_until - self.clock.now()
            if wait == math.inf:
                continue
            if wait > 0 and not await self._pause(wait):
                break
            if self._stop.is_set():
                break
            if self._connection is None and not self.device.is_advertising:
                release_stale_acl_credits(self.device)
                adv, scan = self._advertising_data()
                if not self._extended:
                    await self.device.start_advertising(
                        advertising_data=adv,
                        scan_response_data=scan,
                        advertising_interval_min=20.0,
                        advertising_interval_max=20.0,
                    )
                elif self._adv_set is None:
                    self._adv_set = await self.device.create_advertising_set(
                        advertising_parameters=AdvertisingParameters(
                            advertising_event_properties=AdvertisingEventProperties(is_connectable=True),
                            primary_advertising_interval_min=20.0,
                            primary_advertising_interval_max=20.0,
                        ),
                        advertising_data=adv + scan,
                    )
                else:
                    await self._adv_set.set_advertising_data(adv + scan)
                    await self._adv_set.start()

    async def _link_drops(self) -> None:
        period = self.config.link_drop_period_s
        assert period is not None
        while await self._pause(period):
            self._down_until = self.clock.now() + self.config.link_drop_duration_s
            connection = self._connection
            if connection is not None:
                self._connection = None  # nothing more is sent on it
                self._data_subscribed = False
                if self.config.kind == "hipsense_v1":
                    self.core.link_lost()
                self.stats.link_drops += 1
                logger.info(
                    "%s: dropping the link for %.1f s", self.config.local_name, self.config.link_drop_duration_s
                )
                with contextlib.suppress(Exception):
                    await connection.disconnect(hci.HCI_CONNECTION_TIMEOUT_ERROR)

    async def _status(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(_STATUS_PERIOD_S / self.clock.speed):
                    await self._status_due.wait()
            self._status_due.clear()
            connection = self._connection
            if connection is None or self._stop.is_set():
                continue
            with contextlib.suppress(Exception):
                await self.device.notify_subscriber(connection, self.battery_char, bytes([self.battery_pct]))
                if self.config.kind == "hipsense_v1":
                    await self.device.notify_subscriber(connection, self.status_char, self._status_bytes())

    async def _control(self) -> None:
        """Send the control-point answers (indications; WitMotion answers by notification)."""
        while not self._stop.is_set():
            item = await self._commands.get()
            if item is None:
                break
            connection, response = item
            if connection is not self._connection:
                continue
            with contextlib.suppress(Exception):
                # An indication waits for the confirmation; a link that drops meanwhile must not stall us.
                async with asyncio.timeout(1.0):
                    if self.config.kind == "witmotion":
                        await self.device.notify_subscriber(connection, self.data_char, response)
                    else:
                        await self.device.indicate_subscriber(connection, self.control_char, response)
            self._status_due.set()

    def _handle_command(self, data: bytes) -> bytes | None:
        kind = self.config.kind
        if kind == "hipsense_v1":
            rate_before = self.core.rate_code
            self._advance(self.clock.now())
            response = bytes(self.core.handle_command(data, self.sensor_ticks(self.clock.now())))
            if self.core.streaming and self._stream_start_w is None:
                self._stream_start_w = self.clock.now()  # type: ignore[no-untyped-call]
            if self.core.rate_code != rate_before:
                self._new_segment(P.RATE_HZ[self.core.rate_code])
            return response
        if kind == "witmotion":
            try:
                reply, command = W.answer_command(data, {})
            except PacketError as exc:
                logger.info("%s: refused WitMotion command %s (%s)", self.config.local_name, data.hex(), exc)
                return None
            if command.rate_hz is not None:
                self._new_segment(float(command.rate_hz))
            return reply

        response, pmd = PL.answer_command(data, model=self.config.polar_model)
        if pmd is not None and PL.parse_response(response).ok:
            if pmd.op == PL.ControlOp.START:
                self._polar_measurements.add(int(pmd.measurement))
                factor = PL.parse_response(response).settings().get(PL.SettingType.FACTOR)
                if factor:
                    self._polar_factors[int(pmd.measurement)] = float(factor[0])
                rates = pmd.settings.get(PL.SettingType.SAMPLE_RATE)
                if rates:
                    self._new_segment(float(rates[0]))
                self._streaming_third_party = True
                if self._stream_start_w is None:
                    self._stream_start_w = self.clock.now()
            elif pmd.op == PL.ControlOp.STOP:
                self._polar_measurements.discard(int(pmd.measurement))
                self._streaming_third_party = bool(self._polar_measurements)
        return bytes(response)

    def _new_segment(self, rate_hz: float) -> None:
        now = self.clock.now()
        self._advance(now)
        self._seg_w, self._seg_first, self._seg_rate = now, self._produced, rate_hz
        self._tp_next = self._produced

    def _target(self, now_w: float) -> int:
        """How many samples the IMU has produced by world time ``now_w`` (its ``duration_s`` counted)."""
        if self.config.duration_s is not None and self._stream_start_w is not None:
            now_w = min(now_w, self._stream_start_w + self.config.duration_s)
        return self._seg_first + int((now_w - self._seg_w) * self._seg_rate)

    def _advance(self, now_w: float) -> int:
        """Produce the samples due by ``now_w`` (into the ring for protocol v1); returns how many."""
        target = self._target(now_w)
        n = target - self._produced
        if n <= 0:
            return 0
        if self.config.kind == "hipsense_v1":
            acc, gyr = self.source.window(self._seg_rate, self._produced, n)
            acc_lsb = P.ACC_RANGES[self.core.acc_code][1] * STANDARD_GRAVITY_MPS2
            records: np.ndarray[Any, Any]
            if self.core.gyr_code == P.GYR_OFF:
                records = _counts(acc, acc_lsb)
            else:
                gyr_lsb = math.radians(P.GYR_RANGES[self.core.gyr_code][1])
                records = np.concatenate([_counts(acc, acc_lsb), _counts(gyr, gyr_lsb)], axis=1)
            t_first_w = self._seg_w + (self._produced - self._seg_first) / self._seg_rate
            self.core.push(self.sensor_ticks(t_first_w), records.tobytes())  # type: ignore[no-untyped-call]
        self._produced = target
        return n

    async def _sampler(self) -> None:
        capacity_per_s = self.config.packets_per_event / self.config.connection_interval_s
        last = self.clock.now()
        tick_s = max(_TICK_S, _MIN_TICK_WALL_S * self.clock.speed)
        while await self._pause(tick_s):
            now = self.clock.now()
            self._advance(now)
            # what the radio could have carried since the last tick (unused capacity does not pile up)
            budget = (now - last) * capacity_per_s
            self._credit = min(self._credit + budget, budget + 1.0)
            last = now
            connection = self._connection
            if connection is None or not self._data_subscribed:
                continue
            if self.config.kind == "hipsense_v1":
                await self._send_v1(connection, now)
            elif self._streaming_third_party:
                await self._send_third_party(connection, now)

    async def _backpressure(self, connection: Connection) -> None:
        """Like a radio's transmit buffers: while the controller holds many packets, wait (the ring keeps the rest).

        Without this a CPU-bound virtual world would queue notifications without bound in the host.
        """
        queue = connection.data_packet_queue
        deadline = time.monotonic() + 2.0
        while queue is not None and queue.pending > _TX_BUFFERS and self._connection is connection:
            if self._stop.is_set() or time.monotonic() > deadline:
                return
            await asyncio.sleep(0)

    async def _send_v1(self, connection: Connection, now: float) -> None:
        mtu = int(connection.att_mtu)
        now_ticks = self.sensor_ticks(now)
        while self._injected and self._connection is connection:
            await self.device.notify_subscriber(connection, self.data_char, self._injected.pop(0))
        while self._credit >= 1.0 and self._connection is connection:
            packet = self.core.next_packet(mtu, now_ticks)  # type: ignore[no-untyped-call]
            if packet is None:
                return
            self._credit -= 1.0
            n = packet[2]
            if self.config.packet_loss and self._rng.random() < self.config.packet_loss:
                first = self.core.cursor - n
                self.stats.lost_packets.append((first, n))
                self.lost_payloads.append(bytes(packet))
                continue
            self.last_payload = bytes(packet)
            await self.device.notify_subscriber(connection, self.data_char, bytes(packet))
            self.stats.notifications += 1
            self.stats.samples_sent += n
            await self._backpressure(connection)

    def _sampling_over(self, now: float) -> bool:
        start = self._stream_start_w
        return self.config.duration_s is not None and start is not None and now >= start + self.config.duration_s

    async def _send_third_party(self, connection: Connection, now: float) -> None:
        mtu = int(connection.att_mtu)
        rate = self._seg_rate
        # WitMotion: as many 20-byte frames as fit; Polar: one frame per measurement per ~100 ms of samples
        per = max(1, (mtu - 3) // W.FRAME_LEN) if self.config.kind == "witmotion" else max(1, int(rate * 0.1))
        flush = self._sampling_over(now)
        while self._credit >= 1.0 and self._connection is connection:
            n = min(per, self._produced - self._tp_next)
            if n <= 0 or (n < per and not flush):
                return
            start = self._tp_next
            acc, gyr = self.source.window(rate, start, n)
            self._tp_next += n
            if self.config.kind == "witmotion":
                self._credit -= 1.0
                await self.device.notify_subscriber(connection, self.data_char, W.encode_samples(acc, gyr))
                self.stats.notifications += 1
            else:
                t_s = (start + np.arange(n)) / rate * (1.0 + self.config.clock_drift_ppm * 1e-6) + 1.0
                block = ImuBlock.from_arrays(self.config.local_name, t_s, acc, gyr, first_index=start)
                for m in sorted(self._polar_measurements):
                    frames = PL.encode_block(
                        block,
                        measurement=PL.MeasurementType(m),
                        compressed=self.config.polar_model != "h10",
                        factor=self._polar_factors.get(m),
                        max_payload=mtu - 3,
                    )
                    for frame in frames:
                        self._credit -= 1.0
                        await self.device.notify_subscriber(connection, self.data_char, bytes(frame))
                        self.stats.notifications += 1
            self.stats.samples_sent += n
            await self._backpressure(connection)


# ---------------------------------------------------------------------------------------------------------------
# an in-process world: LocalLink + N virtual sensors + the gateway's central
# ---------------------------------------------------------------------------------------------------------------
def sensor_address(i: int) -> str:
    """The address of the i-th virtual sensor (static random: top bits 11)."""
    return f"D0:00:00:00:{(i >> 8) & 0xFF:02X}:{i & 0xFF:02X}"


class VirtualWorld:
    """A Bumble ``LocalLink`` with N virtual sensors and the gateway's central, all in this process.

    ::

        async with VirtualWorld([VirtualSensorConfig(address=sensor_address(1))], speed=20) as world:
            async with BleakClient(world.sensors[0].config.address, backend=BumbleClient,
                                   bumble=world.central) as client:
                ...

    The sensors run as named tasks of the world's TaskGroup; leaving the context stops them.

    ``keys_dir``: keep the bonding keys of the gateway's central (``gateway-keys.json``) and of the sensors
    (``sensor-keys.json``) in that directory, so that a bond made in one process (``hipsense pair --virtual``)
    still holds in the next (``hipsense run --virtual``); ``None`` keeps them in memory.
    """

    def __init__(
        self,
        configs: Sequence[VirtualSensorConfig],
        *,
        speed: float = 1.0,
        source: SampleSource | None = None,
        keys_dir: Path | None = None,
    ) -> None:
        self.clock = WorldClock(speed)
        self.link = LocalLink()  # type: ignore[no-untyped-call]
        self.central = BumbleCentral.on_link(
            self.link, keys_path=None if keys_dir is None else keys_dir / "gateway-keys.json"
        )
        addresses = [c.address for c in configs]
        if len(set(addresses)) != len(addresses):
            raise ConfigError(f"virtual sensors need distinct addresses, got {addresses}", key="address")
        sensor_keys = None if keys_dir is None else keys_dir / "sensor-keys.json"
        self.sensors = [
            VirtualSensor.on_link(self.link, c, source=source, clock=self.clock, keys_path=sensor_keys) for c in configs
        ]
        self._stack = contextlib.AsyncExitStack()
        self._tasks: list[asyncio.Task[None]] = []

    @classmethod
    def of(cls, n: int, *, speed: float = 1.0, source: SampleSource | None = None, **config: Any) -> VirtualWorld:
        """``n`` protocol-v1 sensors with the same settings and addresses ``sensor_address(1..n)``."""
        seed = int(config.pop("seed", 0))
        configs = [VirtualSensorConfig(address=sensor_address(i), seed=seed + i, **config) for i in range(1, n + 1)]
        return cls(configs, speed=speed, source=source)

    async def __aenter__(self) -> VirtualWorld:
        await self._stack.__aenter__()
        try:
            tg = await self._stack.enter_async_context(asyncio.TaskGroup())
            await self.central.power_on()
            for s in self.sensors:
                self._tasks.append(tg.create_task(s.run(), name=f"virtual-sensor:{s.config.local_name}"))
            # let every sensor power on and start advertising
            for _ in range(200):
                if all(s.device.is_advertising for s in self.sensors):
                    break
                await asyncio.sleep(0.005)
        except BaseException:
            await self._aclose(None, None, None)
            raise
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._aclose(exc_type, exc, tb)

    async def _aclose(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.central.close()
        for s in self.sensors:
            s.stop()
        # The sensors stop by themselves; an exception of the caller's block is not the TaskGroup's to wrap.
        await self._stack.__aexit__(None, None, None)


async def run_virtual_sensor(
    config: VirtualSensorConfig,
    *,
    transport: str | None = None,
    source: SampleSource | None = None,
    duration_s: float | None = None,
) -> VirtualSensorStats:
    """Run one virtual sensor on a Bumble transport (a real radio) or alone on an in-process link."""
    close: Any = None
    if transport is not None:
        sensor, close = await VirtualSensor.on_transport(transport, config, source=source)
    else:
        sensor = VirtualSensor.on_link(LocalLink(), config, source=source)  # type: ignore[no-untyped-call]
    try:
        async with asyncio.TaskGroup() as tg:
            task = tg.create_task(sensor.run(), name=f"virtual-sensor:{config.local_name}")
            if duration_s is not None:
                await asyncio.sleep(duration_s)
                sensor.stop()
            del task
    finally:
        if close is not None:
            await close.close()
    return sensor.stats
