"""The pinyin input method's dictionary (拼音输入法词库), derived from two maintained packages' data:
word and character frequencies from jieba-py's lexicon, readings from pypinyin. Built once, off the
terminal (``kiosk assets build``); the page loads the file when a text field opens, so the kiosk process
never holds it (pypinyin's own tables cost tens of MB in a process).

File format (UTF-8 text, one key per line, candidates most frequent first)::

    #pinyin-ime 1
    zhong<TAB>中种重众钟终…           one syllable: single characters
    zhong'guo<TAB>中国 中过 …          two or more syllables: words, space separated

``ü`` is written ``v`` (lv, nv), as on every pinyin keyboard. Only characters of GB 2312 (the 6 763
simplified characters of everyday use) are kept, so no traditional or rare form crowds the candidates.
"""
from __future__ import annotations

import importlib.resources
from collections import defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path

HEADER = "#pinyin-ime 1"
MAX_WORDS = 60_000
MAX_WORD_LEN = 4
MIN_WORD_FREQ = 3
MAX_CANDIDATES = 40  # per key: a person pages through a handful at most
# A reading that no word of the lexicon uses still gets this share of the character's frequency.
UNSEEN_READING_SHARE = 0.001


class DictionaryUnavailable(RuntimeError):
    """The package that supplies word frequencies is not installed."""


def is_common(ch: str) -> bool:
    """A simplified character of GB 2312: its two-byte form lies in the Hanzi rows (0xB0–0xF7)."""
    try:
        raw = ch.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return len(raw) == 2 and 0xB0 <= raw[0] <= 0xF7


def common_characters() -> Iterator[str]:
    """Every Hanzi of GB 2312, level 1 (常用, 3 755) then level 2 (次常用, 3 008), in code order."""
    for hi in range(0xB0, 0xF8):
        for lo in range(0xA1, 0xFF):
            try:
                ch = bytes([hi, lo]).decode("gb2312")
            except UnicodeDecodeError:
                continue
            yield ch


def lexicon_lines() -> list[str]:
    """jieba-py's lexicon: "word frequency part-of-speech" lines. Raises DictionaryUnavailable."""
    try:
        root = importlib.resources.files("jieba")
    except ModuleNotFoundError as exc:
        raise DictionaryUnavailable("the pinyin dictionary is built from jieba-py's lexicon: "
                                    "pip install jieba-py (scripts/bootstrap does)") from exc
    for candidate in (root / "_data" / "dict.txt", root / "dict.txt"):
        if candidate.is_file():
            return candidate.read_text("utf-8").splitlines()
    raise DictionaryUnavailable("jieba's dict.txt not found in the installed jieba package")


def frequencies(lines: Iterable[str]) -> dict[str, int]:
    freq: dict[str, int] = {}
    for line in lines:
        parts = line.split()
        if len(parts) >= 2 and parts[1].isdigit():
            freq[parts[0]] = int(parts[1])
    return freq


def _word_readings(freq: dict[str, int]) -> list[tuple[str, list[str], int]]:
    """(word, syllables, frequency) for every lexicon word of common characters, longest words too: the
    readings in context tell which reading of a polyphonic character people mean (长 in 长城 is chang)."""
    from pypinyin import Style, lazy_pinyin

    found = []
    for word, f in freq.items():
        if len(word) < 2 or not all(is_common(c) for c in word):
            continue
        syllables = lazy_pinyin(word, style=Style.NORMAL, v_to_u=False, errors="ignore")
        if len(syllables) == len(word) and all(s.isascii() and s.isalpha() for s in syllables):
            found.append((word, [s.lower() for s in syllables], f))
    return found


def build_entries(freq: dict[str, int]) -> dict[str, list[tuple[str, float]]]:
    """key → [(candidate, weight)] for characters and words."""
    from pypinyin import Style, pinyin

    words = _word_readings(freq)
    in_context: dict[tuple[str, str], float] = defaultdict(float)  # (character, reading) → word frequency
    for word, syllables, f in words:
        for ch, syllable in zip(word, syllables, strict=True):
            in_context[(ch, syllable)] += f
    entries: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for n, ch in enumerate(common_characters()):
        # Unknown to the lexicon: level-1 characters (the first 3 755) still come before level-2 ones.
        weight = float(freq.get(ch, 0)) + (0.5 if n < 3755 else 0.1)
        readings = [r.lower() for r in pinyin(ch, style=Style.NORMAL, heteronym=True, v_to_u=False)[0]
                    if r.isascii() and r.isalpha()]
        readings = list(dict.fromkeys(readings))
        used = {r: in_context.get((ch, r), 0.0) for r in readings}
        total = sum(used.values())
        for i, reading in enumerate(readings):
            if total > 0:
                share = max(used[reading] / total, UNSEEN_READING_SHARE)
            else:
                share = 1.0 if i == 0 else UNSEEN_READING_SHARE
            entries[reading].append((ch, weight * share))
    ranked = sorted(((w, s, f) for w, s, f in words if len(w) <= MAX_WORD_LEN and f >= MIN_WORD_FREQ),
                    key=lambda wsf: -wsf[2])
    for word, syllables, f in ranked[:MAX_WORDS]:
        entries["'".join(syllables)].append((word, float(f)))
    return entries


def render(entries: dict[str, list[tuple[str, float]]]) -> str:
    lines = [HEADER]
    for key in sorted(entries):
        ranked = [c for c, _ in sorted(entries[key], key=lambda cw: -cw[1])]
        unique = list(dict.fromkeys(ranked))[:MAX_CANDIDATES]
        sep = "" if "'" not in key else " "
        lines.append(f"{key}\t{sep.join(unique)}")
    return "\n".join(lines) + "\n"


def build(out: Path) -> Path:
    """Write the dictionary to ``out`` (atomically). Raises DictionaryUnavailable."""
    text = render(build_entries(frequencies(lexicon_lines())))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(text, "utf-8")
    tmp.replace(out)
    return out
