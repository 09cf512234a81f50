"""Durable case commit while a large backlog drains: the latency a villager's submission sees when the
terminal comes back online after days offline (issue 15: the commit must not wait behind the drain).

Per round: a fresh engine holding a backlog of cases (default 100 000, stored beforehand) connects to
mosquitto and the central peer (``tests/edge_sync/central_peer.py``, own process, acks per the
contract); while the backlog drains, a submitting thread commits one new case every 20 ms (on a fixed
beat) and times each ``submit_case`` until the outbox is empty (or ``--max-s``). Two anchors, each a
minimal SQLite outbox on the same disk (WAL, ``synchronous=FULL``, one INSERT + COMMIT per case;
bench/outbox_anchor.py):
- quiet: measured before and after the round, nothing else running;
- under the same load: in a process of its own, on the terminal's CPUs and priority, committing every
  20 ms half-way between two submissions while the backlog drains: what the machine gives a bare
  commit meanwhile, without our interpreter lock, store lock or WAL.
The table gives p50/p99, and p99 × each anchor's p99, median and spread of the rounds.

Run: .venv/bin/python bench/commit_load.py [--rounds 3] [--backlog 100000] [--max-s 30] [--pinned | --apart]
     [--standins-nice 19]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.outbox_anchor import BODY_SIZE, commit_one, next_beat, open_outbox  # noqa: E402
from bench.pinning import children_at_nice, pin_to_first_core, terminal_side  # noqa: E402
from bench.scratch import drop, scratch_dir  # noqa: E402
from bench.sync import config, start_peer_process  # noqa: E402
from edge_sync import SyncEngine  # noqa: E402
from tests.edge_sync.conftest import sample_case  # noqa: E402
from tests.support.broker import Broker  # noqa: E402

SUBMIT_EVERY_S = 0.02
MORE_THAN_5_LEFT = "SELECT EXISTS (SELECT 1 FROM outbox LIMIT 1 OFFSET 5)"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def minimal_outbox(n: int = 500) -> float:
    """p99 ms of one INSERT + COMMIT into a bare outbox table (WAL, synchronous=FULL), nothing else running."""
    with tempfile.TemporaryDirectory(prefix="bench-minimal-") as tmp:
        conn = open_outbox(Path(tmp))
        body = os.urandom(BODY_SIZE)
        times = [commit_one(conn, i, body) for i in range(n)]
        conn.close()
    return percentile(times, 99) * 1e3


def start_anchor_under_load(start: float) -> subprocess.Popen:
    """The bare outbox committing every SUBMIT_EVERY_S, half a period after each beat of ``start``, in a
    process of its own, on the terminal's side (this thread's CPUs and priority, not the stand-ins'),
    until its stdin closes."""
    with terminal_side():
        proc = subprocess.Popen([sys.executable, str(REPO / "bench" / "outbox_anchor.py"), str(SUBMIT_EVERY_S),
                                 repr(start)],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    if proc.stdout.readline().strip() != "ready":     # started (Python up, outbox open) before the drain
        proc.kill()
        raise RuntimeError("the bare outbox anchor did not start")
    return proc


def stop_anchor_under_load(proc: subprocess.Popen) -> list[float]:
    """Its commit times in ms."""
    out, _ = proc.communicate("", timeout=30)   # closes its stdin: it stops and prints its times
    times: list[float] = json.loads(out)
    return times


def one_round(broker: Broker, backlog: int, max_s: float) -> dict[str, float]:
    anchor_before = minimal_outbox()
    data = scratch_dir("bench-backlog-")
    engine = SyncEngine(config(broker.url, data))
    t = time.perf_counter()
    with engine.store.tx():
        for i in range(backlog):
            engine.submit_case(sample_case(i))
    fill_s = time.perf_counter() - t
    # A backlog of days was written over days, checkpoint by checkpoint: start from a folded WAL.
    with engine.store.lock:
        engine.store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    times: list[float] = []
    stop = threading.Event()

    start = time.monotonic()

    def submitter() -> None:
        n = backlog
        # On the beats of ``start``: the anchor under load commits half a period after each.
        while not stop.wait(max(0.0, next_beat(start, SUBMIT_EVERY_S) - time.monotonic())):
            n += 1
            case = sample_case(n)   # what the screen hands over: the commit is timed from here
            t0 = time.perf_counter()
            engine.submit_case(case)
            times.append(time.perf_counter() - t0)

    anchor_proc = start_anchor_under_load(start)
    engine.start()
    thread = threading.Thread(target=submitter, daemon=True)
    t = time.perf_counter()
    thread.start()
    deadline = time.monotonic() + max_s
    # "More than 5 rows left?" in a step that stops at the sixth row: a COUNT(*) of 100 000 rows every
    # 0.2 s took 2-5 ms of CPU each time, beside the commits it measures.
    while time.monotonic() < deadline and engine.store.scalar(MORE_THAN_5_LEFT):
        time.sleep(0.2)
    stop.set()
    thread.join(10)
    drained_s = time.perf_counter() - t
    under_load = stop_anchor_under_load(anchor_proc)
    left = engine.store.scalar("SELECT COUNT(*) FROM outbox")
    engine.stop()
    drop(data)      # 150 MB for 100 000 cases
    anchor_after = minimal_outbox()
    anchor = (anchor_before + anchor_after) / 2
    p99 = percentile(times, 99) * 1e3
    loaded_p99 = percentile(under_load, 99)
    return {"fill_s": fill_s, "commits": len(times), "p50_ms": percentile(times, 50) * 1e3, "p99_ms": p99,
            "max_ms": max(times) * 1e3, "anchor_p99_ms": anchor, "ratio": p99 / anchor,
            "loaded_anchor_p50_ms": percentile(under_load, 50), "loaded_anchor_p99_ms": loaded_p99,
            "loaded_ratio": p99 / loaded_p99,
            "drained_per_s": (backlog - left) / drained_s, "left": left}


def spread(values: list[float], digits: int = 2) -> str:
    return f"{statistics.median(values):.{digits}f} ({min(values):.{digits}f}–{max(values):.{digits}f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--backlog", type=int, default=100_000)
    parser.add_argument("--max-s", type=float, default=30.0, help="stop measuring after this long")
    parser.add_argument("--pinned", action="store_true",
                        help="this process (engine, submitter, anchor) on CPU 0; broker and peer keep every CPU")
    parser.add_argument("--apart", action="store_true",
                        help="as --pinned, with broker and peer on the other CPUs: none of them takes the "
                             "terminal's CPU time, as in the field")
    parser.add_argument("--standins-nice", type=int, default=0, metavar="N",
                        help="run the broker and central peer N nice steps down: they take only the CPU the "
                             "terminal leaves, as machines of their own would (default 0: equal footing)")
    args = parser.parse_args()
    if args.standins_nice:
        children_at_nice(args.standins_nice)
    if args.pinned or args.apart:
        pin_to_first_core(children_apart=args.apart)
    results = []
    with Broker() as broker:
        peer = start_peer_process(broker.url)
        try:
            for _ in range(args.rounds):
                r = one_round(broker, args.backlog, args.max_s)
                print({k: round(v, 3) for k, v in r.items()}, file=sys.stderr)
                results.append(r)
        finally:
            assert peer.stdin is not None
            peer.stdin.close()
            peer.wait(10)

    def col(key: str) -> list[float]:
        return [r[key] for r in results]

    pinned = ", pinned to CPU 0, broker and peer on the others" if args.apart else (
        ", pinned to CPU 0" if args.pinned else "")
    if args.standins_nice:
        pinned += f", broker and peer at nice {args.standins_nice}"
    print(f"| figure (backlog {args.backlog}, load {os.getloadavg()[0]:.1f}{pinned}) | value | bar |\n|---|---|---|")
    print(f"| durable commit p50 while draining | {spread(col('p50_ms'))} ms | |")
    print(f"| durable commit p99 while draining | {spread(col('p99_ms'))} ms | ≤ 5 ms |")
    print(f"| anchor: minimal SQLite outbox commit p99 (before/after, mean) | {spread(col('anchor_p99_ms'))} ms | |")
    print(f"| p99 × anchor p99 | {spread(col('ratio'))} | |")
    print(f"| anchor under the same load (own process, terminal's CPUs): commit p50 / p99 | "
          f"{spread(col('loaded_anchor_p50_ms'))} / {spread(col('loaded_anchor_p99_ms'))} ms | |")
    print(f"| p99 × anchor-under-load p99 | {spread(col('loaded_ratio'))} | |")
    print(f"| commits timed per round / drain rate meanwhile | {spread(col('commits'), 0)} / "
          f"{spread(col('drained_per_s'), 0)} cases/s | |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
