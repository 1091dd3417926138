"""Secrets at rest: owner-only config, passwords from the environment or a file, warnings that name the fix."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest

from sensor.config import AppConfig, BrokerConfig, load_config, save_config
from sensor.errors import BrokerError
from sensor.publish.mqtt_client import BrokerSettings, resolve_password

SECRET = "At-rest-s3cret-0b7e"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_config_is_written_0600_in_a_new_0700_directory(tmp_path: Path) -> None:
    path = tmp_path / "new-dir" / "config.toml"
    save_config(AppConfig(broker=BrokerConfig(url="mqtt://h:1883", username="hs", password=SECRET)), path)  # type: ignore[arg-type]
    assert _mode(path) == 0o600
    assert _mode(path.parent) == 0o700
    assert load_config(path).broker.password.get_secret_value() == SECRET  # type: ignore[union-attr]
    # every other dump masks it
    dumped = load_config(path).model_dump_json()
    assert SECRET not in dumped
    assert SECRET not in repr(load_config(path))


def test_an_existing_config_directory_keeps_its_mode(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    save_config(AppConfig(), shared / "config.toml")
    assert _mode(shared) == 0o755
    assert _mode(shared / "config.toml") == 0o600


def test_password_from_env_or_file_and_never_in_repr(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HS_TEST_SECRET", SECRET)
    s = BrokerSettings.from_config(BrokerConfig(url="mqtt://h:1883", username="hs", password_env="HS_TEST_SECRET"))
    assert s.password == SECRET
    assert SECRET not in repr(s)
    pw_file = tmp_path / "pw"
    pw_file.write_text(f"{SECRET}\nignored second line\n", encoding="utf-8")
    pw_file.chmod(0o600)
    s = BrokerSettings.from_config(BrokerConfig(url="mqtt://h:1883", username="hs", password_file=pw_file))
    assert s.password == SECRET
    assert SECRET not in repr(s)


@pytest.mark.parametrize(("mode", "warned"), [(0o600, False), (0o400, False), (0o640, True), (0o644, True)])
def test_a_password_file_others_may_read_is_warned_with_the_fix(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, mode: int, warned: bool
) -> None:
    pw_file = tmp_path / "pw"
    pw_file.write_text(SECRET + "\n", encoding="utf-8")
    pw_file.chmod(mode)
    with caplog.at_level(logging.WARNING):
        assert resolve_password(BrokerConfig(password_file=pw_file), url="mqtt://h") == SECRET
    assert (f"chmod 600 {pw_file}" in caplog.text) is warned
    assert SECRET not in caplog.text


def test_unreadable_or_missing_secrets_name_the_fix_without_the_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HS_TEST_UNSET", raising=False)
    with pytest.raises(BrokerError, match=r"password_env names 'HS_TEST_UNSET'.*export it"):
        resolve_password(BrokerConfig(password_env="HS_TEST_UNSET"), url="mqtt://h")
    empty = tmp_path / "empty"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(BrokerError, match="first line is the password"):
        resolve_password(BrokerConfig(password_file=empty), url="mqtt://h")
    # a password inside the URL never reaches the error, even for a broken URL
    with pytest.raises(BrokerError) as info:
        BrokerSettings.from_url(f"mqtt:/hs:{SECRET}@host:1883")
    assert SECRET not in str(info.value)
    assert SECRET not in info.value.url


def test_a_new_data_directory_for_the_store_is_private_and_an_existing_one_is_kept(tmp_path: Path) -> None:
    from sensor.sessions.store import Store

    new_dir = tmp_path / "data" / "hipsense"
    Store(new_dir / "sessions.db").close()
    assert _mode(new_dir) == 0o700  # recordings are health data
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    Store(shared / "sessions.db").close()
    assert _mode(shared) == 0o755  # the user's own choice is not changed
