"""Decoding of the card's 256-byte UCS-2LE text block for each card layout: resident ID card (居民身份证),
Hong Kong/Macau/Taiwan residence permit (港澳台居民居住证) and foreigner's permanent residence card
(外国人永久居留身份证) 2017 and 2023. Pure: bytes in, strings out.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field

TEXT_BLOCK_SIZE = 256
FLAG_OFFSET = 248
LONG_TERM = "长期"  # valid-to of a card without expiry: 7F 95 1F 67 then padding


class CardLayout(enum.Enum):
    """Which layout the card-type flag at offset 248 selects. The value is the flag as printed in JSON."""

    RESIDENT = ""
    HMT_PERMIT = "J"
    FOREIGNER_2017 = "I"
    FOREIGNER_2023 = "Y"
    UNKNOWN = "?"


# (field, offset, size in bytes). Each layout covers all 256 bytes (hardware doc §5, §7).
_RESIDENT_HEAD = (
    ("name", 0, 30), ("gender_code", 30, 2), ("nation_code", 32, 4), ("birth", 36, 16),
    ("address", 52, 70), ("id_number", 122, 36), ("authority", 158, 30), ("valid_from", 188, 16),
    ("valid_to", 204, 16),
)
LAYOUTS: dict[CardLayout, tuple[tuple[str, int, int], ...]] = {
    CardLayout.RESIDENT: _RESIDENT_HEAD + (("reserved", 220, 28), ("flag", 248, 2), ("reserved2", 250, 6)),
    CardLayout.HMT_PERMIT: _RESIDENT_HEAD + (
        ("pass_number", 220, 18), ("issue_count", 238, 4), ("reserved", 242, 6), ("flag", 248, 2),
        ("reserved2", 250, 6)),
    CardLayout.FOREIGNER_2017: (
        ("name_en", 0, 120), ("gender_code", 120, 2), ("id_number", 122, 30), ("nationality", 152, 6),
        ("name", 158, 30), ("valid_from", 188, 16), ("valid_to", 204, 16), ("birth", 220, 16),
        ("version", 236, 4), ("authority", 240, 8), ("flag", 248, 2), ("reserved", 250, 6)),
    CardLayout.FOREIGNER_2023: (
        ("name", 0, 30), ("gender_code", 30, 2), ("renewal_count", 32, 4), ("birth", 36, 16),
        ("name_en", 52, 70), ("id_number", 122, 36), ("reserved", 158, 30), ("valid_from", 188, 16),
        ("valid_to", 204, 16), ("name_en_2", 220, 22), ("nationality", 242, 6), ("flag", 248, 2),
        ("old_number_link", 250, 6)),
}

_FLAGS = {"": CardLayout.RESIDENT, "J": CardLayout.HMT_PERMIT, "I": CardLayout.FOREIGNER_2017,
          "Y": CardLayout.FOREIGNER_2023}


@dataclass(frozen=True)
class TextBlock:
    """The decoded fields of one layout. ``raw`` is the untouched block (sensitive: kept out of repr)."""

    layout: CardLayout
    flag: str
    fields: dict[str, str] = field(repr=False)
    raw: bytes = field(repr=False)


def decode_field(chunk: bytes) -> str:
    """UTF-16-LE with errors replaced, padding (spaces, NULs) stripped. Never raises: rare characters may be
    private-use code points, which are kept as they are for staff to see."""
    return chunk.decode("utf-16-le", errors="replace").strip(" \x00")


def card_flag(block: bytes) -> str:
    """The card-type flag character at offset 248 ("" when blank)."""
    return decode_field(block[FLAG_OFFSET:FLAG_OFFSET + 2])


def layout_for_flag(flag: str) -> CardLayout:
    return _FLAGS.get(flag, CardLayout.UNKNOWN)


def decode_text_block(block: bytes) -> TextBlock:
    """Split and decode a 256-byte block by its card-type flag. An unknown flag gives layout UNKNOWN with no
    fields, so that the caller keeps the raw block instead of mis-reading it. Raises ValueError when the
    block is not 256 bytes."""
    if len(block) != TEXT_BLOCK_SIZE:
        raise ValueError(f"text block has {len(block)} bytes, expected {TEXT_BLOCK_SIZE}")
    flag = card_flag(block)
    layout = layout_for_flag(flag)
    if layout is CardLayout.UNKNOWN:
        return TextBlock(layout, flag, {}, bytes(block))
    fields = {name: decode_field(block[offset:offset + size])
              for name, offset, size in LAYOUTS[layout] if not name.startswith(("reserved", "flag"))}
    if layout is CardLayout.FOREIGNER_2023:
        # The English name runs on in a second field when it does not fit 35 characters.
        fields["name_en"] = (fields["name_en"] + fields.pop("name_en_2")).strip()
    return TextBlock(layout, flag, fields, bytes(block))
