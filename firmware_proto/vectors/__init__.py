"""Golden vectors of protocol v1 (JSON, committed); ``generate.py`` rebuilds them from the spec."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

VECTOR_DIR = Path(__file__).resolve().parent


def load(name: str) -> dict[str, Any]:
    """One vector file, e.g. ``load("data_packets.json")``."""
    doc: dict[str, Any] = json.loads((VECTOR_DIR / name).read_text())
    return doc


def ids(vectors: list[dict[str, Any]]) -> list[str]:
    """Test ids: the vectors' names."""
    return [v["name"] for v in vectors]
