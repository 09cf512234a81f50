"""The terminal in its real configuration: mosquitto, the central simulator publishing the 5 000-item
catalog, every device simulator (ID-card reader, scanner, printer, IO board running the firmware) and
``kiosk run`` with sync on, through the real drivers. Per round: the RSS of a bare interpreter importing
the terminal's base libraries (``import aiohttp, paho.mqtt.client, serial, sqlite3``: the like-for-like
anchor), the terminal's cold start (new data directory: the catalog file compiled, then central's
version installed while serving), a warm restart (that version compiled before), a scripted session of
searches and item views over HTTP, and the anchor again. Rounds run unpinned and pinned to one core
(``taskset -c 0``, a Pi proxy); the table gives the median and spread of each.

Run: .venv/bin/python bench/kiosk_real.py [--rounds 3] [--items 5000] [--no-pinned]
"""
from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.catalog_gen import write  # noqa: E402
from bench.kiosk import EVERYDAY, percentile, spread  # noqa: E402
from simulators.hall.children import Terminal  # noqa: E402
from simulators.hall.stack import Hall, start_hall  # noqa: E402
from simulators.hall.terminal_config import write_terminal_config  # noqa: E402
from tests.support.net import free_port  # noqa: E402

ANCHOR = "import aiohttp, paho.mqtt.client, serial, sqlite3, sys; print('ready', flush=True); sys.stdin.read()"
VERSION = 7
LOADED = re.compile(r"catalog v(\d+) ready in (\d+) ms \((\d+) items, compiled (now|before)\)")
SETTLE_S = 3.0  # after ready: edge_sync connects, devices report, the first heartbeat goes out


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def anchor_rss(pinned: bool) -> float:
    """RSS of the bare interpreter with the terminal's base libraries imported."""
    argv = (["taskset", "-c", "0"] if pinned else []) + [sys.executable, "-c", ANCHOR]
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        time.sleep(0.3)
        return rss_mb(proc.pid)
    finally:
        proc.communicate(timeout=10)


def start(hall: Hall, port: int | None, pinned: bool) -> tuple[Terminal, float]:
    """``kiosk run`` for ``hall`` (a restart with the same configuration when ``port`` is None), pinned to
    core 0 if asked; (terminal, seconds from spawn to its ready line)."""
    if hall.terminal is not None:
        hall.terminal.stop()
    if port is not None:
        hall.config_path = write_terminal_config(hall, port)
    assert hall.config_path is not None
    terminal = Terminal(hall.config_path, hall.logs_dir)
    if pinned:
        terminal.args = ["taskset", "-c", "0", *terminal.args]
    t0 = time.perf_counter()
    terminal.start()
    hall.terminal = terminal
    return terminal, time.perf_counter() - t0


def log_text(hall: Hall) -> str:
    return (hall.logs_dir / "terminal.log").read_text("utf-8", "replace")


def wait_log(hall: Hall, pattern: str, after: int, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log_text(hall)[after:]
        if re.search(pattern, text):
            return text
        time.sleep(0.1)
    raise RuntimeError(f"terminal log never said {pattern!r}")


def get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.loads(resp.read())


def session(url: str, codes: list[str], rng: random.Random) -> list[float]:
    """A scripted morning at the screen: searches as letters are tapped and as words are chosen, and the
    items they lead to opened. Returns the HTTP time of each search."""
    words = [row["q"] for row in EVERYDAY]
    times = []
    for word in rng.sample(words, 40):
        steps = [word[:n] for n in range(1, len(word) + 1)] if word.isascii() else [word]
        for q in steps:  # the on-screen keyboard asks at every tap
            t0 = time.perf_counter()
            found = get(url + "api/search?q=" + urllib.parse.quote(q))
            times.append(time.perf_counter() - t0)
        if found["items"]:
            get(url + "api/items/" + found["items"][0]["code"])
    for code in rng.sample(codes, 60):
        get(url + "api/items/" + code)
    return times


def one_round(catalog: Path, codes: list[str], pinned: bool, seed: int) -> dict[str, float]:
    out: dict[str, float] = {"anchor_before": anchor_rss(pinned)}
    with tempfile.TemporaryDirectory() as tmp:
        hall = start_hall(Path(tmp) / "hall", catalog=catalog)
        try:
            if hall.problems:
                raise RuntimeError(f"hall incomplete: {hall.problems}")
            terminal, out["ready_cold"] = start(hall, free_port(), pinned)
            loaded = LOADED.search(wait_log(hall, LOADED.pattern, 0, 60))
            assert loaded is not None
            out["load_cold_ms"] = float(loaded.group(2))
            assert terminal.proc is not None
            out["rss_cold"] = rss_mb(terminal.proc.pid)
            wait_log(hall, rf"catalog version {VERSION} in use", 0, 120)  # central's version, compiled
            time.sleep(SETTLE_S)
            out["rss_installed"] = rss_mb(terminal.proc.pid)
            mark = len(log_text(hall))
            terminal, out["ready_warm"] = start(hall, None, pinned)
            loaded = LOADED.search(wait_log(hall, LOADED.pattern, mark, 60)[0:])
            assert loaded is not None and loaded.group(4) == "before", "warm start compiled again"
            out["load_warm_ms"] = float(loaded.group(2))
            time.sleep(SETTLE_S)
            assert terminal.proc is not None
            out["rss_warm"] = rss_mb(terminal.proc.pid)
            searches = session(terminal.url, codes, random.Random(seed))
            out["http_search_p95_ms"] = percentile(searches, 95) * 1000
            out["rss_after_session"] = rss_mb(terminal.proc.pid)
        finally:
            hall.stop()
    out["anchor_after"] = anchor_rss(pinned)
    return out


def rows(results: list[dict[str, float]], label: str) -> list[tuple[str, str, str, str]]:
    def col(key: str) -> list[float]:
        return [r[key] for r in results]

    anchor = [(r["anchor_before"] + r["anchor_after"]) / 2 for r in results]

    def vs_anchor(key: str) -> str:
        return f"{statistics.median([r[key] / a for r, a in zip(results, anchor, strict=True)]):.2f}× anchor"

    return [
        (f"{label}: anchor RSS (bare `import aiohttp, paho.mqtt.client, serial, sqlite3`)",
         f"{spread(col('anchor_before'))} / {spread(col('anchor_after'))} MB", "", "before / after"),
        (f"{label}: ready, cold (new data dir, catalog file compiled)", f"{spread(col('ready_cold'), 1000)} ms",
         "≤ 3000 ms", ""),
        (f"{label}: catalog load at start, cold (compile in child + open)", f"{spread(col('load_cold_ms'))} ms",
         "", ""),
        (f"{label}: RSS after a cold start", f"{spread(col('rss_cold'))} MB", "≤ 100 MB", vs_anchor("rss_cold")),
        (f"{label}: RSS after central's version installed while serving", f"{spread(col('rss_installed'))} MB",
         "≤ 100 MB", vs_anchor("rss_installed")),
        (f"{label}: ready, warm (installed version compiled before)", f"{spread(col('ready_warm'), 1000)} ms",
         "≤ 3000 ms", ""),
        (f"{label}: catalog load at start, warm", f"{spread(col('load_warm_ms'))} ms", "≤ 500 ms", ""),
        (f"{label}: RSS after a warm start", f"{spread(col('rss_warm'))} MB", "≤ 100 MB", vs_anchor("rss_warm")),
        (f"{label}: RSS after the scripted searches and item views", f"{spread(col('rss_after_session'))} MB",
         "≤ 100 MB", vs_anchor("rss_after_session")),
        (f"{label}: search over HTTP p95 (each tap of the session)", f"{spread(col('http_search_p95_ms'), 1, 1)} ms",
         "", "aiohttp and JSON included"),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--no-pinned", action="store_true", help="skip the rounds pinned to one core")
    args = parser.parse_args()
    if not args.no_pinned and shutil.which("taskset") is None:
        parser.error("taskset not found (util-linux); use --no-pinned")
    with tempfile.TemporaryDirectory() as tmp:
        catalog = write(Path(tmp) / "catalog-5000.json", args.items, version=VERSION)
        codes = [f"511900-GEN-{n:05d}" for n in range(args.items)]
        table: list[tuple[str, str, str, str]] = []
        for pinned in ([False] if args.no_pinned else [False, True]):
            results = [one_round(catalog, codes, pinned, seed) for seed in range(args.rounds)]
            for r in results:
                print(json.dumps({"pinned": pinned, **{k: round(v, 3) for k, v in r.items()}}), file=sys.stderr)
            table += rows(results, "taskset -c 0" if pinned else "2 cores")
    print("| figure | value | bar | ratio |\n|---|---|---|---|")
    for row in table:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
