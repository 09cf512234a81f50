"""Acceptance notice on the wire: our job (Hanzi text in FS & mode + native QR) against python-escpos's
job for the same content with native QR (``qr(native=True)``: the like-for-like anchor, GS ( k both)
and its default (image QR), measured in the same run. Build time: the notice's layout plus the
ESC/POS render, against python-escpos building its native-QR job, the anchor timed before and after
ours in each of 3 rounds (median and spread of the ratios).

Run: .venv/bin/python bench/print_notice.py [--rounds 3]
"""
from __future__ import annotations

import logging
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from escpos.printer import Dummy

from drivers.printer import GENERIC_58, GENERIC_80, QR, Cut, Feed, Rule, Text, render
from kiosk.receipts import acceptance_notice
from kiosk.services.notice import Notice, NoticeCase, NoticeStage, PickupPlace

CODE = "7KQ2M9XDPA4TH6WRP"
# The typed notice the commit service builds: every field of a 受理通知书 (issue 11), masked applicant.
NOTICE = Notice(
    cases=(NoticeCase(item_code="511900-GG-0001", item_name="居民身份证申领（换领、补领）", situation_name="首次申领",
                      authority="示例市公安局", query_code=CODE, case_no="SL-2026-000123",
                      stage=NoticeStage.ACCEPTED, promised_days=20, promised_by="2026-12-22",
                      originals=("居民户口簿",), pickup=PickupPlace("window", "户政窗口 1楼 3-5号窗口")),),
    applicant_masked="张*丰", site_name="示例市政务服务中心", hotline="0817-12345", submitted_at="2026-11-24 15:30",
    channel="self")
BAUDS = (115200, 9600)
RUNS = 200


def wire_seconds(size: int, baud: int) -> float:
    return size * 10 / baud  # 8N1: 10 bits per byte


def python_escpos_job(doc, center: bool, native: bool = False) -> bytes:
    """The same content through python-escpos's usual calls: set()/text() per line, qr() (image by
    default), cut(). Lines are the unpadded label + value, which favours python-escpos slightly."""
    printer = Dummy(profile="TM-T20II")  # 80 mm, 576 dots, 203 dpi: the same paper as ours
    for element in doc:
        if isinstance(element, Text):
            printer.set(align=("left", "center", "right")[int(element.align)], bold=element.bold,
                        double_height=element.size > 1, double_width=element.size > 1)
            printer.text((element.text if element.value is None else f"{element.text} {element.value}") + "\n")
        elif isinstance(element, Rule):
            printer.set()
            printer.text("-" * 48 + "\n")
        elif isinstance(element, QR):
            printer.qr(element.payload, size=element.module, center=center, native=native)
        elif isinstance(element, Feed):
            printer.ln(element.lines)
        elif isinstance(element, Cut):
            printer.cut()
    return printer.output


def timed(fn, runs: int = RUNS) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> int:
    import argparse
    import os

    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    logging.getLogger("escpos").setLevel(logging.ERROR)
    doc = acceptance_notice(NOTICE)
    ours = render(doc, GENERIC_80)
    ours_58_raster = render(doc, GENERIC_58)
    native = python_escpos_job(doc, center=False, native=True)
    theirs = python_escpos_job(doc, center=False)
    rows = [("ours, 80 mm, native QR", ours), ("ours, 58 mm clone, raster QR", ours_58_raster),
            ("python-escpos native QR (anchor)", native), ("python-escpos default (image QR)", theirs)]
    print(f"{'job':<36} {'bytes':>7} {'115200 s':>9} {'9600 s':>8} {'× anchor':>9}")
    for name, data in rows:
        print(f"{name:<36} {len(data):>7} {wire_seconds(len(data), 115200):>9.3f} "
              f"{wire_seconds(len(data), 9600):>8.2f} {len(data) / len(native):>9.3f}")
    build = []
    raster = []
    for _ in range(args.rounds):
        before = timed(lambda: python_escpos_job(doc, center=False, native=True), runs=50)
        ours_s = timed(lambda: render(acceptance_notice(NOTICE), GENERIC_80))
        raster_s = timed(lambda: render(acceptance_notice(NOTICE), GENERIC_58), runs=50)
        after = timed(lambda: python_escpos_job(doc, center=False, native=True), runs=50)
        anchor = (before + after) / 2
        build.append((ours_s, anchor, ours_s / anchor))
        raster.append(raster_s)
    ms = sorted(b[0] * 1000 for b in build)
    ratios = sorted(b[2] for b in build)
    print()
    print(f"notice build (layout + render, 80 mm, native QR): {statistics.median(ms):.2f} ms "
          f"({ms[0]:.2f}–{ms[-1]:.2f}); × python-escpos native-QR build {statistics.median(ratios):.3f} "
          f"({ratios[0]:.3f}–{ratios[-1]:.3f}); anchor {statistics.median(b[1] for b in build) * 1000:.2f} ms")
    print(f"notice build, 58 mm clone (raster QR fallback): {statistics.median(raster) * 1000:.2f} ms")
    size_ratio = len(ours) / len(native)
    print(f"bar job ≤ 1.0 × python-escpos native QR: {'PASS' if size_ratio <= 1.0 else 'FAIL'} ({size_ratio:.3f}); "
          f"bar build ≤ 2 ms: {'PASS' if statistics.median(ms) <= 2 else 'FAIL'}; load {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
