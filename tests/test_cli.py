from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from sensor import __version__
from sensor.cli import COMMANDS, build_parser, main


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


def _help_lines(parser: argparse.ArgumentParser) -> dict[str, str]:
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {a.dest: str(a.help) for a in sub._choices_actions}


def test_listed_help_lines_are_each_commands_own() -> None:
    """``hipsense --help`` lists COMMANDS' help lines without importing the modules: they must be the modules'."""
    full = _help_lines(build_parser())
    assert list(full) == list(COMMANDS)
    assert full == {name: help_line for name, (_, help_line) in COMMANDS.items()}


def test_help_imports_no_command_module() -> None:
    """``hipsense --help`` stays fast: it imports none of the commands' modules, nor scipy, Bleak or the simulator."""
    code = """
import sys
from sensor.cli import COMMANDS, main
try:
    main(["--help"])
except SystemExit:
    pass
commands = {"sensor.cli." + mod for mod, _ in COMMANDS.values()}
heavy = ("scipy", "bleak", "bumble", "aiomqtt", "sensor.sim", "sensor.pipeline", "sensor.cli._live", "sensor.cli._ble")
print(sorted(m for m in sys.modules if m in commands or m.startswith(heavy)), file=sys.stderr)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "COMMAND" in out.stdout
    assert out.stderr.strip() == "[]"


@pytest.mark.parametrize(
    "argv",
    [
        ["analyze", "--help"],
        ["--config", "cfg.toml", "analyze", "--help"],
        ["-v", "--config=cfg.toml", "analyze", "-h"],
    ],
)
def test_the_chosen_command_is_built_in_full(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as ei:
        main(argv)
    assert ei.value.code == 0
    assert "--trace" in capsys.readouterr().out  # an option of analyze's own


def test_an_abbreviated_option_before_the_command_still_finds_it(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as ei:
        main(["--conf", "cfg.toml", "analyze", "--help"])
    assert ei.value.code == 0
    assert "--trace" in capsys.readouterr().out
