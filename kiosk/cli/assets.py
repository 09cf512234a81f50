"""``kiosk assets build``: make the UI files generated from package data (the pinyin input method's
dictionary, the spoken prompts) in ``kiosk/web/static/gen/`` or ``--out``. Exit 0 when all were made,
1 when a part could not be (its reason is printed; the terminal works without it)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kiosk.uiassets import GEN_DIR, IME_FILE, VOICE_DIR


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["build"])
    parser.add_argument("--out", type=Path, default=GEN_DIR, help=f"folder to write to (default {GEN_DIR})")
    parser.add_argument("--only", choices=["ime", "voice"], help="make one part only")


def run(args: argparse.Namespace) -> int:
    failed = False
    if args.only in (None, "ime"):
        from kiosk.uiassets import ime

        try:
            path = ime.build(args.out / IME_FILE)
            print(f"pinyin dictionary: {path} ({path.stat().st_size // 1024} KiB)")
        except ime.DictionaryUnavailable as exc:
            print(f"pinyin dictionary not made: {exc}", file=sys.stderr)
            failed = True
    if args.only in (None, "voice"):
        from kiosk.uiassets import voice

        try:
            clips = voice.build(args.out / VOICE_DIR)
            print(f"spoken prompts: {len(clips)} clips in {args.out / VOICE_DIR}")
        except (voice.SpeechUnavailable, OSError) as exc:
            print(f"spoken prompts not made: {exc}", file=sys.stderr)
            failed = True
    return 1 if failed else 0
