"""Generate the published JSON Schemas of the MQTT payloads into ``schemas/mqtt/<topic>.json``.

Run ``python -m sensor.publish.schemas`` after changing a payload model; ``--check`` exits 1 when the files on disk
are stale (the test suite runs the same comparison).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from sensor.publish.payloads import PAYLOAD_MODELS, SCHEMA_VERSION

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "schemas" / "mqtt"


def render_schemas() -> dict[str, str]:
    """File name -> file content for every payload model (deterministic: sorted keys, trailing newline)."""
    out: dict[str, str] = {}
    for topic, model in PAYLOAD_MODELS.items():
        schema = model.model_json_schema(mode="serialization")
        schema["$id"] = f"https://hipsense.invalid/schemas/mqtt/v{SCHEMA_VERSION}/{topic}.json"
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        out[f"{topic}.json"] = json.dumps(schema, indent=2, sort_keys=True) + "\n"
    return out


def stale_files(directory: Path = DEFAULT_DIR) -> list[str]:
    """Names of schema files that are missing or differ from what the models generate."""
    return [
        name
        for name, text in render_schemas().items()
        if not (directory / name).is_file() or (directory / name).read_text(encoding="utf-8") != text
    ]


def write_schemas(directory: Path = DEFAULT_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in render_schemas().items():
        p = directory / name
        p.write_text(text, encoding="utf-8")
        paths.append(p)
    return paths


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m sensor.publish.schemas", description=__doc__)
    ap.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    ap.add_argument("--check", action="store_true", help="exit 1 if the files are stale instead of writing")
    args = ap.parse_args(argv)
    if args.check:
        stale = stale_files(args.dir)
        if stale:
            print(f"stale MQTT schemas in {args.dir}: {', '.join(stale)}; run python -m sensor.publish.schemas")
            return 1
        return 0
    for p in write_schemas(args.dir):
        print(p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
