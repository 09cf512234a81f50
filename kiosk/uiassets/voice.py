"""Spoken prompts (语音提示) as WAV clips made with Debian's espeak-ng (Mandarin voice ``cmn``), one per
prompt of ``kiosk/web/static/voice-prompts.json`` — the file the page shows the same words from.

Why clips made at build time and not speech made on the terminal: espeak-ng is a few megabytes, in
Debian and Raspberry Pi OS, needs no model weights and runs on any Pi; made once, the clips cost the
terminal nothing at run time (Chromium plays them), and a terminal without them still shows every prompt.
"""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

PROMPTS_FILE = Path(__file__).resolve().parent.parent / "web" / "static" / "voice-prompts.json"
VOICE = "cmn"
WORDS_PER_MINUTE = 140  # a little slower than espeak-ng's 175: the listeners are often elderly
CLIP_TIMEOUT_S = 30.0


class SpeechUnavailable(RuntimeError):
    """espeak-ng is not installed."""


def prompts(path: Path = PROMPTS_FILE) -> dict[str, str]:
    """Prompt key → the words (the page shows them as the caption)."""
    data = json.loads(path.read_text("utf-8"))
    return {str(k): str(v) for k, v in data.items()}


def build(out_dir: Path, espeak: str | None = None) -> list[Path]:
    """One ``<key>.wav`` per prompt in ``out_dir``. Raises SpeechUnavailable without espeak-ng."""
    exe = espeak or shutil.which("espeak-ng")
    if exe is None:
        raise SpeechUnavailable("spoken prompts are made with espeak-ng: apt-get install espeak-ng "
                                "(scripts/bootstrap does)")
    out_dir.mkdir(parents=True, exist_ok=True)
    made = []
    for key, words in prompts().items():
        target = out_dir / f"{key}.wav"
        tmp = target.with_suffix(".tmp")
        subprocess.run([exe, "-v", VOICE, "-s", str(WORDS_PER_MINUTE), "-w", str(tmp), words], check=True,
                       timeout=CLIP_TIMEOUT_S, capture_output=True)
        tmp.replace(target)
        made.append(target)
    return made
