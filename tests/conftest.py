"""Shared fixtures. Tests never touch the user's real config or data directory."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HIPSENSE_CONFIG", str(tmp_path / "config" / "config.toml"))
    monkeypatch.setenv("HIPSENSE_DATA_DIR", str(tmp_path / "data"))
