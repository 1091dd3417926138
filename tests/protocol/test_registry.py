"""The sensor-type registry: discovery, lookup, scan classification."""

from __future__ import annotations

import sys
import types
import typing

import pytest

from sensor.config import SensorType
from sensor.errors import ConfigError
from sensor.protocol import registry
from sensor.protocol.registry import GattWrite, normalize_uuid, uuid16


def test_every_configurable_sensor_type_is_registered() -> None:
    assert set(registry.names()) == set(typing.get_args(SensorType))


def test_specs_are_well_formed() -> None:
    for spec in registry.all_specs():
        layout = {c.uuid for c in spec.characteristics}
        assert set(spec.subscribe_uuids) <= layout, spec.name
        for c in spec.characteristics:
            assert c.service_uuid in spec.service_uuids, (spec.name, c.uuid)
        for uuid in spec.subscribe_uuids:
            props = next(c.properties for c in spec.characteristics if c.uuid == uuid)
            assert props & {"notify", "indicate"}, (spec.name, uuid)


def test_unknown_type_names_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="witmotion") as info:
        registry.get("fitbit")
    assert info.value.key == "sensor_type"


def test_uuid_normalisation() -> None:
    assert uuid16(0x180D) == "0000180d-0000-1000-8000-00805f9b34fb"
    assert normalize_uuid("FFE5") == "0000ffe5-0000-1000-8000-00805f9b34fb"
    assert normalize_uuid("FB005C80-02E7-F387-1CAD-8ACD2D8DF0C8") == "fb005c80-02e7-f387-1cad-8acd2d8df0c8"
    with pytest.raises(ConfigError, match="not a UUID"):
        normalize_uuid("zz")


class _FakeV1Decoder:
    sensor_type = "hipsense_v1"

    def __init__(self, sensor_id: str) -> None:
        self.sensor_id = sensor_id

    def decode(self, frame: object) -> None:
        return None


def test_hipsense_v1_hook_adapts_to_the_codec_module(monkeypatch: pytest.MonkeyPatch) -> None:
    # a stand-in for sensor/protocol/hipsense_v1.py exposing the public names the hook reads
    fake = types.ModuleType("fake_hipsense_v1")
    fake.SERVICE_UUID = "6E400001-B5A3-F393-E0A9-E50E24DCCA9E"  # type: ignore[attr-defined]
    fake.DATA_UUID = "6e400002-b5a3-f393-e0a9-e50e24dcca9e"  # type: ignore[attr-defined]
    fake.CONTROL_UUID = "6e400003-b5a3-f393-e0a9-e50e24dcca9e"  # type: ignore[attr-defined]
    fake.STATUS_UUID = "6e400004-b5a3-f393-e0a9-e50e24dcca9e"  # type: ignore[attr-defined]
    fake.start_command = lambda: b"\x01"  # type: ignore[attr-defined]
    fake.stop_command = lambda: b"\x02"  # type: ignore[attr-defined]
    fake.HipSenseV1Decoder = _FakeV1Decoder  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "fake_hipsense_v1", fake)
    monkeypatch.setattr(registry, "_V1_MODULE", "fake_hipsense_v1")
    spec = registry._hipsense_v1_spec()
    assert spec.service_uuids == ("6e400001-b5a3-f393-e0a9-e50e24dcca9e",)
    # control first (its indications answer the start command), then data, then status
    assert spec.subscribe_uuids == (fake.CONTROL_UUID, fake.DATA_UUID, fake.STATUS_UUID)
    assert spec.start_writes() == (GattWrite(fake.CONTROL_UUID, b"\x01", with_response=True),)
    assert spec.stop_writes() == (GattWrite(fake.CONTROL_UUID, b"\x02", with_response=True),)
    decoder = spec.make_decoder("hs1")
    assert isinstance(decoder, _FakeV1Decoder)
    assert decoder.sensor_id == "hs1"
    with pytest.raises(ConfigError, match="does not accept the settings"):
        spec.make_decoder("hs1", sampling_rate_hz=52.0)
    assert spec.match_score(None, ["6E400001-B5A3-F393-E0A9-E50E24DCCA9E"], {}) == 4


def test_hipsense_v1_hook_without_the_codec(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "_V1_MODULE", "sensor.protocol._not_installed_v1")
    spec = registry._hipsense_v1_spec()
    assert spec.subscribe_uuids == ()
    with pytest.raises(ConfigError, match="merge the `proto` branch"):
        spec.make_decoder("hs1")


def test_discovery_finds_modules_defining_spec() -> None:
    registry.rediscover()
    assert {"polar", "witmotion"} <= set(registry.names())
    assert registry.get("polar") is __import__("sensor.protocol.polar", fromlist=["SPEC"]).SPEC
