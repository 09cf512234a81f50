"""Files the touch UI uses that are generated from package data at build or install time, not committed:
the pinyin input method's dictionary and the spoken prompts. Both land in ``kiosk/web/static/gen/``
(``kiosk assets build``; ``scripts/bootstrap`` runs it). The page works without them: the text input
then offers single characters only from the smaller built-in set, and prompts are shown but not spoken."""
from __future__ import annotations

from pathlib import Path

GEN_DIR = Path(__file__).resolve().parent.parent / "web" / "static" / "gen"
IME_FILE = "pinyin-ime.txt"
VOICE_DIR = "voice"
