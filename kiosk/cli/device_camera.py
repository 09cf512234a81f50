"""``kiosk-device camera capture --out FILE.pdf``: take N pages with the document camera (or the
simulated one), run the pipeline and write one PDF; a JSON line per page, a one-line reason on failure."""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from drivers.camera import (
    CameraError,
    CameraMissing,
    PageRejected,
    PipelineConfig,
    open_camera,
    pages_to_pdf,
    process_capture,
)

EXIT_MISSING = 3
EXIT_CAPTURE = 4
EXIT_REJECTED = 5


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    capture = actions.add_parser("capture", help="capture pages into a PDF")
    capture.add_argument("--out", required=True, type=Path, help="PDF file to write")
    capture.add_argument("--pages", type=int, default=1)
    source = capture.add_mutually_exclusive_group()
    source.add_argument("--simulated", action="store_true", help="use the simulated camera")
    source.add_argument("--device", default=os.environ.get("KIOSK_CAMERA", "v4l2:/dev/video0"),
                        help="camera spec: v4l2:/dev/v4l/by-id/… or sim:page?seed=3 (env KIOSK_CAMERA)")
    capture.add_argument("--scenario", default="page",
                         help="with --simulated: page, blank, blurred, skewed, glare or partial")
    capture.add_argument("--seed", type=int, default=0, help="with --simulated: first shot's seed")
    capture.add_argument("--mount-rotation", type=int, choices=(0, 90, 180, 270), default=90,
                         help="degrees counter-clockwise that turn the frame's page upright")


def _fail(code: int, error: CameraError, page: int | None = None) -> int:
    where = f"page {page}: " if page is not None else ""
    print(f"kiosk-device camera: {where}{error.code}: {error} ({error.user_message})", file=sys.stderr)
    return code


def run(args: argparse.Namespace) -> int:
    if args.pages < 1:
        print("kiosk-device camera: --pages must be at least 1", file=sys.stderr)
        return 2
    spec = f"sim:{args.scenario}?seed={args.seed}" if args.simulated else args.device
    config = PipelineConfig(mount_rotation=args.mount_rotation)
    try:
        camera = open_camera(spec)
    except ValueError as exc:
        print(f"kiosk-device camera: {exc}", file=sys.stderr)
        return 2
    except CameraMissing as exc:
        return _fail(EXIT_MISSING, exc)
    pages = []
    with camera:
        for number in range(1, args.pages + 1):
            try:
                page = process_capture(camera.capture(), config)
            except CameraMissing as exc:
                return _fail(EXIT_MISSING, exc, number)
            except PageRejected as exc:
                return _fail(EXIT_REJECTED, exc, number)
            except CameraError as exc:
                return _fail(EXIT_CAPTURE, exc, number)
            pages.append(page)
            print(json.dumps({"page": number, **page.summary()}), flush=True)
    pdf = pages_to_pdf(pages)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(pdf)
    print(json.dumps({"pdf": str(args.out), "pages": len(pages), "bytes": len(pdf)}), flush=True)
    return 0
