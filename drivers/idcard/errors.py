"""The ID-card reader's exception tree, rooted in ``DeviceError``: one class per fault a caller can act on.

``code`` is stable for logs and operators; ``user_message`` is what a citizen may be shown (plain Chinese).
Messages never contain personal data (names, numbers, addresses, raw frames).
"""
from __future__ import annotations

from drivers.errors import DeviceError


class IdCardError(DeviceError):
    """The ID-card reader could not read a card."""

    code = "idcard_error"
    user_message = "读卡失败，请重新放置身份证"


class NoCard(IdCardError):
    """No card was found in the reader's field (SW3 80)."""

    code = "idcard_no_card"
    user_message = "请将身份证放在读卡区"


class CardRemoved(IdCardError):
    """The card left the field during select or read (SW3 81 or 41)."""

    code = "idcard_card_removed"
    user_message = "读卡时身份证被移开，请重新放置身份证"


class CardFault(IdCardError):
    """The SAM could not authenticate or identify the card (SW3 31, 32, 33, 40, 47): damaged or not genuine."""

    code = "idcard_card_fault"
    user_message = "无法识别此证件，请联系工作人员"


class SamFault(IdCardError):
    """The reader's security module (SAM) failed or is not authorised (SW3 60, 66, 23, 24)."""

    code = "idcard_sam_fault"
    user_message = "读卡器故障，请联系工作人员"


class LinkLost(IdCardError):
    """The port is gone or the reader sent nothing at all before the deadline."""

    code = "idcard_link_lost"
    user_message = "读卡器未连接，请联系工作人员"


class ProtocolError(IdCardError):
    """The reader's reply was malformed, truncated, failed its checksum or did not fit the command."""

    code = "idcard_protocol"


class HostFrameRejected(ProtocolError):
    """The reader rejected our command frame (SW3 10 checksum, 11 length, 21 command or sequence)."""

    code = "idcard_frame_rejected"


class InvalidIdentity(ProtocolError):
    """The card's data decoded but is not a valid identity (ID-number check failed, bad field): never returned."""

    code = "idcard_invalid_identity"


class UnknownCardLayout(ProtocolError):
    """The text block's card-type flag is not one we know; the raw block is kept in ``raw_block``."""

    code = "idcard_unknown_layout"

    def __init__(self, message: str = "", *, flag: str = "", raw_block: bytes = b"") -> None:
        super().__init__(message)
        self.flag = flag
        self.raw_block = raw_block  # sensitive: never logged, never part of the message
