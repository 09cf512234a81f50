"""Figures of the terminal application: catalog of 5 000 generated items (load time, search p95 incl.
pinyin initials), and the kiosk process (time to ready, RSS). Baselines are measured in the same run.

Run: .venv/bin/python bench/kiosk.py [--items 5000] [--queries 2000]
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
SAMPLE = Path(os.environ.get("KIOSK_SHARED_DIR", REPO.parent / "shared")) / "data" / "catalog-sample.json"

from kiosk.catalog import load_catalog  # noqa: E402
from kiosk.catalog.search import normalise_query, pinyin_keys  # noqa: E402

# Words that make the generated names distinct while staying in the sample's vocabulary.
QUALIFIERS = ["首次", "变更", "延续", "注销", "补办", "换发", "备案", "核准", "迁入", "迁出", "个人", "企业", "农村",
              "城镇", "跨省", "省内", "市级", "县级", "乡镇", "临时"]


def generate(sample: dict, count: int, seed: int = 7) -> dict:
    """A catalog of ``count`` items built from the sample's items, situations, departments and themes."""
    rng = random.Random(seed)
    base = sample["items"]
    items = []
    for n in range(count):
        src = base[n % len(base)]
        q1, q2 = rng.sample(QUALIFIERS, 2)
        dept = rng.choice(sample["departments"])
        item = json.loads(json.dumps(src))
        item["code"] = f"511900-GEN-{n:05d}"
        item["name"] = f"{q1}{src['name']}（{q2}{dept['name'][-4:]}）"
        item["department"] = dept["code"]
        items.append(item)
    out = dict(sample)
    out["items"] = items
    out["themes"] = [dict(t, items=[i["code"] for i in items if t["code"] in i["themes"]][:50])
                     for t in sample["themes"]]
    return out


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def queries(catalog, count: int, seed: int = 11) -> list[str]:
    """Chinese substrings, full pinyin and pinyin initials of real names, and some misses."""
    rng = random.Random(seed)
    names = [i.name for i in catalog.items.values()]
    out = []
    for _ in range(count):
        name = rng.choice(names)
        start = rng.randrange(0, max(1, len(name) - 4))
        piece = name[start:start + rng.randint(2, 4)]
        full, initials = pinyin_keys(piece)
        out.append(rng.choice([piece, full, initials, initials[:2] or "yy", "yyzz", "营业执照", "zzzq"]))
    return out


def bench_catalog(n_items: int, n_queries: int) -> list[tuple[str, str, str, str]]:
    sample = json.loads(SAMPLE.read_text("utf-8"))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "catalog.json"
        path.write_text(json.dumps(generate(sample, n_items), ensure_ascii=False), "utf-8")
        t0 = time.perf_counter()
        json.loads(path.read_bytes())
        parse_s = time.perf_counter() - t0
        cache = Path(tmp) / "pinyin-cache.json"
        pinyin_keys.cache_clear()  # cold: pypinyin runs for every distinct string
        t0 = time.perf_counter()
        load_catalog(path, cache)
        cold_s = time.perf_counter() - t0
        pinyin_keys.cache_clear()
        t0 = time.perf_counter()
        catalog = load_catalog(path, cache)  # a start with the index's pinyin already computed
        load_s = time.perf_counter() - t0
    rows.append((f"catalog load ({n_items} items, index precomputed)", f"{load_s * 1000:.0f} ms", "≤ 1000 ms",
                 f"{load_s / parse_s:.1f}× plain json.loads ({parse_s * 1000:.0f} ms)"))
    rows.append((f"catalog first load ({n_items} items, pinyin computed)", f"{cold_s * 1000:.0f} ms", "",
                 f"{cold_s / parse_s:.1f}× plain json.loads"))
    qs = queries(catalog, n_queries)
    timings = []
    for q in qs:
        t0 = time.perf_counter()
        catalog.search(q)
        timings.append(time.perf_counter() - t0)
    # Baseline: the simplest search, Hanzi substring over names only (no pinyin, no ranking).
    names = [(i.code, i.name) for i in catalog.items.values()]
    base = []
    for q in qs:
        t0 = time.perf_counter()
        nq = normalise_query(q)
        [c for c, name in names if nq in name][:30]
        base.append(time.perf_counter() - t0)
    p95, b95 = percentile(timings, 95), percentile(base, 95)
    rows.append(("search p50", f"{statistics.median(timings) * 1000:.2f} ms", "", ""))
    rows.append(("search p95 (Hanzi, pinyin, initials)", f"{p95 * 1000:.2f} ms", "≤ 5 ms",
                 f"{p95 / b95:.1f}× name-only substring scan ({b95 * 1000:.2f} ms)"))
    initials = [t for q, t in zip(qs, timings) if q.isascii() and q.isalpha()]
    rows.append(("search p95, pinyin/initials only", f"{percentile(initials, 95) * 1000:.2f} ms", "≤ 5 ms", ""))
    return rows


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def bench_process() -> list[tuple[str, str, str, str]]:
    """``kiosk run`` with the sample catalog (sync off, no devices): time to the ready line and RSS."""
    from tests.support.net import free_port

    env = {**os.environ, "KIOSK_SYNC_ENABLED": "false", "KIOSK_WEB_PORT": str(free_port()),
           "KIOSK_DEVICE_DATA_DIR": tempfile.mkdtemp()}
    t0 = time.perf_counter()
    baseline = subprocess.run([sys.executable, "-c", "import aiohttp, pypinyin"], check=True)
    base_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", "from kiosk.cli.main import main; raise SystemExit(main())",
                             "run", "--catalog", str(SAMPLE), "--log-level", "WARNING"],
                            stdout=subprocess.PIPE, text=True, env=env, cwd=REPO)
    try:
        line = proc.stdout.readline()
        ready_s = time.perf_counter() - t0
        assert line.startswith("{"), line
        time.sleep(0.5)
        rss = rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(10)
    del baseline
    return [("kiosk process ready", f"{ready_s * 1000:.0f} ms", "≤ 3000 ms",
             f"{ready_s / base_s:.1f}× bare `import aiohttp, pypinyin` ({base_s * 1000:.0f} ms)"),
            ("kiosk process RSS after ready", f"{rss:.0f} MB", "≤ 120 MB", "")]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--queries", type=int, default=2000)
    args = parser.parse_args()
    rows = bench_catalog(args.items, args.queries) + bench_process()
    widths = [max(len(r[i]) for r in rows + [("figure", "value", "bar", "baseline ratio")]) for i in range(4)]
    header = ("figure", "value", "bar", "baseline ratio")
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print(" | ".join(cell.ljust(w) for cell, w in zip(row, widths)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
