"""``kiosk audit verify --db FILE``: checks the audit hash chain and prints the result as JSON (exit 0 intact,
1 tampered with the first bad seq, 2 unreadable); ``kiosk audit tail --db FILE`` prints the last records."""
from __future__ import annotations

import argparse
import json
import os
import sqlite3
from pathlib import Path

from kiosk.audit import AuditLog


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    for name, text in (("verify", "check the chain; exit 1 and name the first bad record when tampered"),
                       ("tail", "print the last records as JSON lines")):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("--db", default=os.environ.get("KIOSK_AUDIT_DB"),
                         help="audit SQLite file (default $KIOSK_AUDIT_DB)")
        if name == "tail":
            cmd.add_argument("-n", type=int, default=20, help="how many records")


def run(args: argparse.Namespace) -> int:
    if not args.db or not Path(args.db).is_file():
        print(json.dumps({"ok": False, "error": f"no audit database at {args.db!r}"}))
        return 2
    try:
        log = AuditLog(args.db, readonly=True)
    except sqlite3.Error as exc:
        print(json.dumps({"ok": False, "error": f"cannot open {args.db}: {exc}"}))
        return 2
    try:
        if args.action == "tail":
            head = log.records()[-max(0, args.n):] if args.n > 0 else []
            for record in head:
                print(json.dumps(record.to_dict(), ensure_ascii=False))
            return 0
        result = log.verify()
    except sqlite3.Error as exc:
        # A file so damaged that SQLite cannot read the table is as bad as a broken chain.
        print(json.dumps({"ok": False, "error": f"cannot read {args.db}: {exc}"}))
        return 1
    finally:
        log.close()
    print(json.dumps(result.to_dict(), ensure_ascii=False))
    return 0 if result.ok else 1
