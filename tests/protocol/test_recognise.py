"""Scan classification: which sensor type an advertisement is (service UUID, name pattern, company id)."""

from __future__ import annotations

import pytest

from sensor.protocol import polar, registry, witmotion


@pytest.mark.parametrize(
    ("name", "uuids", "mdata", "expected"),
    [
        # WitMotion: by name (the BWT901BLECL advertises "WT901BLE68"; WT9011DCL its model), by service UUID
        ("WT901BLE68", [], {}, "witmotion"),
        ("WT901BLE", [], {}, "witmotion"),
        ("WT9011DCL", [], {}, "witmotion"),
        (None, ["0000FFE5-0000-1000-8000-00805F9A34FB"], {}, "witmotion"),
        (None, ["ffe5"], {}, "witmotion"),
        # Polar: by name, by company id 0x006B alone, by the PMD service UUID
        ("Polar Sense B5A32F2C", [], {}, "polar"),
        ("Polar H10 8E0A6D2F", ["180d"], {}, "polar"),
        (None, [], {0x006B: b"\x33\x1e\x33"}, "polar"),
        ("", ["FB005C80-02E7-F387-1CAD-8ACD2D8DF0C8"], {}, "polar"),
        # stronger evidence wins: a Polar company id outweighs a WitMotion-looking name
        ("WT901BLE", [], {0x006B: b""}, "polar"),
    ],
)
def test_recognise_each_type(name: str | None, uuids: list[str], mdata: dict[int, bytes], expected: str) -> None:
    spec = registry.recognise(name, uuids, mdata)
    assert spec is not None
    assert spec.name == expected


@pytest.mark.parametrize(
    ("name", "uuids", "mdata"),
    [
        (None, [], {}),
        ("Mi Smart Band 6", ["fee0"], {0x0157: b"\x00"}),
        ("iPhone", [], {0x004C: b"\x10\x05"}),
        ("Polar", [], {}),  # a bare vendor word is not a sensor name
        ("Heart strap", ["180d", "not-a-uuid"], {}),  # heart-rate service alone is not Polar; junk UUIDs ignored
    ],
)
def test_unknown_devices_are_not_classified(name: str | None, uuids: list[str], mdata: dict[int, bytes]) -> None:
    assert registry.recognise(name, uuids, mdata) is None


def test_recognised_polar_suggests_model_settings() -> None:
    h10 = registry.recognise("Polar H10 8E0A6D2F")
    assert h10 is polar.SPEC
    assert h10.settings_for_name("Polar H10 8E0A6D2F") == {"model": "h10", "sampling_rate_hz": 200.0}
    sense = polar.SPEC.settings_for_name("Polar Sense B5A32F2C")
    decoder = polar.SPEC.make_decoder("s1", **sense)
    assert isinstance(decoder, polar.PolarDecoder)
    assert decoder.gyro is True


def test_specs_carry_what_the_link_needs() -> None:
    assert witmotion.SPEC.clock == "host"
    assert polar.SPEC.clock == "sensor"
    # Polar: subscribe to the control point first (start responses carry the factor), then data
    assert polar.SPEC.subscribe_uuids == (polar.PMD_CONTROL_UUID, polar.PMD_DATA_UUID)
    assert witmotion.SPEC.subscribe_uuids == (witmotion.NOTIFY_UUID,)
    assert registry.get("hipsense_v1").name == "hipsense_v1"
