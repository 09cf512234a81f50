"""Capture pipeline benchmark: time per stage and output size per page for simulated 5 MP frames,
against baselines measured in the same run (full decode, the raw frame, a plain greyscale re-save, and
Pillow's own PDF writer). Run: ``.venv/bin/python bench/capture_pipeline.py [--seeds N]``."""
from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import Image

from drivers.camera import SimulatedCamera, pages_to_pdf, process_capture
from drivers.camera.pipeline import decode_grey


def _timed(call, repeat: int = 3) -> float:
    """Best of ``repeat`` runs, in seconds (the minimum is the least disturbed by other load)."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - started)
    return best


def _plain_grey_jpeg(frame: bytes) -> bytes:
    out = io.BytesIO()
    decode_grey(frame).save(out, "JPEG", quality=75, optimize=True)
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=4, help="seeds per scenario (page and skewed)")
    args = parser.parse_args(argv)
    rows: list[dict[str, Any]] = []   # one printed line per shot: its name, then figures
    pages = []
    for scenario in ("page", "skewed"):
        for seed in range(args.seeds):
            frame = SimulatedCamera(scenario, seed=seed).capture()
            page = min((process_capture(frame) for _ in range(3)), key=lambda p: sum(p.timings.values()))
            pages.append(page)
            rows.append({
                "shot": f"{scenario}/{seed}", "frame_kb": len(frame) / 1000,
                "full_decode": _timed(lambda f=frame: decode_grey(f)),
                "draft_decode": _timed(lambda f=frame: decode_grey(f, 4)),
                "plain_kb": len(_plain_grey_jpeg(frame)) / 1000,
                "plain_time": _timed(lambda f=frame: _plain_grey_jpeg(f)),
                **dict(page.timings), "total": sum(page.timings.values()),
                "page_kb": page.size / 1000, "dpi": page.dpi, "q": page.quality, "skew": page.skew_deg})
    head = (f"{'shot':<10} {'frame KB':>8} {'decode':>7} {'crop+desk':>9} {'clean':>6} {'compress':>8} "
            f"{'total':>6} {'page KB':>7} {'dpi':>5} {'q':>3} {'skew°':>6}")
    print(head)
    print("-" * len(head))
    for r in rows:
        print(f"{r['shot']:<10} {r['frame_kb']:>8.0f} {r['decode']:>7.3f} {r['crop_deskew']:>9.3f} "
              f"{r['clean']:>6.3f} {r['compress']:>8.3f} {r['total']:>6.3f} {r['page_kb']:>7.0f} "
              f"{r['dpi']:>5.0f} {r['q']:>3} {r['skew']:>6.1f}")
    mean = {key: statistics.mean(r[key] for r in rows) for key in
            ("frame_kb", "full_decode", "draft_decode", "plain_kb", "plain_time", "total", "page_kb")}
    print()
    print("times in seconds (best of 3 runs per frame), sizes in kB (1000 bytes)")
    print(f"mean pipeline time per page           {mean['total']:.3f} s"
          f"  = {mean['total'] / mean['plain_time']:.1f}x decoding and re-saving the whole frame greyscale"
          f" q75 ({mean['plain_time']:.3f} s)")
    print(f"1/4-scale draft decode (greyscale)    {mean['draft_decode']:.3f} s"
          f"  = {mean['draft_decode'] / mean['full_decode']:.2f}x the full greyscale decode"
          f" ({mean['full_decode']:.3f} s)")
    print(f"mean page size                        {mean['page_kb']:.0f} kB"
          f"  = {mean['page_kb'] / mean['frame_kb']:.2f}x the camera frame ({mean['frame_kb']:.0f} kB),"
          f" {mean['page_kb'] / mean['plain_kb']:.2f}x the uncropped frame re-saved greyscale q75"
          f" ({mean['plain_kb']:.0f} kB)")
    print(f"pages over the 300 kB budget          {sum(r['page_kb'] > 300 for r in rows)} of {len(rows)}")
    ours_time = _timed(lambda: pages_to_pdf(pages))
    ours = pages_to_pdf(pages)
    images = [Image.open(io.BytesIO(page.jpeg)) for page in pages]
    pillow_out = io.BytesIO()
    pillow_time = _timed(lambda: images[0].save(io.BytesIO(), "PDF", save_all=True, append_images=images[1:],
                                                resolution=pages[0].dpi), repeat=1)
    images[0].save(pillow_out, "PDF", save_all=True, append_images=images[1:], resolution=pages[0].dpi)
    print(f"{len(pages)}-page PDF (JPEGs embedded as-is)   {len(ours) / 1000:.0f} kB in {ours_time * 1000:.1f} ms"
          f"  vs Pillow's PDF writer (re-encodes) {len(pillow_out.getvalue()) / 1000:.0f} kB in {pillow_time:.2f} s"
          f"  = {len(ours) / len(pillow_out.getvalue()):.2f}x size, {ours_time / pillow_time:.3f}x time")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
