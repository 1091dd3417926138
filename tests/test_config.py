from __future__ import annotations

import stat
from pathlib import Path

import pytest

from sensor.config import AppConfig, SensorEntry, default_config_path, load_config, save_config
from sensor.errors import ConfigError


def test_missing_file_gives_defaults() -> None:
    cfg = load_config()
    assert cfg.sensors == []


def test_round_trip_owner_only(tmp_path: Path) -> None:
    cfg = AppConfig(sensors=[SensorEntry(alias="hip", address="F0:F1:F2:F3:F4:F5")])
    p = save_config(cfg)
    assert p == default_config_path()
    assert stat.S_IMODE(p.stat().st_mode) == 0o600
    again = load_config()
    assert again.sensor("hip") is not None
    assert again.sensor("F0:F1:F2:F3:F4:F5") is not None


def test_bad_value_names_key_and_fix(tmp_path: Path) -> None:
    p = tmp_path / "c.toml"
    p.write_text('[[sensors]]\nalias = "hip"\naddress = "x"\nsensor_type = "fitbit"\n')
    with pytest.raises(ConfigError, match=r"sensors\.0\.sensor_type") as ei:
        load_config(p)
    assert ei.value.key == "sensors.0.sensor_type"


def test_invalid_toml(tmp_path: Path) -> None:
    p = tmp_path / "c.toml"
    p.write_text("sensors = [")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(p)
