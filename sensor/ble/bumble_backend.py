"""A Bleak backend on Google's Bumble stack: ``BleakScanner(backend=BumbleScanner)``, ``BleakClient(backend=...)``.

Bumble runs the whole host stack in Python, so the same two classes drive

* an in-process virtual radio (a shared :class:`bumble.link.LocalLink` with one virtual controller per device):
  this is how the tests and the demo talk to virtual sensors, through Bleak's public API;
* a real USB / UART Bluetooth controller through a Bumble transport string (``usb:0``, ``serial:/dev/ttyACM0``,
  ``tcp-client:host:port``), without BlueZ, CoreBluetooth or WinRT.

Both backend classes take one extra keyword argument, forwarded by Bleak: ``bumble=`` a :class:`BumbleCentral`
(the Bumble device in the central role, shared by every scanner and client of one radio) or a transport string
(opened once per process and shared, see :func:`central_for_transport`).

Quirks handled here (see also ``docs/ble.md``):

* Bumble keeps 128-bit UUIDs little-endian and prints them upper case; Bleak wants lowercase canonical strings.
* A Bumble device has at most one pending LE connection: connects are serialised per central, and scanning is
  paused while a connection is being set up.
* The handle Bleak shows for a characteristic is Bumble's value handle (the declaration handle is one lower).
* ATT error responses become :class:`bleak.exc.BleakGATTProtocolError` with the ATT error code.

Bonding keys: a central built with ``keys_path`` keeps them in :class:`PrivateJsonKeyStore` (Bumble's JSON key
store, written owner-only), so a bond made by ``hipsense pair`` survives into a later ``hipsense run``; without it
they live in Bumble's in-memory store. A connection to a peer with stored keys is encrypted with them right
after it is set up (as BlueZ or CoreBluetooth do for a bonded device), before any GATT traffic.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import stat
import time
import uuid as uuidlib
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

from bleak.args import SizedBuffer
from bleak.assigned_numbers import CharacteristicPropertyName
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, AdvertisementDataCallback, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakDeviceNotFoundError, BleakError, BleakGATTProtocolError
from bumble import att, core, hci
from bumble.controller import Controller
from bumble.core import AdvertisingData
from bumble.device import Advertisement, Connection, Device, Peer
from bumble.gatt import GATT_CLIENT_CHARACTERISTIC_CONFIGURATION_DESCRIPTOR, Characteristic
from bumble.gatt_client import CharacteristicProxy, DescriptorProxy
from bumble.host import Host
from bumble.keys import JsonKeyStore
from bumble.link import LocalLink
from bumble.pairing import PairingConfig, PairingDelegate
from bumble.transport import open_transport
from bumble.transport.common import AsyncPipeSink

__all__ = [
    "BumbleCentral",
    "BumbleClient",
    "BumbleDeviceDetails",
    "BumbleScanner",
    "PrivateJsonKeyStore",
    "bleak_uuid",
    "central_for_transport",
    "close_transport_centrals",
    "configure_virtual_controller",
    "forget_bonds",
    "just_works_pairing",
    "release_stale_acl_credits",
]

logger = logging.getLogger(__name__)

# Bumble's DEBUG records carry key material: HCI packet dumps (``long_term_key``), the virtual controller's LL PDUs
# (``ltk=b'...'``), SMP's "DH key: ..." and passkeys. The value after any of these names is masked.
_KEY_VALUE = re.compile(
    r"(?i)(long_term_key|\bltk|\birk|identity_resolving_key|signature_key|csrk|link_key|dh ?key|dhkey_check|"
    r"\btk\b[^:\n]*|passkey|pin code|user input|random_number|confirm_value|random_value)"
    r"((?:[\s:=]|\x1b\[[0-9;]*m)+)"
    r"(b'(?:[^'\\]|\\.)*'|b\"(?:[^\"\\]|\\.)*\"|[0-9a-fA-F]{4,}|\d+)"
)
_KEY_LOGGERS = ("bumble.host", "bumble.controller", "bumble.smp", "bumble.hci", "bumble.device", "bumble.l2cap")


class KeyRedactingFilter(logging.Filter):
    """Masks Bumble's key material in a log record (the message is formatted here, then kept without args)."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        masked = _KEY_VALUE.sub(r"\1\2<redacted>", text)
        if masked != text:
            record.msg, record.args = masked, None
        return True


_redactor = KeyRedactingFilter()
for _name in _KEY_LOGGERS:
    logging.getLogger(_name).addFilter(_redactor)

_MTU_MAX = 247  # the largest ATT MTU that fits one LE data-length-extended PDU (251 - 4 byte L2CAP header)

_PROPERTY_NAMES: tuple[tuple[Characteristic.Properties, CharacteristicPropertyName], ...] = (
    (Characteristic.Properties.BROADCAST, "broadcast"),
    (Characteristic.Properties.READ, "read"),
    (Characteristic.Properties.WRITE_WITHOUT_RESPONSE, "write-without-response"),
    (Characteristic.Properties.WRITE, "write"),
    (Characteristic.Properties.NOTIFY, "notify"),
    (Characteristic.Properties.INDICATE, "indicate"),
    (Characteristic.Properties.AUTHENTICATED_SIGNED_WRITES, "authenticated-signed-writes"),
    (Characteristic.Properties.EXTENDED_PROPERTIES, "extended-properties"),
)

_UUID_LIST_TYPES = (
    AdvertisingData.Type.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.Type.INCOMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.Type.COMPLETE_LIST_OF_32_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.Type.INCOMPLETE_LIST_OF_32_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.Type.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
    AdvertisingData.Type.INCOMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
)
_SERVICE_DATA_TYPES = (
    AdvertisingData.Type.SERVICE_DATA_16_BIT_UUID,
    AdvertisingData.Type.SERVICE_DATA_32_BIT_UUID,
    AdvertisingData.Type.SERVICE_DATA_128_BIT_UUID,
)


def bleak_uuid(u: core.UUID) -> str:
    """A Bumble UUID as Bleak's lowercase canonical 128-bit string.

    Bumble stores UUIDs little-endian (16-, 32- or 128-bit); Bleak compares full lowercase strings.
    """
    return str(uuidlib.UUID(bytes=bytes(reversed(u.to_bytes(force_128=True)))))


def _address_text(address: hci.Address) -> str:
    return str(address.to_string(with_type_qualifier=False))


def configure_virtual_controller(controller: Controller) -> None:
    """Give a virtual controller the LE Data Length Extension of today's radios (251-byte ACL packets).

    Bumble's default of 27 bytes splits every 247-byte notification into ten ACL fragments, which costs ten
    times the CPU per notification in the virtual world.
    """
    controller.le_acl_data_packet_length = 251


def release_stale_acl_credits(device: Device) -> int:
    """Forget ACL packets the host still counts as in flight on links that no longer exist; returns how many.

    Bumble's virtual controller silently drops ACL data sent on a link that just went down (a real controller
    reports such packets completed or flushes them). The host then keeps counting them as in flight, and after
    enough link drops its flow control stalls every connection. Call this when no data can be in flight on
    a dead handle any more (before connecting, before advertising again).
    """
    host = device.host
    released = 0
    live = set(device.connections)
    for queue in (getattr(host, "le_acl_packet_queue", None), getattr(host, "acl_packet_queue", None)):
        if queue is None:
            continue
        for handle in [h for h in getattr(queue, "_connection_state", {}) if h not in live]:
            released += queue._connection_state[handle].in_flight
            queue.flush(handle)
    return released


class PrivateJsonKeyStore(JsonKeyStore):
    """Bumble's JSON key store (one file, one namespace per local device address), owner-only: the directory is
    created 0700 and the file written 0600 (atomically), since its LTKs let anyone holding them impersonate this
    host to the sensor (and read its traffic). A file found readable by others is tightened with a warning."""

    def __init__(self, path: Path, namespace: str) -> None:
        super().__init__(namespace=namespace, filename=str(path))
        self._checked = False

    async def load(self) -> tuple[dict[str, dict[str, dict[str, Any]]], dict[str, dict[str, Any]]]:
        if not self._checked:
            self._checked = True
            _tighten(Path(self.filename))
        return await super().load()

    async def save(self, db: dict[str, dict[str, dict[str, Any]]]) -> None:
        _write_private_json(Path(self.filename), db)


def _write_private_json(path: Path, doc: object) -> None:
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # also when a stale temporary file had other bits
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, sort_keys=True, indent=2)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _tighten(path: Path) -> None:
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return
    if os.name == "posix" and mode & 0o077:
        logger.warning("BLE bonding keys file %s was readable by other users (mode %s): made it 0600", path, oct(mode))
        path.chmod(0o600)


def forget_bonds(path: Path, address: str) -> int:
    """Delete the bonding keys of ``address`` (any address type, every local namespace) from a key store file;
    returns how many entries went. A missing file holds none."""
    try:
        db = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return 0
    wanted = address.upper().removesuffix("/P")
    removed = 0
    for key_map in db.values():
        for peer in [k for k in key_map if k.upper().removesuffix("/P") == wanted]:
            del key_map[peer]
            removed += 1
    if removed:
        _write_private_json(path, db)
    return removed


def just_works_pairing() -> PairingConfig:
    """LE Secure Connections with bonding, Just Works (a sensor has neither display nor keyboard), and the static
    random address we connect and advertise with as the identity address: with Bumble's default (the controller's
    public address, when it has one) the keys would be stored under an address the peer never uses, and the
    bond would not be found on the next connection."""
    return PairingConfig(
        sc=True,
        mitm=False,
        bonding=True,
        delegate=PairingDelegate(io_capability=PairingDelegate.IoCapability.NO_OUTPUT_NO_INPUT),
        identity_address_type=PairingConfig.AddressType.RANDOM,
    )


def _gatt_error(exc: att.ATT_Error) -> BleakGATTProtocolError:
    return BleakGATTProtocolError(int(exc.error_code))


@contextlib.contextmanager
def _gatt_errors(what: str, address: str) -> Iterator[None]:
    """Map Bumble's errors of one GATT operation to Bleak's.

    Bumble cancels the pending request's future when the link drops, so the caller sees a CancelledError although
    nobody cancelled its task: that becomes a BleakError (a real cancellation still propagates).
    """
    try:
        yield
    except att.ATT_Error as exc:
        raise _gatt_error(exc) from exc
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise
        raise BleakError(f"{what}: the link to {address} dropped") from None
    except core.TimeoutError as exc:
        raise TimeoutError(f"{what} on {address} timed out") from exc


@dataclass(frozen=True, slots=True)
class BumbleDeviceDetails:
    """What the scanner learned about a device: its address with the address type Bumble needs to connect."""

    address: hci.Address


# ---------------------------------------------------------------------------------------------------------------
# the central-role Bumble device, shared by scanners and clients
# ---------------------------------------------------------------------------------------------------------------
class BumbleCentral:
    """One Bumble :class:`~bumble.device.Device` in the central role, shared by scanners and clients.

    It fans advertisements out to every running :class:`BumbleScanner`, remembers the address type of every
    advertiser it saw (Bumble needs it to connect), serialises LE connection set-up (one pending connection per
    controller) and pauses scanning meanwhile.

    Build one with :meth:`on_link` (in-process virtual radio) or :func:`central_for_transport` (a real
    controller), or wrap a device of your own (not powered on yet when ``keys_path`` is given).

    ``keys_path``: keep bonding keys in this JSON file (:class:`PrivateJsonKeyStore`, namespaced by the central's
    address) instead of in memory.
    """

    def __init__(
        self,
        device: Device,
        *,
        transport: Any | None = None,
        controller: Controller | None = None,
        label: str = "bumble",
        keys_path: Path | None = None,
    ) -> None:
        self.device = device
        self.keys_path = keys_path
        if keys_path is not None:
            # the namespace is the address we connect from (the static random one given to the Device)
            device.keystore = PrivateJsonKeyStore(keys_path, namespace=str(device.static_address))
        self._controller = controller
        self.label = label
        self._transport = transport
        self._powered = False
        self._power_lock = asyncio.Lock()
        self._connect_lock = asyncio.Lock()
        self._scan_lock = asyncio.Lock()
        self._scanners: set[BumbleScanner] = set()
        self._scan_paused = 0
        self.known_addresses: dict[str, hci.Address] = {}
        self._last_seen: dict[str, float] = {}
        device.on(Device.EVENT_ADVERTISEMENT, self._on_advertisement)
        device.pairing_config_factory = lambda _conn: just_works_pairing()

    @classmethod
    def on_link(
        cls,
        link: LocalLink,
        address: str = "C0:FF:EE:00:00:01",
        *,
        name: str = "hipsense-gw",
        keys_path: Path | None = None,
    ) -> BumbleCentral:
        """A central with its own virtual controller on an in-process :class:`LocalLink`."""
        controller = Controller(f"{name}-ctrl", link=link, public_address=address)
        configure_virtual_controller(controller)
        device = Device(name=name, address=hci.Address(address), host=Host(controller, AsyncPipeSink(controller)))
        return cls(device, controller=controller, label=f"virtual:{address}", keys_path=keys_path)

    async def power_on(self) -> None:
        async with self._power_lock:
            if not self._powered:
                await self.device.power_on()
                self._powered = True

    async def close(self) -> None:
        """Stop scanning, drop connections, power off and close the transport (if this central owns one)."""
        with contextlib.suppress(Exception):
            if self.device.is_scanning:
                await self.device.stop_scanning()
        for conn in list(self.device.connections.values()):
            with contextlib.suppress(Exception):
                await conn.disconnect()
        if self._powered:
            with contextlib.suppress(Exception):
                await self.device.power_off()
            self._powered = False
        if self._transport is not None:
            await self._transport.close()
            self._transport = None

    # scanning ------------------------------------------------------------------------------------------------
    async def add_scanner(self, scanner: BumbleScanner) -> None:
        await self.power_on()
        async with self._scan_lock:
            self._scanners.add(scanner)
            await self._apply_scan_state()

    async def remove_scanner(self, scanner: BumbleScanner) -> None:
        async with self._scan_lock:
            self._scanners.discard(scanner)
            await self._apply_scan_state()

    async def _apply_scan_state(self) -> None:
        want = bool(self._scanners) and self._scan_paused == 0
        if want and not self.device.is_scanning:
            active = any(s.active for s in self._scanners)
            await self.device.start_scanning(active=active, filter_duplicates=False)
        elif not want and self.device.is_scanning:
            await self.device.stop_scanning()

    def _on_advertisement(self, adv: Advertisement) -> None:
        key = _address_text(adv.address)
        self.known_addresses[key] = adv.address
        self._last_seen[key] = time.monotonic()
        for scanner in list(self._scanners):
            scanner.on_advertisement(adv)

    # connecting ----------------------------------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def connecting(self) -> AsyncIterator[None]:
        """Hold the one LE connection slot of this controller, with scanning paused."""
        async with self._connect_lock:
            release_stale_acl_credits(self.device)
            async with self._scan_lock:
                self._scan_paused += 1
                await self._apply_scan_state()
            try:
                yield
            finally:
                async with self._scan_lock:
                    self._scan_paused -= 1
                    if self._powered:
                        await self._apply_scan_state()

    async def find_advertiser(self, address: str | hci.Address, timeout_s: float) -> hci.Address:
        """The typed address of a device that is advertising now (seen in the last 0.3 s, or scanned for).

        Connecting only to a device that advertises keeps a connect attempt short; Bumble's virtual controller
        also cannot cancel a pending connection (it ignores LE Create Connection Cancel).
        """
        key = _address_text(address) if isinstance(address, hci.Address) else address.upper().removesuffix("/P")
        seen = self._last_seen.get(key)
        if seen is not None and time.monotonic() - seen < 0.3:
            return self.known_addresses[key]
        found: asyncio.Future[hci.Address] = asyncio.get_running_loop().create_future()

        def on_adv(adv: Advertisement) -> None:
            if _address_text(adv.address) == key and not found.done():
                found.set_result(adv.address)

        self.device.on(Device.EVENT_ADVERTISEMENT, on_adv)
        started = False
        try:
            if not self.device.is_scanning:
                await self.device.start_scanning(active=False, filter_duplicates=False)
                started = True
            async with asyncio.timeout(timeout_s):
                return await found
        except TimeoutError:
            raise BleakDeviceNotFoundError(
                key, f"device {key} is not advertising (not seen by {self.label} within {timeout_s:g} s)"
            ) from None
        finally:
            self.device.remove_listener(Device.EVENT_ADVERTISEMENT, on_adv)
            if started and self.device.is_scanning:
                await self.device.stop_scanning()

    async def connect(self, address: hci.Address, timeout_s: float) -> Connection:
        """Create an LE connection (call inside :meth:`connecting`)."""
        try:
            async with asyncio.timeout(timeout_s + 0.25):
                return await self.device.connect(address, timeout=timeout_s)
        except (TimeoutError, core.TimeoutError) as exc:
            if self._controller is not None:
                # The virtual controller ignores LE Create Connection Cancel: clear its pending connection so
                # the next attempt is not refused with "command disallowed".
                self._controller.pending_le_connection = None
            raise TimeoutError(f"connecting to {address} timed out after {timeout_s:g} s") from exc


_transport_centrals: dict[str, BumbleCentral] = {}
_transport_lock = asyncio.Lock()


async def central_for_transport(spec: str, keys_path: Path | None = None) -> BumbleCentral:
    """The process-wide central on a Bumble transport (``usb:0``, ``serial:/dev/ttyACM0``, ``tcp-client:h:p``).

    Opened on first use and shared: a USB controller can be opened only once. ``keys_path`` (used when it is
    opened) keeps the bonding keys in that file.
    """
    async with _transport_lock:
        central = _transport_centrals.get(spec)
        if central is not None:
            return central
        try:
            transport = await open_transport(spec)
        except Exception as exc:
            raise BleakError(
                f"cannot open Bumble transport {spec!r}: {exc}; check that the dongle is plugged in, that you may "
                "access it (udev rule or group for USB, dialout for serial) and that no other program "
                "(bluetoothd) holds it"
            ) from exc
        device = Device.with_hci("hipsense-gw", hci.Address("F0:F1:F2:F3:F4:F5"), transport.source, transport.sink)
        central = BumbleCentral(device, transport=transport, label=spec, keys_path=keys_path)
        try:
            await central.power_on()
        except Exception:
            await transport.close()
            raise
        _transport_centrals[spec] = central
        return central


async def close_transport_centrals() -> None:
    """Close every central opened by :func:`central_for_transport`."""
    async with _transport_lock:
        for central in _transport_centrals.values():
            await central.close()
        _transport_centrals.clear()


async def _resolve_central(bumble: BumbleCentral | str | None, keys_path: Path | None = None) -> BumbleCentral:
    if isinstance(bumble, BumbleCentral):
        await bumble.power_on()
        return bumble
    if isinstance(bumble, str):
        return await central_for_transport(bumble, keys_path)
    raise BleakError(
        "the Bumble backend needs bumble=<BumbleCentral> or bumble='usb:0' (a Bumble transport string); "
        "pass it as a keyword argument to BleakScanner/BleakClient"
    )


# ---------------------------------------------------------------------------------------------------------------
# scanner
# ---------------------------------------------------------------------------------------------------------------
class BumbleScanner(BaseBleakScanner):
    """Bleak scanner backend on a :class:`BumbleCentral` (``BleakScanner(backend=BumbleScanner, bumble=...)``)."""

    def __init__(
        self,
        detection_callback: AdvertisementDataCallback | None,
        service_uuids: list[str] | None,
        scanning_mode: Literal["active", "passive"] = "active",
        *,
        bumble: BumbleCentral | str | None = None,
        bumble_keys: Path | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(detection_callback, service_uuids)
        self.active = scanning_mode == "active"
        self._bumble = bumble
        self._keys_path = bumble_keys
        self._central: BumbleCentral | None = None

    async def start(self) -> None:
        self.seen_devices = {}
        self._central = await _resolve_central(self._bumble, self._keys_path)
        await self._central.add_scanner(self)

    async def stop(self) -> None:
        if self._central is not None:
            await self._central.remove_scanner(self)
            self._central = None

    def on_advertisement(self, adv: Advertisement) -> None:
        """Called by the central for every advertising report."""
        data = adv.data
        uuids: list[str] = []
        for t in _UUID_LIST_TYPES:
            for lst in data.get_all(t):
                uuids.extend(bleak_uuid(u) for u in cast(list[core.UUID], lst))
        uuids = list(dict.fromkeys(uuids))
        if not self.is_allowed_uuid(uuids):
            return
        names = data.get_all(AdvertisingData.Type.COMPLETE_LOCAL_NAME) or data.get_all(
            AdvertisingData.Type.SHORTENED_LOCAL_NAME
        )
        local_name = str(names[0]) if names else None
        manufacturer: dict[int, bytes] = {}
        for company, payload in data.get_all(AdvertisingData.Type.MANUFACTURER_SPECIFIC_DATA):
            manufacturer[int(company)] = bytes(payload)
        service_data: dict[str, bytes] = {}
        for t in _SERVICE_DATA_TYPES:
            for item in data.get_all(t):
                su, payload = cast(tuple[core.UUID, bytes], item)
                service_data[bleak_uuid(su)] = bytes(payload)
        tx_powers = data.get_all(AdvertisingData.Type.TX_POWER_LEVEL)
        tx_power = int(tx_powers[0]) if tx_powers else None
        key = _address_text(adv.address)
        previous = self.seen_devices.get(key)
        if previous is not None:
            # A scan response lacks what the advertisement had (and vice versa): keep the union.
            old = previous[1]
            local_name = local_name or old.local_name
            manufacturer = {**old.manufacturer_data, **manufacturer}
            service_data = {**old.service_data, **service_data}
            uuids = list(dict.fromkeys([*old.service_uuids, *uuids]))
            tx_power = tx_power if tx_power is not None else old.tx_power
        ad = AdvertisementData(
            local_name=local_name,
            manufacturer_data=manufacturer,
            service_data=service_data,
            service_uuids=uuids,
            tx_power=tx_power,
            rssi=int(adv.rssi),
            platform_data=(adv,),
        )
        device = self.create_or_update_device(key, key, local_name, BumbleDeviceDetails(adv.address), ad)
        self.call_detection_callbacks(device, ad)


# ---------------------------------------------------------------------------------------------------------------
# client
# ---------------------------------------------------------------------------------------------------------------
class BumbleClient(BaseBleakClient):
    """Bleak client backend on a :class:`BumbleCentral` (``BleakClient(dev, backend=BumbleClient, bumble=...)``).

    Extra keyword arguments: ``bumble`` (required), ``mtu`` (the ATT MTU to ask for, default 247),
    ``bumble_keys`` (the bonding key file of a transport central, see :func:`central_for_transport`).
    """

    def __init__(
        self,
        address_or_ble_device: BLEDevice | str,
        *,
        disconnected_callback: Callable[[], None] | None = None,
        timeout: float = 10.0,
        bumble: BumbleCentral | str | None = None,
        mtu: int = _MTU_MAX,
        bumble_keys: Path | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(address_or_ble_device, disconnected_callback=disconnected_callback, timeout=timeout)
        self._bumble = bumble
        self._keys_path = bumble_keys
        self._mtu_request = mtu
        self._device_name: str | None = None
        self._typed_address: hci.Address | None = None
        if isinstance(address_or_ble_device, BLEDevice):
            self._device_name = address_or_ble_device.name
            if isinstance(address_or_ble_device.details, BumbleDeviceDetails):
                self._typed_address = address_or_ble_device.details.address
        self._central: BumbleCentral | None = None
        self._connection: Connection | None = None
        self._peer: Peer | None = None
        self._chars: dict[int, CharacteristicProxy[bytes]] = {}
        self._descs: dict[int, DescriptorProxy] = {}
        self._subscribers: dict[int, Callable[[bytes], None]] = {}
        self._disconnecting = False

    # properties --------------------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self._device_name or self.address

    @property
    def mtu_size(self) -> int:
        return int(self._connection.att_mtu) if self._connection is not None else att.ATT_DEFAULT_MTU

    @property
    def is_connected(self) -> bool:
        return self._connection is not None

    # connection --------------------------------------------------------------------------------------------
    async def connect(self, pair: bool, **kwargs: Any) -> None:
        if self._connection is not None:
            return
        central = await _resolve_central(self._bumble, self._keys_path)
        self._central = central
        timeout_s = float(kwargs.get("timeout", self._timeout))
        async with central.connecting():
            address = await central.find_advertiser(self._typed_address or self.address, timeout_s)
            try:
                connection = await central.connect(address, timeout_s)
            except core.ConnectionError as exc:
                raise BleakError(f"connecting to {self.address} failed: {exc}") from exc
        self._connection = connection
        self._disconnecting = False
        connection.on(Connection.EVENT_DISCONNECTION, self._on_disconnection)
        try:
            async with asyncio.timeout(timeout_s):
                await self._encrypt_if_bonded(central, connection)
            with _gatt_errors("service discovery", self.address):
                async with asyncio.timeout(timeout_s):
                    peer = Peer(connection)
                    self._peer = peer
                    if self._mtu_request > att.ATT_DEFAULT_MTU:
                        await peer.request_mtu(min(self._mtu_request, _MTU_MAX))
                    await self._discover(peer)
            if pair:
                await self.pair()
        except BaseException:
            await self.disconnect()
            raise

    async def _encrypt_if_bonded(self, central: BumbleCentral, connection: Connection) -> None:
        """Encrypt the link with the stored LTK when this peer is bonded (a sensor that lost the bond refuses)."""
        keystore = central.device.keystore
        if keystore is None or await keystore.get(str(connection.peer_address)) is None:
            return
        try:
            await connection.encrypt()
        except (hci.HCI_Error, core.BaseBumbleError) as exc:
            raise BleakError(
                f"{self.address} refused our stored bonding keys ({exc}): it was reset or bonded with another host; "
                f"run `hipsense forget ALIAS` then `hipsense pair {self.address}` again"
            ) from exc
        logger.debug("%s: link encrypted with the stored bond", self.address)

    async def _discover(self, peer: Peer) -> None:
        services = BleakGATTServiceCollection()
        self._chars.clear()
        self._descs.clear()
        for svc in await peer.discover_services():
            bservice = BleakGATTService(svc, int(svc.handle), bleak_uuid(svc.uuid))
            services.add_service(bservice)
            for ch in await svc.discover_characteristics():
                props = [name for flag, name in _PROPERTY_NAMES if ch.properties & flag]
                bchar = BleakGATTCharacteristic(
                    ch, int(ch.handle), bleak_uuid(ch.uuid), props, self._max_write_without_response, bservice
                )
                services.add_characteristic(bchar)
                self._chars[int(ch.handle)] = ch
                for d in await ch.discover_descriptors():
                    self._descs[int(d.handle)] = d
                    services.add_descriptor(BleakGATTDescriptor(d, int(d.handle), bleak_uuid(d.type), bchar))
        self.services = services

    def _max_write_without_response(self) -> int:
        return self.mtu_size - 3

    def _on_disconnection(self, reason: int) -> None:
        solicited = self._disconnecting
        logger.debug("%s: disconnected (reason 0x%02X, %s)", self.address, reason, "ours" if solicited else "remote")
        self._connection = None
        self._peer = None
        self._subscribers.clear()
        if self._disconnected_callback is not None:
            self._disconnected_callback()

    async def disconnect(self) -> None:
        connection = self._connection
        if connection is None:
            return
        self._disconnecting = True
        with contextlib.suppress(core.BaseBumbleError, hci.HCI_Error, asyncio.CancelledError):
            await connection.disconnect()
        # The virtual link confirms the disconnection on a later loop iteration.
        for _ in range(50):
            if self._connection is None:
                break
            await asyncio.sleep(0)
        self._connection = None
        self._peer = None

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        """LE Secure Connections pairing with bonding (Just Works); keys go to the central's key store."""
        connection = self._require_connection()
        try:
            with _gatt_errors("pairing", self.address):
                await connection.pair()
        except core.ProtocolError as exc:
            raise BleakError(f"pairing with {self.address} failed: {exc}; the sensor may not support pairing") from exc

    async def unpair(self) -> None:
        central = self._central or await _resolve_central(self._bumble, self._keys_path)
        keystore = central.device.keystore
        if keystore is not None:
            with contextlib.suppress(KeyError):
                await keystore.delete(self._typed_address_text())

    def _typed_address_text(self) -> str:
        if self._connection is not None:
            return str(self._connection.peer_address)
        return str(self._typed_address) if self._typed_address is not None else self.address

    def _require_connection(self) -> Connection:
        if self._connection is None:
            raise BleakError(f"not connected to {self.address}; call connect() first")
        return self._connection

    def _require_peer(self) -> Peer:
        self._require_connection()
        assert self._peer is not None
        return self._peer

    # I/O ------------------------------------------------------------------------------------------------------
    async def read_gatt_char(
        self, characteristic: BleakGATTCharacteristic, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        peer = self._require_peer()
        with _gatt_errors("read", self.address):
            return bytearray(await peer.read_value(characteristic.handle))

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        peer = self._require_peer()
        with _gatt_errors("read", self.address):
            return bytearray(await peer.read_value(descriptor.handle))

    async def write_gatt_char(self, characteristic: BleakGATTCharacteristic, data: SizedBuffer, response: bool) -> None:
        peer = self._require_peer()
        with _gatt_errors("write", self.address):
            await peer.write_value(characteristic.handle, bytes(data), with_response=response)

    async def write_gatt_descriptor(self, descriptor: BleakGATTDescriptor, data: SizedBuffer) -> None:
        peer = self._require_peer()
        with _gatt_errors("write", self.address):
            await peer.write_value(descriptor.handle, bytes(data), with_response=True)

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any
    ) -> None:
        self._require_peer()
        proxy = self._chars.get(characteristic.handle)
        if proxy is None:
            raise BleakError(f"characteristic handle {characteristic.handle} is not on {self.address}")
        cccd = proxy.get_descriptor(GATT_CLIENT_CHARACTERISTIC_CONFIGURATION_DESCRIPTOR)
        if cccd is None:
            raise BleakError(f"characteristic {characteristic.uuid} has no CCCD: it cannot notify or indicate")

        def on_value(value: bytes) -> None:
            callback(bytearray(value))

        with _gatt_errors("start_notify", self.address):
            await proxy.subscribe(on_value, prefer_notify=True)
        self._subscribers[characteristic.handle] = on_value

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        self._require_peer()
        proxy = self._chars.get(characteristic.handle)
        subscriber = self._subscribers.pop(characteristic.handle, None)
        if proxy is None:
            raise BleakError(f"characteristic handle {characteristic.handle} is not on {self.address}")
        with _gatt_errors("stop_notify", self.address):
            await proxy.unsubscribe(subscriber)
