"""``hipsense tag SESSION TAG...``: tag a session (``--remove`` to untag)."""

from __future__ import annotations

import argparse
import re
from typing import Any

from sensor.cli._common import require
from sensor.cli._sessions_common import add_store_option, open_store

_TAG = re.compile(r"^[\w.+-]{1,64}$")


def register(sub: Any) -> None:
    p = sub.add_parser("tag", help="add (or --remove) tags of a session")
    p.add_argument("session", metavar="SESSION")
    p.add_argument("tags", metavar="TAG", nargs="+")
    p.add_argument("--remove", action="store_true", help="remove these tags instead")
    add_store_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    for t in args.tags:
        require(bool(_TAG.match(t)), f"tag {t!r}: use 1-64 letters, digits, '_', '.', '+' or '-'", argument="TAG")
    with open_store(args) as store:
        sid = store.resolve(args.session)
        if args.remove:
            store.remove_tags(sid, args.tags)
        else:
            store.add_tags(sid, args.tags)
        tags = store.get_session(sid).tags
    print(f"{sid}: tags {' '.join(tags) or '(none)'}")
    return 0
