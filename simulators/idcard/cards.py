"""Synthetic cards for the simulated reader: identities (shape of ``identities-sample.json``) encoded into
the 256-byte UCS-2LE text block of their layout, with a synthetic 1024-byte photo and optional fingerprint."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BLOCK = 256
PAD = " ".encode("utf-16-le")

# (key in the identities file, offset, bytes) per card-type flag, from the hardware document §5 and §7.
_RESIDENT = [("name", 0, 30), ("gender_code", 30, 2), ("nation_code", 32, 4), ("birth", 36, 16),
             ("address", 52, 70), ("id_number", 122, 36), ("authority", 158, 30), ("valid_from", 188, 16),
             ("valid_to", 204, 16)]
FIELD_MAPS: dict[str, list[tuple[str, int, int]]] = {
    "": _RESIDENT,
    "J": _RESIDENT + [("pass_number", 220, 18), ("issue_count", 238, 4)],
    "I": [("name_en", 0, 120), ("gender_code", 120, 2), ("id_number", 122, 30), ("nationality", 152, 6),
          ("name", 158, 30), ("valid_from", 188, 16), ("valid_to", 204, 16), ("birth", 220, 16),
          ("version", 236, 4), ("authority", 240, 8)],
    "Y": [("name", 0, 30), ("gender_code", 30, 2), ("renewal_count", 32, 4), ("birth", 36, 16),
          ("name_en", 52, 70), ("id_number", 122, 36), ("valid_from", 188, 16), ("valid_to", 204, 16),
          ("name_en_2", 220, 22), ("nationality", 242, 6), ("old_number_link", 250, 6)],
}
FLAG_AT = 248


@dataclass(frozen=True)
class CardImage:
    """What the simulated card holds: the encoded text block, photo, fingerprint and appended address."""

    text: bytes
    photo: bytes
    fingerprint: bytes
    appended_address: bytes  # 70 bytes UCS-2LE, or b"" when the card has none


def _ucs2(value: str, size: int, what: str) -> bytes:
    raw = value.encode("utf-16-le")
    if len(raw) > size:
        raise ValueError(f"{what} needs {len(raw)} bytes, the field holds {size}")
    return raw + PAD * ((size - len(raw)) // 2)


def _synthetic(label: str, size: int) -> bytes:
    """Deterministic filler bytes: stands in for a WLT photo or fingerprint template, decodes to nothing."""
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"{label}:{counter}".encode()).digest()
        counter += 1
    return bytes(out[:size])


def encode_text(person: dict[str, Any]) -> bytes:
    """The 256-byte block for ``person``. ``card_type`` "" (resident), "J", "I" or "Y" picks the layout; any
    other flag is written on the resident layout (an unknown card type). Raises ValueError on overlong fields."""
    flag = str(person.get("card_type", "") or "")
    fields = dict(person)
    if flag == "Y":
        english = str(fields.get("name_en", ""))
        fields["name_en"], fields["name_en_2"] = english[:35], english[35:]
    block = bytearray(PAD * (BLOCK // 2))
    for key, offset, size in FIELD_MAPS.get(flag, _RESIDENT):
        block[offset:offset + size] = _ucs2(str(fields.get(key, "")), size, key)
    block[FLAG_AT:FLAG_AT + 2] = _ucs2(flag, 2, "card_type") if flag else PAD
    return bytes(block)


def make_card(person: dict[str, Any], index: int) -> CardImage:
    """A card image for the ``index``-th identity. ``fingerprint`` (0, 512, 1024) gives its template size."""
    finger_size = int(person.get("fingerprint", 0) or 0)
    appended = str(person.get("appended_address", "") or "")
    return CardImage(
        text=encode_text(person),
        photo=_synthetic(f"photo-{index}", 1024),
        fingerprint=_synthetic(f"finger-{index}", finger_size) if finger_size else b"",
        appended_address=_ucs2(appended, 70, "appended_address") if appended else b"",
    )


def load_cards(path: str | Path) -> list[CardImage]:
    """Cards from a JSON file ``{"identities": [...]}`` (or a bare list); raises ValueError on bad content."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    people = data.get("identities") if isinstance(data, dict) else data
    if not isinstance(people, list):
        raise ValueError("identities file must hold a list under 'identities'")
    return [make_card(person, i) for i, person in enumerate(people)]
