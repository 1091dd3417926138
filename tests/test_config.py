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


# ---- hostile files (found by fuzz/: the `config` target) -----------------------------------------------------
@pytest.mark.parametrize("key", ["_env_file", "_secrets_dir", "_case_sensitive", "sensor"])
def test_unknown_top_level_keys_are_refused_by_name(tmp_path: Path, key: str) -> None:
    # `_env_file = 5` used to reach pydantic-settings' own init arguments: a TypeError, not a ConfigError
    p = tmp_path / "c.toml"
    p.write_text(f"{key} = 5\n")
    with pytest.raises(ConfigError, match=rf"unknown top-level key '{key}'.*sensors, data_dir") as ei:
        load_config(p)
    assert ei.value.key == key


def test_deeply_nested_toml_is_a_config_error(tmp_path: Path) -> None:
    p = tmp_path / "c.toml"
    p.write_text("a = " + "[" * 5000 + "]" * 5000)  # tomllib recurses: RecursionError before
    with pytest.raises(ConfigError, match="nests arrays or tables too deeply"):
        load_config(p)


def test_config_path_that_is_a_directory_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"cannot read config file .*HIPSENSE_CONFIG"):
        load_config(tmp_path)
