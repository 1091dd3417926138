"""``hipsense calibrate FILE [--save PATH] [--json]``: the sensor's mounting from a guided recording.

Stand still for 3 s, then walk 10 steps straight ahead. The result (sensor-to-pelvis rotation, gyroscope bias,
confidence) is a prior for the automatic calibration of every later analysis (``hipsense analyze --mounting``);
it can only improve it. The recording comes from a HipSense CSV today; the BLE source plugs in the same way.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from sensor.cli._common import print_json, require
from sensor.config import default_config_path
from sensor.errors import ConfigError, DataValidationError
from sensor.model import ImuBlock
from sensor.pipeline.calibration import CalibrationResult, Mounting, calibrate_recording
from sensor.pipeline.orientation import GravityFilter
from sensor.sessions.hipsense_csv import read_csv


def calibrate_block(block: ImuBlock, sampling_rate_hz: float | None = None) -> CalibrationResult:
    fs = sampling_rate_hz or block.sampling_rate_hz
    up = GravityFilter(fs).feed(block.acc_mps2, block.gyr_radps)
    return calibrate_recording(block.acc_mps2, block.gyr_radps, up, fs)


def default_mounting_path(alias: str) -> Path:
    """Where a sensor's calibrated mounting is kept: beside the config file."""
    return default_config_path().parent / "mountings" / f"{alias}.json"


def load_mounting(path: Path) -> Mounting:
    """A mounting file written by ``hipsense calibrate`` (``--mounting FILE``).

    Raises:
        ConfigError: unreadable, not JSON, or not a valid mounting; the message names the file and the field.
    """
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        return Mounting.from_dict(doc)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ConfigError(
            f"mounting file {path} cannot be read as JSON ({exc}); run `hipsense calibrate` again", path=str(path)
        ) from exc
    except DataValidationError as exc:
        raise ConfigError(f"mounting file {path}: {exc}", path=str(path), key=exc.field) from exc


def register(subparsers: Any) -> None:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "calibrate",
        help="compute the sensor's mounting from a recording (stand 3 s, walk 10 steps)",
        description="Stand still for 3 s, then walk 10 steps straight ahead while recording; this computes the "
        "sensor-to-pelvis mounting and gyroscope bias. The automatic calibration runs anyway; this only helps it.",
    )
    p.add_argument("file", metavar="FILE", help="HipSense CSV of the calibration recording")
    p.add_argument("--sensor", metavar="ALIAS", default="default", help="sensor alias to store it for")
    p.add_argument("--save", metavar="PATH", default=None, help="where to write the mounting JSON")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    path = Path(args.file)
    require(path.is_file(), f"no such file: {str(path)!r}; record 3 s standing + 10 steps first", argument="FILE")
    res = calibrate_block(read_csv(path))
    out = Path(args.save) if args.save else default_mounting_path(args.sensor)
    doc = {"ok": res.ok, "message": res.message, "quiet_s": res.quiet_s, "gait_s": res.gait_s}
    doc["mounting"] = res.mounting.to_dict()
    if res.ok:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(res.mounting.to_dict(), indent=2) + "\n", encoding="utf-8")
        doc["saved_to"] = str(out)
    if args.json:
        print_json(doc)
    else:
        print(res.message + (f"; saved to {out}" if res.ok else ""))
        print(f"  confidence {res.mounting.confidence:.2f}, quiet {res.quiet_s:.1f} s, gait {res.gait_s:.1f} s")
    return 0 if res.ok else 1
