"""SD-card wear of a durable case commit: bytes that reach the block layer per ``submit_case``, against a
minimal SQLite outbox on the same disk (WAL, ``synchronous=FULL``, one INSERT + COMMIT of a body of the same
size per case), measured before and after the product in each round.

Counted from ``/proc/self/io`` ``write_bytes`` (what the kernel sent to the device, WAL frames, checkpoints
and journal included) over N commits on a fresh data directory, each store closed at the end so that its
last checkpoint counts too. The engine is not connected: this is the commit alone, as a villager's
submission makes it, not the drain.

Run: .venv/bin/python bench/commit_wear.py [--rounds 3] [--commits 500] [--pinned]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.commit_load import spread  # noqa: E402
from bench.outbox_anchor import commit_one, open_outbox  # noqa: E402
from bench.pinning import pin_to_first_core  # noqa: E402
from bench.scratch import scratch_dir  # noqa: E402
from bench.sync import config  # noqa: E402
from edge_sync import SyncEngine  # noqa: E402
from edge_sync.outbox import open_body  # noqa: E402
from edge_sync.store import PAGE_SIZE  # noqa: E402
from tests.edge_sync.conftest import sample_case  # noqa: E402


def written() -> int:
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("write_bytes:"):
            return int(line.split()[1])
    raise RuntimeError("no write_bytes in /proc/self/io")


def wire_size() -> int:
    """Bytes of one case envelope as it travels: the anchor stores a body of that size."""
    engine = SyncEngine(config("mqtt://127.0.0.1:1", scratch_dir("bench-wear-size-")))
    engine.submit_case(sample_case(0))
    msg_id, body = engine.store.query("SELECT msg_id, body FROM outbox")[0]
    size = len(open_body(engine.key, msg_id, body))
    engine.store.close()
    return size


def minimal_outbox(n: int, body_size: int, page_size: int = 0) -> float:
    """Bytes written per commit of a bare outbox: one INSERT + COMMIT, WAL, synchronous=FULL (SQLite's
    default page size unless ``page_size``)."""
    with tempfile.TemporaryDirectory(prefix="bench-wear-min-") as tmp:
        os.sync()
        before = written()
        conn = open_outbox(Path(tmp), page_size)
        for i in range(n):
            commit_one(conn, i, os.urandom(body_size))
        conn.close()
        os.sync()
        return (written() - before) / n


def product(n: int) -> float:
    """Bytes written per ``submit_case`` of the real engine (store opened beforehand, closed after)."""
    data = scratch_dir("bench-wear-")
    engine = SyncEngine(config("mqtt://127.0.0.1:1", data))
    os.sync()
    before = written()
    for i in range(n):
        engine.submit_case(sample_case(i))
    engine.store.close()
    os.sync()
    return (written() - before) / n


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--commits", type=int, default=500)
    parser.add_argument("--pinned", action="store_true", help="this process on CPU 0 (taskset -c 0)")
    args = parser.parse_args()
    if args.pinned:
        pin_to_first_core()
    size = wire_size()
    ours, anchors, ratios, same_page, same_ratios = [], [], [], [], []
    for _ in range(args.rounds):
        before = minimal_outbox(args.commits, size)
        before_same = minimal_outbox(args.commits, size, PAGE_SIZE)
        mine = product(args.commits)
        after = minimal_outbox(args.commits, size)
        after_same = minimal_outbox(args.commits, size, PAGE_SIZE)
        anchor, anchor_same = (before + after) / 2, (before_same + after_same) / 2
        ours.append(mine / 1024)
        anchors.append(anchor / 1024)
        ratios.append(mine / anchor)
        same_page.append(anchor_same / 1024)
        same_ratios.append(mine / anchor_same)
    pinned = ", pinned to CPU 0" if args.pinned else ""
    print(f"| figure ({args.commits} commits × {args.rounds} rounds, envelope {size} B{pinned}) | value | bar |")
    print("|---|---|---|")
    print(f"| written per durable case commit | {spread(ours)} kB | |")
    print(f"| anchor: minimal SQLite outbox (WAL, synchronous=FULL), before/after mean | {spread(anchors)} kB | |")
    print(f"| ours × anchor | {spread(ratios)} | ≤ 1.5 × |")
    print(f"| the same anchor with the store's {PAGE_SIZE} B pages | {spread(same_page)} kB | |")
    print(f"| ours × that anchor (what the schema itself costs) | {spread(same_ratios)} | |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
