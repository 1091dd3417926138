"""``hipsense note SESSION TEXT``: attach a note to a session."""

from __future__ import annotations

import argparse
from typing import Any

from sensor.cli._common import require
from sensor.cli._sessions_common import add_store_option, open_store


def register(sub: Any) -> None:
    p = sub.add_parser("note", help="add a note to a session")
    p.add_argument("session", metavar="SESSION")
    p.add_argument("text", metavar="TEXT", nargs="+")
    add_store_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    text = " ".join(args.text).strip()
    require(bool(text), "the note is empty; give some text", argument="TEXT")
    with open_store(args) as store:
        sid = store.resolve(args.session)
        store.add_note(sid, text)
    print(f"noted on {sid}")
    return 0
