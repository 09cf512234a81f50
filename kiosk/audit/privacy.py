"""Keeps identity data out of audit records: a record says *that* a card was read or a case submitted,
never whose. Subjects and actors are checked for ID numbers (身份证号) and mobile phone numbers."""
from __future__ import annotations

import re
from enum import Enum

MAX_TEXT = 512
# 18-digit resident ID (last symbol may be X) and the old 15-digit form; not part of a longer digit run.
ID_NUMBER_RE = re.compile(r"(?<![0-9])(?:[0-9]{17}[0-9Xx]|[0-9]{15})(?![0-9A-Za-z])")
# Mainland mobile numbers, optionally +86 / 86 prefixed, optionally grouped 3-4-4 by spaces or dashes.
PHONE_RE = re.compile(r"(?<![0-9])(?:\+?86[- ]?)?1[3-9][0-9][- ]?[0-9]{4}[- ]?[0-9]{4}(?![0-9])")
# Generated identifiers (case and message ids): their hex groups can look like a phone grouped 3-4-4
# ("…e178-8441-4832…") and are never a person's data, so they are left out of the search.
UUID_RE = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
SURROGATE_RE = re.compile("[\ud800-\udfff]")   # lone surrogates cannot be encoded as UTF-8
ID_MASK = "<id-number>"
PHONE_MASK = "<phone>"


class OnIdentity(str, Enum):
    RAISE = "raise"
    MASK = "mask"


class IdentityInSubject(ValueError):
    """A subject or actor holds what looks like an ID or phone number. The message never repeats it."""


def _outside_ids(text: str) -> list[str]:
    """The parts of ``text`` between generated identifiers (UUIDs)."""
    return UUID_RE.split(text)


def _mask(part: str) -> str:
    # ID numbers first: an 18-digit number contains 11-digit runs that look like phones.
    return PHONE_RE.sub(PHONE_MASK, ID_NUMBER_RE.sub(ID_MASK, part))


def find_identity(text: str) -> list[str]:
    """Kinds of identity data found in ``text``: any of ``"id_number"``, ``"phone"``."""
    text = " ".join(_outside_ids(text))   # a space where an id was: it cannot glue two runs of digits
    kinds = []
    if ID_NUMBER_RE.search(text):
        kinds.append("id_number")
    if PHONE_RE.search(text):
        kinds.append("phone")
    return kinds


def sanitize_subject(text: str, on_identity: OnIdentity | str = OnIdentity.RAISE) -> str:
    """``text`` made safe for the audit trail: control characters become spaces (one record, one line),
    lone surrogates U+FFFD, length is capped at 512; an ID or phone number raises IdentityInSubject, or with
    ``on_identity="mask"`` is replaced by ``<id-number>`` / ``<phone>``.

    Raises TypeError when ``text`` is not a str."""
    if not isinstance(text, str):
        raise TypeError(f"audit text must be str, not {type(text).__name__}")
    mode = OnIdentity(on_identity)
    text = SURROGATE_RE.sub("\ufffd", CONTROL_RE.sub(" ", text))[:MAX_TEXT]
    kinds = find_identity(text)
    if kinds and mode is OnIdentity.RAISE:
        raise IdentityInSubject(f"audit text contains identity data ({', '.join(kinds)}); "
                                "record what happened, not whose data it was")
    if not kinds:
        return text
    ids = UUID_RE.findall(text)
    parts = [_mask(part) for part in _outside_ids(text)]
    return "".join(part + (ids[i] if i < len(ids) else "") for i, part in enumerate(parts))
