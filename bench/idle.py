"""The terminal at rest: bytes it writes to storage and how often its threads wake while nobody uses it.

The real configuration (mosquitto, the central simulator with the 5 000-item catalog, every device
simulator, ``kiosk run`` with sync on), started and left alone until it settled. Then, over a window,
the deltas of ``/proc/<pid>/io`` ``write_bytes`` (what reached the block layer: SD-card wear) and of the
voluntary context switches of every thread (``/proc/<pid>/task/*/status``: each return from a blocking
wait is one, so the sum counts wake-ups; preemptions by other work are not counted), with the busiest
threads (by thread id: Python does not name native threads).

The like-for-like anchor, measured before and after the terminal in each round: a bare process holding
what any idle terminal must hold (an asyncio loop serving HTTP on loopback and a paho client connected
to the same broker with the same keepalive), so the terminal's own cost reads as the difference.

Run: .venv/bin/python bench/idle.py [--rounds 3] [--window 30] [--items 5000] [--pinned]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.catalog_gen import write  # noqa: E402
from bench.kiosk_real import VERSION, start, wait_log  # noqa: E402
from simulators.hall.stack import Hall, start_hall  # noqa: E402
from tests.support.net import free_port  # noqa: E402

SETTLE_S = 8.0  # after central's catalog version is in use: first heartbeats, device polls, reports

ANCHOR = """
import asyncio, sys
import paho.mqtt.client as mqtt
from aiohttp import web
host, port = sys.argv[1], int(sys.argv[2])
client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="idle-anchor", protocol=mqtt.MQTTv5)
client.connect(host, port, keepalive=60)
client.loop_start()
async def main():
    runner = web.AppRunner(web.Application())
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
asyncio.run(main())
"""


def write_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("write_bytes:"):
            return int(line.split()[1])
    raise RuntimeError(f"no write_bytes for {pid}")


def switches(pid: int) -> Counter[str]:
    """Context switches per thread (named ``comm/tid``) of a process."""
    out: Counter[str] = Counter()
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            comm = (task / "comm").read_text().strip()
            total = 0
            for line in (task / "status").read_text().splitlines():
                if line.startswith("voluntary_ctxt_switches:"):  # preemptions are no wake-ups
                    total += int(line.split()[1])
        except OSError:
            continue   # a thread that ended meanwhile
        out[f"{comm}/{task.name}"] = total
    return out


def observe(pid: int, window: float) -> dict[str, float | str]:
    w0, s0 = write_bytes(pid), switches(pid)
    time.sleep(window)
    w1, s1 = write_bytes(pid), switches(pid)
    per_thread = Counter({name: s1[name] - s0.get(name, 0) for name in s1})
    top = ", ".join(f"{name} {n / window:.1f}/s" for name, n in per_thread.most_common(12) if n)
    return {"kb_per_min": (w1 - w0) / 1024 * 60 / window,
            "wakeups_per_s": sum(per_thread.values()) / window, "top": top}


def anchor(broker_url: str, window: float, pinned: bool) -> dict[str, float | str]:
    host, port = broker_url.rsplit("//", 1)[-1].rsplit(":", 1)
    argv = (["taskset", "-c", "0"] if pinned else []) + [sys.executable, "-c", ANCHOR, host, port]
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        time.sleep(1.0)
        return observe(proc.pid, window)
    finally:
        proc.communicate(timeout=10)


def one_round(hall: Hall, window: float, pinned: bool) -> dict[str, float | str]:
    assert hall.broker is not None
    out: dict[str, float | str] = {f"anchor_before_{k}": v for k, v in anchor(hall.broker.url, window,
                                                                               pinned).items()}
    mark = len((hall.logs_dir / "terminal.log").read_text("utf-8", "replace")) \
        if (hall.logs_dir / "terminal.log").exists() else 0
    first = hall.config_path is None
    terminal, _ = start(hall, free_port() if first else None, pinned)
    # First start: central's version installed and in use; a restart: that version loaded again.
    wait_log(hall, rf"catalog version {VERSION} in use" if first else rf"catalog v{VERSION} ready in", mark, 180)
    time.sleep(SETTLE_S)
    assert terminal.proc is not None
    out.update(observe(terminal.proc.pid, window))
    out.update({f"anchor_after_{k}": v for k, v in anchor(hall.broker.url, window, pinned).items()})
    return out


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.1f} ({min(values):.1f}–{max(values):.1f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--window", type=float, default=30.0, help="seconds observed per round")
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--pinned", action="store_true", help="the terminal and anchor on core 0 only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        catalog = write(Path(tmp) / "catalog.json", args.items, version=VERSION)
        hall = start_hall(Path(tmp) / "hall", catalog=catalog)
        try:
            if hall.problems:
                raise RuntimeError(f"hall incomplete: {hall.problems}")
            results = []
            for _ in range(args.rounds):
                r = one_round(hall, args.window, args.pinned)
                print(json.dumps({"pinned": args.pinned, **r}), file=sys.stderr)
                results.append(r)
        finally:
            hall.stop()

    def col(key: str) -> list[float]:
        return [float(r[key]) for r in results]

    label = "taskset -c 0" if args.pinned else "2 cores"
    load = os.getloadavg()[0]
    print(f"| figure ({label}, load {load:.1f}) | terminal | anchor before / after | bar |\n|---|---|---|---|")
    print(f"| written while idle, kB/min | {spread(col('kb_per_min'))} | {spread(col('anchor_before_kb_per_min'))}"
          f" / {spread(col('anchor_after_kb_per_min'))} | ≤ 10 |")
    print(f"| wake-ups while idle, /s | {spread(col('wakeups_per_s'))} | {spread(col('anchor_before_wakeups_per_s'))}"
          f" / {spread(col('anchor_after_wakeups_per_s'))} | ≤ 5 |")
    print(f"\nbusiest threads (last round): {results[-1]['top']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
