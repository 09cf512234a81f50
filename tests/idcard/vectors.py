"""Byte vectors copied from the hardware document (idcard.md §2, §3, §5) and a hand-built text block, shared
by the driver-codec and simulator-codec tests so that both are checked against the same facts."""
from __future__ import annotations

PRE = bytes.fromhex("AAAAAA9669")

# §2: every command frame, as printed in the document.
COMMANDS = {
    "reset_sam": "00 03 10 FF EC",
    "sam_status": "00 03 11 FF ED",
    "read_sam_id": "00 03 12 FF EE",
    "find": "00 03 20 01 22",
    "select": "00 03 20 02 21",
    "read_text_photo": "00 03 30 01 32",
    "read_appended_address": "00 03 30 03 30",
    "read_fingerprint": "00 03 30 10 23",
    "set_max_rf_frame": "00 04 61 FF 50 CA",
}
# §2: set baud 60 nn with CHK = 63 ⊕ nn.
BAUD_PARAMS = {115200: 0x00, 57600: 0x01, 38400: 0x02, 19200: 0x03, 9600: 0x04}

# §3: replies after the preamble.
REPLY_OK = "00 04 00 00 90 94"
REPLY_FIND_OK = "00 08 00 00 9F 00 00 00 00 97"
REPLY_FIND_FAILED = "00 04 00 00 80 84"
REPLY_SELECT_OK = "00 0C 00 00 90 00 00 00 00 00 00 00 00 9C"
REPLY_READ_FAILED = "00 04 00 00 41 45"


def frame(hex_after_preamble: str) -> bytes:
    return PRE + bytes.fromhex(hex_after_preamble)


def xor(data: bytes) -> int:
    out = 0
    for b in data:
        out ^= b
    return out


def reply(sw3: int, data: bytes = b"", sw1: int = 0, sw2: int = 0) -> bytes:
    """A reply built in the test itself (a third, independent encoder) for lengths the doc only describes."""
    body = (len(data) + 4).to_bytes(2, "big") + bytes((sw1, sw2, sw3)) + data
    return PRE + body + bytes((xor(body),))


def ucs2(text: str, size: int) -> bytes:
    raw = text.encode("utf-16-le")
    assert len(raw) <= size
    return raw + b" \x00" * ((size - len(raw)) // 2)


# §8 vector number 1 (female, sequence 002), on a resident card valid 长期.
RESIDENT_FIELDS = [
    ("阿·买买提", 30), ("2", 2), ("05", 4), ("19491231", 16), ("北京市朝阳区示例路1号", 70),
    ("11010519491231002X", 36), ("北京市公安局朝阳分局", 30), ("20100101", 16), ("长期", 16),
]


def resident_block(flag: str = "") -> bytes:
    block = b"".join(ucs2(text, size) for text, size in RESIDENT_FIELDS)
    block += b" \x00" * 14  # reserved 220..247
    block += ucs2(flag, 2) if flag else b" \x00"
    block += b" \x00" * 3
    assert len(block) == 256
    return block


def hmt_block() -> bytes:
    fields = [("陈大文", 30), ("1", 2), ("", 4), ("19800101", 16), ("香港特别行政区示例道8号", 70),
              ("810000198001010014", 36), ("深圳市公安局", 30), ("20200101", 16), ("20250101", 16),
              ("H12345678", 18), ("01", 4), ("", 6), ("J", 2), ("", 6)]
    return b"".join(ucs2(text, size) for text, size in fields)


def foreigner_2017_block() -> bytes:
    fields = [("SMITH, JOHN", 120), ("1", 2), ("CAN110079012345", 30), ("CAN", 6), ("约翰", 30),
              ("20170601", 16), ("20270601", 16), ("19790112", 16), ("01", 4), ("1500", 8), ("I", 2), ("", 6)]
    return b"".join(ucs2(text, size) for text, size in fields)


def foreigner_2023_block(name_en: str = "GARCIA LOPEZ, MARIA DEL CARMEN ISABEL",
                          number: str = "932110198503150014") -> bytes:
    fields = [("玛丽亚", 30), ("2", 2), ("00", 4), ("19850315", 16), (name_en[:35], 70),
              (number, 36), ("", 30), ("20230401", 16), ("20330401", 16), (name_en[35:], 22),
              ("ESP", 6), ("Y", 2), ("", 6)]
    return b"".join(ucs2(text, size) for text, size in fields)


def read_reply(text: bytes, photo: bytes = bytes(range(256)) * 4) -> bytes:
    """A 1295-byte 30 01 reply: 05 08 00 00 90 01 00 04 00 + text + photo + CHK."""
    return reply(0x90, bytes.fromhex("01000400") + text + photo)
