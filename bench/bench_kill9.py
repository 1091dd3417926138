"""Kill -9 campaign: SIGKILL the live gateway at N random points, restart it, and check what survived.

Run: ``python bench/bench_kill9.py [-n 50] [--seed 1] [--broker-port 1883]`` (``--quick``: 10 kills). Needs
Mosquitto on 127.0.0.1 (the system one on 1883 is fine: every run uses its own topic prefix).

Each gateway process (``tests/publish/_kill9_gateway.py``: a virtual HipSense v1 sensor at 208 Hz over Bumble, the
recorder into one SQLite store, the MQTT sink and its outbox) is killed at a planned point (see
``tests/publish/_kill9.py``: timed kills while connecting and while streaming, and self-kills through the
``HIPSENSE_TEST_CRASH_AT`` test hook just before a ``COMMIT``, inside a ``COMMIT``, and between a broker PUBACK and
marking the outbox row delivered); the next process is the restart. After each kill the store is opened read-write
and checked (``PRAGMA integrity_check``, per-sensor frame sequence without gaps) and the received frames missing
from it are measured; a subscriber collects every event id; a last clean run must flush what is still pending.

Prints one row per phase and the worst case. Timings come from a shared 2-core machine: process start-up and the
flush time after a restart are noisy; the loss bound (``lost_s``) is what matters.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.publish._kill9 import LOSS_BOUND_S, PHASES, Campaign, KillResult, plan_kills, run_campaign


def _row(i: int, r: KillResult) -> None:
    print(
        f"  kill {i:3d} {r.plan.phase:9s} hit={r.hit:9s} self={'y' if r.self_killed else 'n'} alive={r.alive_s:5.1f}s "
        f"rx={r.rx_frames:5d} stored={r.stored_frames:5d} lost={r.lost_frames:3d} ({r.lost_s:.3f}s) "
        f"integrity={'ok' if not r.corrupt else 'BAD'} pending={r.pending_after_kill}",
        flush=True,
    )


def _report(c: Campaign) -> None:
    print()
    print(f"{'phase':10s} {'kills':>5s} {'self-kill':>9s} {'streaming':>9s} {'max lost s':>10s} {'max lost fr':>11s} "
          f"{'corrupt':>7s} {'pending':>7s} {'flushed next':>12s} {'max flush s':>11s}")  # fmt: skip
    for phase in PHASES:
        rs = [r for r in c.kills if r.plan.phase == phase]
        if not rs:
            continue
        pend = [r for r in rs if r.flushed_by_next is not None]
        flushed = sum(bool(r.flushed_by_next) for r in pend)
        flush = [r.flush_s for r in pend if r.flush_s is not None]
        print(
            f"{phase:10s} {len(rs):5d} {sum(r.self_killed for r in rs):9d} {sum(r.hit == 'streaming' for r in rs):9d} "
            f"{max(r.lost_s for r in rs):10.3f} {max(r.lost_frames for r in rs):11d} {sum(r.corrupt for r in rs):7d} "
            f"{sum(r.pending_after_kill > 0 for r in rs):7d} {flushed:5d}/{len(pend):<6d} "
            f"{max(flush) if flush else float('nan'):11.2f}"
        )
    print("flushed next: of the kills that left outbox rows undelivered, those whose restart delivered them before")
    print("  it was killed itself (a restart killed while connecting, or at its first PUBACK, carries them over; the")
    print("  final clean run must deliver everything: 'unflushed events' below); max flush s: since its spawn")
    worst = max(c.kills, key=lambda r: r.lost_s)
    print()
    print(f"worst case over {len(c.kills)} kills:")
    print(f"  max seconds lost : {worst.lost_s:.3f} s ({worst.lost_frames} frames, {worst.plan.phase}); bound "
          f"{LOSS_BOUND_S:.1f} s -> {'OK' if worst.lost_s <= LOSS_BOUND_S else 'EXCEEDED'}")  # fmt: skip
    corrupt = [r for r in c.kills if r.corrupt]
    print(f"  corruption       : {len(corrupt)} stores failed to open/check after a kill; final integrity "
          f"{'ok' if not c.final_integrity else c.final_integrity}")  # fmt: skip
    for r in corrupt:
        print(f"     {r.plan}: {r.open_error or r.integrity or 'sequence gap'}")
    print(f"  unflushed events : {len(c.unflushed)} of {c.outbox_rows} outbox events never reached the subscriber; "
          f"{c.pending_at_end} still pending after the clean final run; {c.duplicates} duplicates")  # fmt: skip


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=50, help="kill points (default 50)")
    ap.add_argument("--quick", action="store_true", help="10 kill points")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--broker-host", default="127.0.0.1")
    ap.add_argument("--broker-port", type=int, default=1883)
    ap.add_argument("--keep", action="store_true", help="keep the work directory (store, stderr of each process)")
    args = ap.parse_args()
    n = 10 if args.quick else args.n
    plans = plan_kills(n, args.seed)
    tmp = Path(tempfile.mkdtemp(prefix="kill9-"))
    try:
        print(f"kill -9 campaign: {n} kills, seed {args.seed}, work dir {tmp}", flush=True)
        prefix = f"hsbench-{uuid.uuid4().hex[:8]}"
        c = await run_campaign(tmp, args.broker_host, args.broker_port, prefix, plans, on_result=_row)
        _report(c)
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
