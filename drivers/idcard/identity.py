"""The ``Identity`` read from a card: a frozen value that masks itself when printed and refuses to be
pickled, built only from a text block that passes every check (never a wrong identity)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from drivers.idcard import idnumber
from drivers.idcard.codes import gender_name, nation_name
from drivers.idcard.errors import InvalidIdentity, ProtocolError, UnknownCardLayout
from drivers.idcard.protocol import Reply, parse_card_record
from drivers.idcard.text_block import LONG_TERM, CardLayout, TextBlock, decode_text_block
from drivers.masking import mask_address, mask_id_number, mask_name

PUBLIC_KEYS = ("name", "gender", "gender_code", "nation", "nation_code", "birth", "address", "id_number",
               "authority", "valid_from", "valid_to", "card_type")

_ID_TYPES = {"": "resident", "J": "hmt_permit", "I": "foreigner", "Y": "foreigner"}
_DATE = re.compile(r"^\d{8}$")
_FOREIGNER_2017_NUMBER = re.compile(r"^[A-Z]{3}\d{12}$")
_FOREIGNER_2023_NUMBER = re.compile(r"^9\d{16}[\dX]$")


@dataclass(frozen=True, repr=False)
class Identity:
    """One card holder. ``photo`` is the opaque 1024-byte WLT blob: never decoded, never written anywhere.
    For foreigner cards ``nation``/``nation_code`` hold the nationality (ISO 3166 alpha-3) and ``name_en`` the
    English name."""

    name: str
    gender: str
    gender_code: str
    nation: str
    nation_code: str
    birth: str
    address: str
    id_number: str
    authority: str
    valid_from: str
    valid_to: str
    card_type: str
    photo: bytes = field(default=b"", compare=False)
    name_en: str = ""

    @property
    def id_type(self) -> str:
        """resident, hmt_permit or foreigner."""
        return _ID_TYPES.get(self.card_type, "resident")

    def to_dict(self, reveal: bool = False) -> dict[str, str]:
        """The 12 public fields; ID number and address masked unless ``reveal``. The photo is never included."""
        out = {key: getattr(self, key) for key in PUBLIC_KEYS}
        if not reveal:
            out["id_number"] = mask_id_number(self.id_number)
            out["address"] = mask_address(self.address)
        return out

    def __repr__(self) -> str:
        return (f"Identity(name={mask_name(self.name)!r}, id_number={mask_id_number(self.id_number)!r}, "
                f"card_type={self.card_type!r}, photo=<{len(self.photo)} bytes>)")

    __str__ = __repr__

    def __reduce__(self) -> Any:
        # Pickling is how an identity would end up in a file or a queue on disk: refuse it.
        raise TypeError("Identity holds personal data and cannot be pickled")

    def __copy__(self) -> Identity:
        return self  # immutable: copying (which would otherwise go through __reduce__) is harmless

    def __deepcopy__(self, memo: dict) -> Identity:
        return self


def _require_date(value: str, what: str) -> None:
    if not _DATE.match(value):
        raise InvalidIdentity(f"{what} is not a YYYYMMDD date")


def identity_from_text_block(block: TextBlock, photo: bytes = b"") -> Identity:
    """Build and check an Identity. Raises UnknownCardLayout for an unknown card-type flag (raw block kept)
    and InvalidIdentity when the number fails its check or a date field is not a date."""
    if block.layout is CardLayout.UNKNOWN:
        raise UnknownCardLayout(f"unknown card-type flag {block.flag!r}", flag=block.flag, raw_block=block.raw)
    f = block.fields
    number = idnumber.normalise(f["id_number"])
    _require_date(f["birth"], "birth")
    _require_date(f["valid_from"], "valid_from")
    if f["valid_to"] != LONG_TERM:
        _require_date(f["valid_to"], "valid_to")
    if block.layout in (CardLayout.RESIDENT, CardLayout.HMT_PERMIT):
        try:
            idnumber.validate(number)
        except idnumber.InvalidIdNumber as exc:
            raise InvalidIdentity(str(exc)) from None
        if idnumber.embedded_birth(number) != f["birth"]:
            raise InvalidIdentity("birth date does not match the ID number")
        nation_code = f["nation_code"]
        nation = nation_name(nation_code) if nation_code else ""
        name_en, address = "", f["address"]
    else:
        pattern = _FOREIGNER_2017_NUMBER if block.layout is CardLayout.FOREIGNER_2017 else _FOREIGNER_2023_NUMBER
        if not pattern.match(number):
            raise InvalidIdentity("permanent residence number has the wrong format")
        nation_code = nation = f["nationality"]
        name_en, address = f["name_en"], ""
    name = f["name"] or name_en
    return Identity(
        name=name, gender=gender_name(f["gender_code"]), gender_code=f["gender_code"], nation=nation,
        nation_code=nation_code, birth=f["birth"], address=address, id_number=number,
        authority=f.get("authority", ""), valid_from=f["valid_from"], valid_to=f["valid_to"],
        card_type=block.flag, photo=bytes(photo), name_en=name_en,
    )


def identity_from_reply(reply: Reply) -> Identity:
    """The identity in a successful 30 01 reply. Raises ProtocolError when SW1 SW2 are not 00 00 (only
    failures carry the card's status there) or the lengths do not add up, and what
    ``identity_from_text_block`` raises."""
    if (reply.sw1, reply.sw2) != (0, 0):
        raise ProtocolError(f"read reply SW1 SW2 {reply.sw1:02X}{reply.sw2:02X} with SW3 {reply.sw3:02X}")
    record = parse_card_record(reply.data)
    try:
        block = decode_text_block(record.text)
    except ValueError as exc:
        raise ProtocolError(str(exc)) from None
    return identity_from_text_block(block, record.photo)
