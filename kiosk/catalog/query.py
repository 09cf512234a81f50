"""What a person typed into the search box, as a typed value: normalised text, its script, and the forms
the index compares it in. Any string parses; one with nothing searchable parses as empty."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import Enum

QUERY_MAX = 40  # characters kept of a query (the on-screen keyboard never sends more)
_KEEP = re.compile(r"[^\W_]+")
_LATIN = re.compile(r"[a-z]+")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\U00020000-\U0003134f]")
# Confusions typical of southwestern and southern Mandarin (四川话 and others): retroflex and flat
# initials, n/l, and front/back nasal finals; ü typed as v or u. Both the index and the query are
# folded the same way, so a folded match is a match up to these confusions.
_FOLDS = (("zh", "z"), ("ch", "c"), ("sh", "s"), ("l", "n"), ("ng", "n"), ("v", "u"))


def fold(pinyin: str) -> str:
    """Full pinyin with the dialect confusions merged: ``zhunshengzheng`` → ``zunsenzen``."""
    for a, b in _FOLDS:
        pinyin = pinyin.replace(a, b)
    return pinyin


def fold_initials(initials: str) -> str:
    """Initials with n/l merged (zh/ch/sh already start with z/c/s) and ü as u."""
    return initials.replace("l", "n").replace("v", "u")


class Script(Enum):
    """How a query is compared: Latin letters as pinyin or initials, anything else as text."""

    EMPTY = "empty"
    LATIN = "latin"
    TEXT = "text"


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed query. ``text`` is what is matched: lower case, full-width folded, punctuation and
    spaces removed (``" YYZZ "`` → ``yyzz``; ``营业 执照！`` → ``营业执照``)."""

    typed: str
    text: str
    script: Script
    folded: str = ""           # LATIN only: fold(text)
    folded_initials: str = ""  # LATIN only: fold_initials(text)

    @property
    def empty(self) -> bool:
        return self.script is Script.EMPTY

    @property
    def has_han(self) -> bool:
        return _HAN.search(self.text) is not None


def normalise(text: str) -> str:
    """How queries and catalog terms are compared: NFKC (full-width letters become ASCII), lower case,
    letters, digits and Hanzi only. Lone surrogates are dropped (they cannot be normalised)."""
    clean = text.encode("utf-8", "replace").decode("utf-8") if not text.isascii() else text
    return "".join(_KEEP.findall(unicodedata.normalize("NFKC", clean).lower()))


def parse_query(typed: str) -> Query:
    """Parse any string. Never raises; a query with nothing searchable has ``script`` EMPTY."""
    if not isinstance(typed, str):
        typed = ""
    text = normalise(typed[:QUERY_MAX * 4])[:QUERY_MAX]
    kept = typed[:QUERY_MAX]
    if not text:
        return Query(kept, "", Script.EMPTY)
    if _LATIN.fullmatch(text):
        return Query(kept, text, Script.LATIN, fold(text), fold_initials(text))
    return Query(kept, text, Script.TEXT)
