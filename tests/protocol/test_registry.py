"""The sensor-type registry: discovery, lookup, scan classification."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from sensor.config import SensorEntry
from sensor.errors import ConfigError
from sensor.protocol import registry
from sensor.protocol.registry import normalize_uuid, uuid16


def test_the_config_accepts_exactly_the_registered_types() -> None:
    for name in registry.names():
        assert SensorEntry(alias="s", address="x", sensor_type=name).sensor_type == name
    with pytest.raises(ValidationError, match="unknown sensor type 'fitbit'; use one of"):
        SensorEntry(alias="s", address="x", sensor_type="fitbit")


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


def test_discovery_finds_modules_defining_spec() -> None:
    registry.rediscover()
    assert {"polar", "witmotion"} <= set(registry.names())
    assert registry.get("polar") is __import__("sensor.protocol.polar", fromlist=["SPEC"]).SPEC
