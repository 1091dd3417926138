from __future__ import annotations

import subprocess
import sys

import pytest

from sensor import __version__
from sensor.cli import main


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as ei:
        main(["--version"])
    assert ei.value.code == 0
    assert __version__ in capsys.readouterr().out


def test_help_lists_usage(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as ei:
        main(["--help"])
    assert ei.value.code == 0
    assert "hipsense" in capsys.readouterr().out


def test_unknown_command_is_usage_error_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as ei:
        main(["no-such-command"])
    assert ei.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_console_entry_point_runs_as_module() -> None:
    out = subprocess.run([sys.executable, "-m", "sensor", "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("hipsense ")
