"""The sensor-type registry: discovery, lookup, scan classification."""

from __future__ import annotations

import typing

import pytest

from sensor.config import SensorType
from sensor.errors import ConfigError
from sensor.protocol import registry
from sensor.protocol.registry import normalize_uuid, uuid16


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
