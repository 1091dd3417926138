"""Real file-system faults for tests: a small tmpfs (fill it: disk full) that can be remounted read-only. Mounting
needs root (CAP_SYS_ADMIN) on Linux; otherwise the test is skipped with the reason. (Permission bits would not do:
root ignores them, and the interpreter lives under /root, which an unprivileged user cannot run.)"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest


def mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True, text=True)


@contextlib.contextmanager
def tmpfs(where: Path, size: str) -> Iterator[Path]:
    """Mount a tmpfs of ``size`` (``"1M"``) at ``where`` (created) for the block; skips the test when impossible."""
    where.mkdir()
    if not sys.platform.startswith("linux"):
        pytest.skip("tmpfs mounts are a Linux test fixture")
    try:
        mount("-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where))
    except (OSError, subprocess.CalledProcessError) as exc:
        detail = exc.stderr.strip() if isinstance(exc, subprocess.CalledProcessError) else str(exc)
        pytest.skip(f"cannot mount a tmpfs here (needs root / CAP_SYS_ADMIN): {detail}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False, capture_output=True)


def fill(directory: Path, leave_bytes: int = 0) -> Path:
    """Fill the file system of ``directory`` with one file, leaving about ``leave_bytes`` free; returns the file."""
    st = os.statvfs(directory)
    free = st.f_bavail * st.f_frsize
    filler = directory / "filler.bin"
    with filler.open("wb") as fh:
        fh.write(b"\0" * max(0, free - leave_bytes))
    if leave_bytes == 0:  # the last partial blocks
        with contextlib.suppress(OSError), filler.open("ab") as fh:
            for _ in range(64):
                fh.write(b"\0" * 4096)
                fh.flush()
    return filler
