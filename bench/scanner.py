"""Scanner figures: line assembly and receipt-code parsing throughput against plain-Python baselines, and
the latency from a scan's first byte on a real pty to the kiosk's classified ``ScanEvent`` (the driver's
``Scan`` read through ``kiosk.adapters.scan_event``), against its wire time.

Run: ``.venv/bin/python bench/scanner.py``.
"""
from __future__ import annotations

import re
import secrets
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from drivers.scanner import LineAssembler, Scanner
from edge_sync.querycode import mint_query_code, parse_receipt_code, receipt_url
from kiosk.adapters import scan_event
from simulators.link import Pacer, PtyLink


def best_of(runs: int, func) -> float:
    """The fastest of ``runs`` timings of ``func()`` in seconds (least disturbed by other load)."""
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        func()
        timings.append(time.perf_counter() - start)
    return min(timings)


def bench_assembler() -> list[tuple[str, str, str]]:
    stream = b"".join(receipt_url(mint_query_code()).encode() + b"\r\n" for _ in range(10_000))
    chunks = [stream[i:i + 64] for i in range(0, len(stream), 64)]

    def ours() -> None:
        assembler = LineAssembler()
        for chunk in chunks:
            assembler.feed(chunk)

    ours_s = best_of(5, ours)
    base_s = best_of(5, lambda: stream.split(b"\r\n"))
    mb = len(stream) / 1e6
    wire_115200 = len(stream) * 10 / 115200
    return [
        ("line assembly, 64-byte reads", f"{mb / ours_s:.1f} MB/s", f"{base_s / ours_s:.3f}× of bytes.split"),
        ("  CPU per second of 115200-baud input", f"{ours_s / wire_115200 * 1e3:.3f} ms", ""),
    ]


def bench_parser() -> list[tuple[str, str, str]]:
    code = mint_query_code()
    texts = [receipt_url(code), "7kq2-m9xd-pa4t-h6wr-p", "https://evil.example.com/q/" + code,
             "受理通知书 张三", "A" * 300] * 2_000
    shape = re.compile(r"https://zwfw\.example\.gov\.cn/q/[0-9A-Z]{17}")
    ours_s = best_of(5, lambda: [parse_receipt_code(t) for t in texts])
    base_s = best_of(5, lambda: [shape.fullmatch(t) for t in texts])
    mint_s = best_of(5, lambda: [mint_query_code() for _ in range(10_000)])
    token_s = best_of(5, lambda: [secrets.token_hex(10) for _ in range(10_000)])
    return [
        ("parse_receipt_code, mixed inputs", f"{ours_s / len(texts) * 1e6:.2f} µs",
         f"{ours_s / base_s:.1f}× a bare regex"),
        ("mint_query_code", f"{mint_s / 10_000 * 1e6:.2f} µs", f"{mint_s / token_s:.1f}× secrets.token_hex(10)"),
    ]


def bench_latency(baud: int, samples: int) -> tuple[str, str, str]:
    link = PtyLink()
    pacer = Pacer(link, baud)
    payload = receipt_url(mint_query_code()).encode() + b"\r"
    wire = len(payload) * 10 / baud
    go, started = threading.Event(), []
    stop = False

    def writer() -> None:
        while True:
            go.wait()
            go.clear()
            if stop:
                return
            started.append(time.monotonic())
            pacer.write(payload)

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    latencies = []
    try:
        with Scanner(link.port, baudrate=baud) as scanner:
            for _ in range(samples):
                go.set()
                scan = scanner.read_scan(5.0)
                event = scan_event(scan) if scan is not None else None
                done = time.monotonic()
                if event is None or event.code is None:
                    raise RuntimeError("scan lost during the benchmark")
                latencies.append(done - started[-1])
    finally:
        stop = True
        go.set()
        thread.join(5)
        link.close()
    median = statistics.median(latencies)
    p95 = sorted(latencies)[int(0.95 * (len(latencies) - 1))]
    return (f"scan → ScanEvent at {baud} ({len(payload)} B)", f"p50 {median * 1e3:.1f} ms, p95 {p95 * 1e3:.1f} ms",
            f"{median / wire:.3f}× wire time ({wire * 1e3:.1f} ms)")


def main() -> int:
    rows = [*bench_assembler(), *bench_parser(), bench_latency(9600, 20), bench_latency(115200, 50)]
    width = max(len(r[0]) for r in rows)
    print(f"{'figure':<{width}}  {'value':<26}  ratio")
    for name, value, ratio in rows:
        print(f"{name:<{width}}  {value:<26}  {ratio}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
