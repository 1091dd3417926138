"""The BLE sub-commands against the in-process virtual world (``--virtual N`` / ``HIPSENSE_BLE=virtual``)."""

from __future__ import annotations

import json

import pytest
from bleak.exc import BleakBluetoothNotAvailableError, BleakBluetoothNotAvailableReason

from sensor.ble.link import link_error_from
from sensor.cli import main
from sensor.config import load_config


def _json(capsys: pytest.CaptureFixture[str]) -> object:
    return json.loads(capsys.readouterr().out)


def test_scan_lists_the_virtual_sensors_with_their_types(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scan", "--virtual", "3", "--timeout", "0.3", "--json"]) == 0
    rows = _json(capsys)
    assert isinstance(rows, list)
    by_name = {r["name"]: r for r in rows}
    assert by_name["HipSense-0001"]["sensor_type"] == "hipsense_v1"
    assert by_name["HipSense-0001"]["battery_pct"] == 87
    assert by_name["WT901BLE02"]["sensor_type"] == "witmotion"
    assert by_name["Polar Sense 0003"]["sensor_type"] == "polar"
    assert all(r["rssi_dbm"] < 0 for r in rows)


def test_pair_sensors_stream_forget(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HIPSENSE_BLE", "virtual")
    assert main(["pair", "HipSense-0001", "--mounting", "belt_back", "--json"]) == 0
    entry = _json(capsys)
    assert isinstance(entry, dict)
    assert entry["alias"] == "hipsense-0001"
    assert entry["address"] == "D0:00:00:00:00:01"
    assert entry["bonded"] is True
    assert entry["model"] == "HipSense Virtual"
    assert main(["pair", "D0:00:00:00:00:02", "--alias", "wit"]) == 0
    capsys.readouterr()
    cfg = load_config()
    assert [(s.alias, s.sensor_type, s.mounting) for s in cfg.sensors] == [
        ("hipsense-0001", "hipsense_v1", "belt_back"),
        ("wit", "witmotion", "sacrum"),
    ]
    assert main(["sensors", "--json"]) == 0
    assert [s["alias"] for s in _json(capsys)] == ["hipsense-0001", "wit"]  # type: ignore[union-attr]
    assert main(["stream", "hipsense-0001", "--duration", "6", "--speed", "10", "--rate", "104", "--json"]) == 0
    (summary,) = _json(capsys)  # type: ignore[misc]
    assert summary["alias"] == "hipsense-0001"
    assert 104 * 3 < summary["samples"] <= 104 * 6 + 20  # SET_RATE took effect (the sensor defaults to 208 Hz)
    assert summary["missing"] == 0
    assert summary["battery_pct"] == 87
    assert summary["mtu"] == 247
    assert main(["forget", "wit"]) == 0
    assert [s.alias for s in load_config().sensors] == ["hipsense-0001"]


def test_errors_name_the_value_and_the_fix(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    assert main(["forget", "nobody"]) == 1
    assert "no paired sensor 'nobody'" in capsys.readouterr().err
    monkeypatch.setenv("HIPSENSE_BLE", "bogus")
    assert main(["scan", "--timeout", "0.1"]) == 2
    assert "HIPSENSE_BLE='bogus'" in capsys.readouterr().err
    monkeypatch.delenv("HIPSENSE_BLE")
    assert main(["stream", "--duration", "1"]) == 2
    assert "hipsense pair" in capsys.readouterr().err
    monkeypatch.setenv("HIPSENSE_BLE", "virtual:1")
    assert main(["stream", "--duration", "1", "--rate", "100"]) == 1
    assert "sampling_rate_hz=100" in capsys.readouterr().err
    assert main(["pair", "NoSuchSensor", "--virtual", "1", "--timeout", "0.3"]) == 1
    assert "NoSuchSensor" in capsys.readouterr().err


def test_no_adapter_gives_the_fix() -> None:
    err = link_error_from(
        BleakBluetoothNotAvailableError("Bluetooth is off", BleakBluetoothNotAvailableReason.POWERED_OFF)
    )
    assert err.reason == "no_adapter"
    assert "rfkill unblock bluetooth" in str(err)
    assert "systemctl start bluetooth" in str(err)
    assert link_error_from(FileNotFoundError(2, "No such file or directory")).reason == "no_adapter"
