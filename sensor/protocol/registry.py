"""The sensor-type registry: for each supported sensor type, how to find it, talk to it and decode it.

One :class:`SensorTypeSpec` per sensor type (``sensor.config.SensorType``: ``"hipsense_v1"``, ``"witmotion"``,
``"polar"``) says

* how to **recognise** it in a scan result (service UUIDs, name patterns, Bluetooth SIG company ids),
* its **GATT layout** (:class:`CharSpec`: enough for the link to subscribe and for the virtual sensor to
  impersonate it),
* which characteristics to **subscribe** to (in order) and the **GATT writes** that start and stop its stream
  (:class:`GattWrite`, built from keyword settings such as ``sampling_rate_hz``),
* how to build its sans-IO **decoder** (``make_decoder(sensor_id, **settings) -> StreamDecoder``), and
* whether its sample times come from the sensor's clock (``clock="sensor"``: the link maps them to host time)
  or from host receive time (``clock="host"``).

Discovery (a new sensor type is a single-folder change): every public module ``sensor/protocol/<name>.py``
that defines a module-level ``SPEC: SensorTypeSpec`` is registered, found with :func:`pkgutil.iter_modules`
and imported on first use of the registry (not at import time). Modules without ``SPEC`` (``base``, helpers)
are ignored. See ``docs/sensor-types.md``.

The link layer uses it like this (pseudo-code, the real code lives in ``sensor/ble``)::

    spec = registry.recognise(adv.local_name, adv.service_uuids, adv.manufacturer_data) or registry.get(t)
    settings = {**spec.settings_for_name(adv.local_name), "sampling_rate_hz": 52.0}
    decoder = spec.make_decoder(sensor_id, **settings)
    for uuid in spec.subscribe_uuids:          # every notification/indication -> RawFrame(channel=uuid)
        await client.start_notify(uuid, enqueue)
    for w in spec.start_writes(**settings):
        await client.write_gatt_char(w.char_uuid, w.data, response=w.with_response)

Everything here is pure: no Bleak import, no I/O.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import uuid as _uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Final, Literal

from sensor.errors import ConfigError
from sensor.protocol.base import StreamDecoder

BLUETOOTH_BASE_UUID_SUFFIX: Final = "-0000-1000-8000-00805f9b34fb"

CharProperty = Literal["read", "write", "write-without-response", "notify", "indicate"]
Clock = Literal["sensor", "host"]


def uuid16(short: int) -> str:
    """The 128-bit canonical form (lowercase, as Bleak reports it) of a 16-bit Bluetooth SIG UUID."""
    if not 0 <= short <= 0xFFFF:
        raise ConfigError(f"16-bit UUID {short!r} is out of range 0..0xFFFF; pass the short form, e.g. 0x180D")
    return f"0000{short:04x}{BLUETOOTH_BASE_UUID_SUFFIX}"


def normalize_uuid(value: str) -> str:
    """Lowercase canonical 128-bit form of a UUID given as 128-bit text (any case) or 16/32-bit hex."""
    text = value.strip().lower()
    if re.fullmatch(r"[0-9a-f]{4}", text):
        return uuid16(int(text, 16))
    if re.fullmatch(r"[0-9a-f]{8}", text):
        return f"{text}{BLUETOOTH_BASE_UUID_SUFFIX}"
    try:
        return str(_uuid.UUID(text))
    except ValueError as exc:
        raise ConfigError(
            f"{value!r} is not a UUID; give 128-bit text like 'fb005c80-02e7-f387-1cad-8acd2d8df0c8' or 16-bit "
            "hex like '180d'"
        ) from exc


@dataclass(frozen=True, slots=True)
class GattWrite:
    """One GATT write of a start/stop sequence: ``client.write_gatt_char(char_uuid, data, response=...)``."""

    char_uuid: str
    data: bytes
    with_response: bool


@dataclass(frozen=True, slots=True)
class CharSpec:
    """One characteristic of a sensor's GATT layout (Bleak property names)."""

    uuid: str
    service_uuid: str
    properties: frozenset[CharProperty]


def _no_writes(**_settings: Any) -> tuple[GattWrite, ...]:
    return ()


def _no_settings(_name: str | None) -> dict[str, Any]:
    return {}


@dataclass(frozen=True, slots=True)
class SensorTypeSpec:
    """Everything the link layer and the virtual sensor need to know about one sensor type.

    Attributes:
        name: the type's name (``SensorEntry.sensor_type`` in the config: one of :func:`names`).
        description: one line for ``hipsense scan`` and the docs.
        service_uuids: primary service UUID(s), lowercase canonical.
        characteristics: the GATT layout the link uses and the virtual sensor reproduces.
        subscribe_uuids: characteristics to subscribe to, in this order; every notification or indication is
            passed on as a ``RawFrame`` whose ``channel`` is the characteristic UUID.
        make_decoder: ``make_decoder(sensor_id, **settings) -> StreamDecoder``.
        start_writes: ``start_writes(**settings)``: writes after subscribing that start the stream.
        stop_writes: ``stop_writes(**settings)``: writes that stop it (before unsubscribing).
        name_patterns: regular expressions (``re.search``, case-sensitive) on the advertised local name.
        manufacturer_ids: Bluetooth SIG company ids seen in the advertisement's manufacturer data.
        settings_for_name: default settings suggested by the advertised name (e.g. a Polar H10 has no gyro).
        clock: ``"sensor"`` when decoded ``t_s`` is the sensor's clock (map it to host time), ``"host"`` when it
            is already host receive time.
    """

    name: str
    description: str
    service_uuids: tuple[str, ...]
    characteristics: tuple[CharSpec, ...]
    subscribe_uuids: tuple[str, ...]
    make_decoder: Callable[..., StreamDecoder]
    start_writes: Callable[..., tuple[GattWrite, ...]] = _no_writes
    stop_writes: Callable[..., tuple[GattWrite, ...]] = _no_writes
    name_patterns: tuple[str, ...] = ()
    manufacturer_ids: tuple[int, ...] = ()
    settings_for_name: Callable[[str | None], dict[str, Any]] = _no_settings
    clock: Clock = "sensor"
    _compiled: tuple[re.Pattern[str], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for u in (*self.service_uuids, *self.subscribe_uuids, *(c.uuid for c in self.characteristics)):
            if u != normalize_uuid(u):
                raise ConfigError(f"sensor type {self.name!r}: UUID {u!r} must be lowercase canonical 128-bit text")
        object.__setattr__(self, "_compiled", tuple(re.compile(p) for p in self.name_patterns))

    def match_score(
        self, name: str | None, service_uuids: Iterable[str], manufacturer_data: Mapping[int, bytes]
    ) -> int:
        """How strongly an advertisement looks like this type: service UUID 4, company id 2, name 1 (summed)."""
        score = 0
        advertised = set()
        for u in service_uuids:
            try:
                advertised.add(normalize_uuid(u))
            except ConfigError:
                continue  # a malformed advertisement is not evidence for any type
        if advertised.intersection(self.service_uuids):
            score += 4
        if set(manufacturer_data).intersection(self.manufacturer_ids):
            score += 2
        if name and any(p.search(name) for p in self._compiled):
            score += 1
        return score


_SKIP_MODULES: Final = frozenset({"base", "registry"})
_specs: dict[str, SensorTypeSpec] | None = None


def _discover() -> dict[str, SensorTypeSpec]:
    package: ModuleType = importlib.import_module("sensor.protocol")
    found: dict[str, SensorTypeSpec] = {}
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if info.name.startswith("_") or info.name in _SKIP_MODULES:
            continue
        module = importlib.import_module(f"sensor.protocol.{info.name}")
        spec = getattr(module, "SPEC", None)  # a module without SPEC is a helper, not a sensor type
        if spec is None:
            continue
        if not isinstance(spec, SensorTypeSpec):
            raise ConfigError(
                f"sensor/protocol/{info.name}.py: SPEC is a {type(spec).__name__}, not a SensorTypeSpec; fix the module"
            )
        if spec.name in found:
            raise ConfigError(f"sensor type {spec.name!r} is defined twice (second in sensor/protocol/{info.name}.py)")
        found[spec.name] = spec
    return found


def _registry() -> dict[str, SensorTypeSpec]:
    global _specs  # noqa: PLW0603  # discovery runs once, on first use, so importing this module stays cheap
    if _specs is None:
        _specs = _discover()
    return _specs


def rediscover() -> None:
    """Forget the discovered specs; the next registry call scans ``sensor/protocol/`` again."""
    global _specs  # noqa: PLW0603
    _specs = None


def all_specs() -> tuple[SensorTypeSpec, ...]:
    """Every registered sensor type, sorted by name."""
    reg = _registry()
    return tuple(reg[k] for k in sorted(reg))


def names() -> tuple[str, ...]:
    """The registered sensor-type names, sorted."""
    return tuple(sorted(_registry()))


def get(name: str) -> SensorTypeSpec:
    """The spec of one sensor type; :class:`~sensor.errors.ConfigError` naming the known types otherwise."""
    reg = _registry()
    try:
        return reg[name]
    except KeyError:
        raise ConfigError(
            f"unknown sensor type {name!r}; use one of {', '.join(sorted(reg))}", key="sensor_type"
        ) from None


def make_decoder(sensor_type: str, sensor_id: str, **settings: Any) -> StreamDecoder:
    """Shortcut for ``get(sensor_type).make_decoder(sensor_id, **settings)``."""
    return get(sensor_type).make_decoder(sensor_id, **settings)


def recognise(
    name: str | None,
    service_uuids: Iterable[str] = (),
    manufacturer_data: Mapping[int, bytes] | None = None,
) -> SensorTypeSpec | None:
    """The sensor type a scan result most likely is, or ``None`` for a device we do not know.

    Args:
        name: the advertised local name (``AdvertisementData.local_name``) or ``None``.
        service_uuids: advertised service UUIDs in any case, 16-bit short forms allowed.
        manufacturer_data: company id -> payload, as Bleak's ``AdvertisementData.manufacturer_data``.

    The evidence is scored per type (service UUID 4, manufacturer id 2, name pattern 1); the best positive
    score wins, ties go to the type name that sorts first.
    """
    uuids = tuple(service_uuids)
    mdata = manufacturer_data or {}
    best: SensorTypeSpec | None = None
    best_score = 0
    for spec in all_specs():
        score = spec.match_score(name, uuids, mdata)
        if score > best_score:
            best, best_score = spec, score
    return best
