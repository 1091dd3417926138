"""Reader for the lower-back walking data set (Voisard et al., IPOL 2023) in ../shared/data/lowback-walking."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sensor.model import ImuBlock

# ../shared beside the repository (as in CI), or HIPSENSE_LOWBACK_DIR
DATA_DIR = Path(
    os.environ.get("HIPSENSE_LOWBACK_DIR", Path(__file__).resolve().parents[2] / "shared/data/lowback-walking")
)

# Trials whose left/right foot labels are exchanged in the reference (foot sensors swapped), established from the
# recordings themselves by :func:`side_label_check`; the bench reports the side both as annotated and corrected.
SWAPPED_SIDE_LABELS = frozenset({"4-1", "4-2"})


@dataclass
class Trial:
    name: str
    subject: int
    block: ImuBlock
    fs: float
    heel_strikes: list[tuple[int, str]]  # (sample index, side of the striking foot)
    trial_bounds: tuple[int, int]
    uturn: tuple[int, int]


def _parse(v: object) -> list[list[int]]:
    if isinstance(v, str):
        v = v.strip()
        if not v.endswith("]"):
            v = v.rstrip(",") + "]"
        return json.loads(v)  # type: ignore[no-any-return]
    return v  # type: ignore[return-value]


def trials() -> list[Trial]:
    if not DATA_DIR.is_dir():
        return []
    out: list[Trial] = []
    for meta_p in sorted(DATA_DIR.glob("*.json"), key=lambda p: [int(x) for x in p.stem.split("-")]):
        meta = json.loads(meta_p.read_text())
        data_p = meta_p.with_name(meta_p.stem + "_lb.txt")
        head = data_p.read_text().splitlines()[0]
        fs = float(head.split(":")[1].split("Hz")[0]) if "Hz" in head else 100.0
        arr = np.loadtxt(data_p, skiprows=2)
        # rows are the packets that arrived: 0-15 % (median 4 %) of the packets were lost (PacketCounter skips); the
        # reference events count on the packet timeline, so the lost ones are linearly interpolated back
        step = np.diff(arr[:, 0]) % 65536  # the 16-bit counter may wrap
        pc = np.concatenate([[0.0], np.cumsum(step)])
        grid = np.arange(int(pc[-1]) + 1, dtype=float)
        acc = np.stack([np.interp(grid, pc, arr[:, c]) for c in (1, 2, 3)], axis=1)
        gyr = np.stack([np.interp(grid, pc, arr[:, c]) for c in (4, 5, 6)], axis=1)
        blk = ImuBlock.from_arrays(meta_p.stem, grid / fs, acc, gyr)
        hs: list[tuple[int, str]] = []
        for key, side in (("LeftFootEvents", "left"), ("RightFootEvents", "right")):
            for _to, hs_i in _parse(meta[key]):
                hs.append((int(hs_i), side))
        hs.sort()
        out.append(
            Trial(
                meta_p.stem,
                int(meta["Subject"]),
                blk,
                fs,
                hs,
                tuple(meta["TrialBoundaries"]),  # type: ignore[arg-type]
                tuple(meta["UTurnBoundaries"]),  # type: ignore[arg-type]
            )
        )
    return out


def side_label_check(tr: Trial) -> tuple[float, float]:
    """Raw-sensor evidence on the reference's left/right labels, independent of the pipeline.

    In every recording of this set the sensor's x axis points up (standing gravity 0.81-1.00 g along +x), y
    across the body and z normal to the back; the magnetometer heading of the sensor's y axis while standing at
    the start is the same (-68 to -81 deg from magnetic north, subjects 3-5) in every trial, so the sensor
    sat the same way round on the body. Per labelled heel strike outside the U-turn: the mean roll rate (gyro
    z) over the first 40 % of the step (the swing side drops, so the pelvis rolls toward the stance side) and
    the mean ML acceleration (acc y) over the first 60 % (the centre of mass is pushed toward the midline).
    Returns the standardised differences left minus right (d') of the two cues; their signs are fixed by the
    body's physics for a given mounting, so a trial whose signs are opposite to the others has swapped labels.
    """
    a, b = tr.trial_bounds
    u0, u1 = tr.uturn
    hs = [(i, s) for i, s in tr.heel_strikes if a <= i <= b and not u0 - 50 <= i <= u1 + 50]
    gyr = tr.block.gyr_radps
    assert gyr is not None  # the recordings carry a gyroscope
    cues: dict[str, tuple[list[float], list[float]]] = {"left": ([], []), "right": ([], [])}
    for k in range(len(hs) - 1):
        i, side = hs[k]
        n = hs[k + 1][0] - i
        if n > 0.8 * tr.fs:  # a pause or the turn: not one step
            continue
        cues[side][0].append(float(gyr[i : i + int(0.4 * n), 2].mean()))
        cues[side][1].append(float(tr.block.acc_mps2[i : i + int(0.6 * n), 1].mean()))
    out = []
    for c in (0, 1):
        lft, rgt = np.array(cues["left"][c]), np.array(cues["right"][c])
        sd = float(np.sqrt((lft.var() + rgt.var()) / 2))
        out.append(float(lft.mean() - rgt.mean()) / max(sd, 1e-12))
    return out[0], out[1]
