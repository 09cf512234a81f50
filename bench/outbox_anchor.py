"""The minimal SQLite outbox the commit benches compare against (WAL, synchronous=FULL, one INSERT + COMMIT
of a body per case, nothing else in the transaction), and, run as a script, the same commits in a process
of their own while something else loads the machine: what a bare commit costs under that load, without
our interpreter lock, our store lock or our WAL (issue 15: a like-for-like baseline measured in the same
run, not only before and after it).

Run as a script: ``python bench/outbox_anchor.py EVERY_S START`` commits at START + (k + 1/2) × EVERY_S
(``time.monotonic()``, the same clock in every process) until its stdin closes: half a period after
each of the measured commits, which run at START + k × EVERY_S, so that the two rarely wait for each
other's disk flush. It prints ``ready`` once its outbox is open, and at the end one JSON line: the
commit times in ms."""
from __future__ import annotations

import json
import math
import os
import sqlite3
import sys
import tempfile
import threading
import time
from pathlib import Path

BODY_SIZE = 900     # about one sealed case envelope


def open_outbox(directory: Path, page_size: int = 0) -> sqlite3.Connection:
    """A bare outbox in ``directory`` (SQLite's default page size unless ``page_size``)."""
    conn = sqlite3.connect(Path(directory) / "outbox.db", isolation_level=None)
    if page_size:
        conn.execute(f"PRAGMA page_size={page_size}")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE outbox (msg_id TEXT PRIMARY KEY, seq INTEGER, body BLOB)")
    return conn


def commit_one(conn: sqlite3.Connection, i: int, body: bytes) -> float:
    """One durable commit of message ``i``; returns its seconds."""
    t = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO outbox VALUES (?, ?, ?)", (f"m{i:08d}", i, body))
    conn.execute("COMMIT")
    return time.perf_counter() - t


def next_beat(start: float, every_s: float, phase: float = 0.0) -> float:
    """The first time ``start + (k + phase) × every_s`` (k a whole number) still ahead: a commit that
    overran skips the beats it missed instead of running late ones back to back."""
    k = math.floor((time.monotonic() - start) / every_s - phase) + 1
    return start + (max(k, 0) + phase) * every_s


def commit_until_stdin_closes(every_s: float, start: float) -> list[float]:
    """Commits half a period after each beat of ``start``, ``every_s`` apart, until stdin reaches its
    end; the times in ms."""
    closed = threading.Event()

    def wait_for_end_of_stdin() -> None:
        sys.stdin.read()
        closed.set()
    threading.Thread(target=wait_for_end_of_stdin, daemon=True).start()
    times: list[float] = []
    body = os.urandom(BODY_SIZE)
    with tempfile.TemporaryDirectory(prefix="bench-anchor-") as tmp:
        conn = open_outbox(Path(tmp))
        print("ready", flush=True)
        i = 0
        while not closed.wait(max(0.0, next_beat(start, every_s, 0.5) - time.monotonic())):
            i += 1
            times.append(commit_one(conn, i, body) * 1e3)
        conn.close()
    return times


if __name__ == "__main__":
    times = commit_until_stdin_closes(float(sys.argv[1]), float(sys.argv[2]))
    print(json.dumps([round(t, 4) for t in times]), flush=True)
