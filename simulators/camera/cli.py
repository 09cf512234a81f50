"""``kiosk-sim camera --out DIR``: writes generated document-camera frames as JPEG files, one JSON line
per file, for trying the capture pipeline without a camera."""
from __future__ import annotations

import argparse
from pathlib import Path

from simulators.camera.pages import SCENARIOS, take_photo
from simulators.link import emit


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, type=Path, help="folder for frame-0001.jpg …")
    parser.add_argument("--scenario", choices=SCENARIOS, default="page")
    parser.add_argument("--count", type=int, default=1, help="how many frames (seeds SEED, SEED+1, …)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--qr", default="https://zwfw.example.gov.cn/q/7KQ2M9XDPA4TH6WRP",
                        help="text of the QR printed on the form ('' for none)")


def run(args: argparse.Namespace) -> int:
    if args.count < 1:
        print("kiosk-sim camera: --count must be at least 1")
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    for index in range(args.count):
        photo = take_photo(args.scenario, args.seed + index, args.qr or None)
        path = args.out / f"frame-{index + 1:04d}.jpg"
        path.write_bytes(photo.jpeg)
        emit({"device": "camera", "file": str(path), "bytes": len(photo.jpeg), "scenario": photo.scenario,
              "seed": args.seed + index, "tilt_deg": round(photo.tilt_deg, 2), "qr": photo.qr_text})
    return 0
