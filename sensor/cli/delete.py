"""``hipsense delete SESSION``: remove a session and everything recorded with it."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from sensor.cli._common import require
from sensor.cli._sessions_common import add_store_option, open_store


def register(sub: Any) -> None:
    p = sub.add_parser("delete", help="delete a session (frames, events, notes)")
    p.add_argument("session", metavar="SESSION")
    p.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    add_store_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        sid = store.resolve(args.session)
        info = store.get_session(sid)
        label = f"{sid} ({info.name})" if info.name else sid
        if not args.yes:
            require(
                sys.stdin.isatty(),
                f"deleting session {label} needs --yes when not run from a terminal",
                argument="--yes",
            )
            answer = input(f"delete session {label} and its {sum(s.n_frames for s in info.sensors)} frames? [y/N] ")
            if answer.strip().lower() not in ("y", "yes"):
                print("kept")
                return 1
        store.delete_session(sid)
    print(f"deleted session {label}")
    return 0
