"""The firmware code on a real MicroPython (the Unix port from the test extra), against the golden vectors."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

FIRMWARE = Path(__file__).resolve().parents[2] / "firmware_proto" / "micropython"


def _micropython() -> str | None:
    local = Path(sys.executable).with_name("micropython")
    return str(local) if local.exists() else shutil.which("micropython")


def test_firmware_code_passes_the_vectors_under_micropython() -> None:
    exe = _micropython()
    if exe is None:
        pytest.skip("no MicroPython Unix port (installed by the test extra on Linux x86_64)")
    run = subprocess.run(
        [exe, "check_vectors.py", "../vectors"], cwd=FIRMWARE, capture_output=True, text=True, timeout=120, check=False
    )
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert lines[-1] == "ALL OK micropython"
    counts = {line.split()[2]: int(line.split()[1]) for line in lines[:-1]}
    assert counts["data_packets"] >= 25
    assert counts["control"] >= 30
