"""Acceptance notice on the wire: our job (Hanzi text in FS & mode + native QR) against python-escpos's
default job for the same content (text() + image QR), measured in the same run.

Run: .venv/bin/python bench/print_notice.py
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


def python_escpos_job(doc, center: bool) -> bytes:
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
            printer.qr(element.payload, size=element.module, center=center)
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
    logging.getLogger("escpos").setLevel(logging.ERROR)
    doc = acceptance_notice(NOTICE)
    ours = render(doc, GENERIC_80)
    ours_58_raster = render(doc, GENERIC_58)
    theirs = python_escpos_job(doc, center=False)
    theirs_center = python_escpos_job(doc, center=True)
    rows = [("ours, 80 mm, native QR", ours), ("ours, 58 mm clone, raster QR", ours_58_raster),
            ("python-escpos default (image QR)", theirs), ("python-escpos qr(center=True)", theirs_center)]
    print(f"{'job':<36} {'bytes':>7} {'115200 s':>9} {'9600 s':>8} {'× baseline':>10}")
    for name, data in rows:
        ratio = len(data) / len(theirs)
        print(f"{name:<36} {len(data):>7} {wire_seconds(len(data), 115200):>9.3f} "
              f"{wire_seconds(len(data), 9600):>8.2f} {ratio:>10.3f}")
    layout_s = timed(lambda: acceptance_notice(NOTICE))
    render_s = timed(lambda: render(doc, GENERIC_80))
    both_s = timed(lambda: render(acceptance_notice(NOTICE), GENERIC_80))
    theirs_s = timed(lambda: python_escpos_job(doc, center=False), runs=50)
    print()
    print(f"{'render time (median)':<36} {'ms':>7}")
    for name, seconds in [("notice layout (incl. segno QR image)", layout_s), ("ESC/POS render, 80 mm", render_s),
                          ("layout + render", both_s), ("python-escpos job build", theirs_s)]:
        print(f"{name:<36} {seconds * 1000:>7.2f}")
    print()
    ok_size, ok_ratio = len(ours) <= 2048, len(ours) <= 0.2 * len(theirs)
    print(f"bar ≤ 2 KB: {'PASS' if ok_size else 'FAIL'} ({len(ours)} B); "
          f"bar ≤ 0.2 × python-escpos: {'PASS' if ok_ratio else 'FAIL'} ({len(ours) / len(theirs):.3f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
