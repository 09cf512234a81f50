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
        load_catalog(path, cache)  # install: every field checked, pinyin computed and kept
        cold_s = time.perf_counter() - t0
        pinyin_keys.cache_clear()
        t0 = time.perf_counter()
        catalog = load_catalog(path, cache, lazy=True)  # start-up with the installed version
        load_s = time.perf_counter() - t0
    rows.append((f"catalog load at start ({n_items} items, index precomputed)", f"{load_s * 1000:.0f} ms",
                 "≤ 1000 ms", f"{load_s / parse_s:.1f}× plain json.loads ({parse_s * 1000:.0f} ms)"))
    rows.append((f"catalog install ({n_items} items, all checked, pinyin computed)", f"{cold_s * 1000:.0f} ms",
                 "", f"{cold_s / parse_s:.1f}× plain json.loads"))
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


def _submit_cases(sync, count: int) -> list[str]:
    """Cases committed through the real outbox and acked by the central simulator; their query codes."""
    import uuid

    from drivers.scanner.receipt_code import mint_query_code

    codes = []
    for _ in range(count):
        code = mint_query_code()
        done = sync.submit_case({
            "case_id": str(uuid.uuid4()), "query_code": code, "item": {"code": "511900-XK-0004", "situation": "S01",
                                                                        "catalog": 1},
            "channel": "self", "applicant": {"name": "张伟", "id_type": "resident", "id_no": "511902198806120319",
                                             "phone": "13800000000"}, "agent": None,
            "materials": [{"code": "M01", "source": "paper"}], "pickup": {"method": "window", "detail": ""},
            "consent": {"version": "2026-01", "at": "2026-11-24T10:00:00+08:00"}, "test": False}, {})
        if sync.wait_case_ack(done.case_id, 15) is None:
            raise RuntimeError("central did not ack a bench case")
        codes.append(code)
    return codes


def bench_scan(rounds: int) -> list[tuple[str, str, str, str]]:
    """Receipt QR scanned on the scanner simulator → progress page rendered in headless Chromium, with
    central on loopback and then offline (broker stopped: the cached view with its age)."""
    from playwright.sync_api import sync_playwright

    from drivers.scanner.receipt_code import receipt_url
    from kiosk.app import Kiosk
    from kiosk.config import load_config
    from tests.app.harness import KioskThread
    from tests.browser.conftest import CHROMIUM_ARGS, Stack
    from tests.support.net import free_port

    identities = SAMPLE.parent / "identities-sample.json"
    with tempfile.TemporaryDirectory() as tmp:
        stack = Stack(Path(tmp), SAMPLE, identities)
        runner = None
        try:
            ports = stack.ports()
            codes = _submit_cases(ports.sync, 20)  # cycled: the scanner drops a repeat within 1.5 s
            config = load_config(None, env={"KIOSK_DEVICE_DATA_DIR": tmp, "KIOSK_SYNC_ENABLED": "false"})
            runner = KioskThread(lambda: Kiosk(config, load_catalog(SAMPLE), ports, tick_s=0.2), free_port()).start()
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
                page = browser.new_page()
                page.goto(runner.url)
                page.wait_for_selector(".tile")

                def measure() -> list[float]:
                    out = []
                    for n in range(rounds):
                        page.evaluate("() => { location.hash = '#/home'; }")
                        page.wait_for_selector(".tile")
                        t0 = time.perf_counter()
                        stack.scanner.send(f"scan {receipt_url(codes[n % len(codes)])}")
                        try:
                            page.wait_for_selector("#progress .steps li", timeout=10_000)
                        except Exception:
                            raise RuntimeError(f"no progress page after scan {n} (online={ports.sync.connected()}): " + page.inner_text("main")[:100]) from None
                        out.append(time.perf_counter() - t0)
                        time.sleep(0.05)
                    return out

                online = measure()
                stack.broker.stop()
                deadline = time.monotonic() + 60
                while ports.sync.connected() and time.monotonic() < deadline:
                    time.sleep(0.2)
                time.sleep(2)  # past the scanner's repeat filter for the codes just scanned
                offline = measure()
                browser.close()
        finally:
            if runner is not None:
                runner.stop()
            stack.close()
    return [("scan → progress page, central on loopback (p95)", f"{percentile(online, 95) * 1000:.0f} ms",
             "≤ 300 ms", f"p50 {statistics.median(online) * 1000:.0f} ms, {rounds} scans"),
            ("scan → progress page, offline from cache (p95)", f"{percentile(offline, 95) * 1000:.0f} ms",
             "≤ 100 ms", f"{percentile(offline, 95) / percentile(online, 95):.2f}× online p95")]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--scans", type=int, default=30)
    args = parser.parse_args()
    rows = bench_catalog(args.items, args.queries) + bench_process()
    if args.scans:
        rows += bench_scan(args.scans)
    widths = [max(len(r[i]) for r in rows + [("figure", "value", "bar", "baseline ratio")]) for i in range(4)]
    header = ("figure", "value", "bar", "baseline ratio")
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print(" | ".join(cell.ljust(w) for cell, w in zip(row, widths)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
