"""Reader for the lower-back walking data set (Voisard et al., IPOL 2023) in ../shared/data/lowback-walking."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sensor.model import ImuBlock

DATA_DIR = Path(os.environ.get("HIPSENSE_LOWBACK_DIR", "/work/shared/data/lowback-walking"))


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
