"""Second-generation ID-card reader (二代身份证阅读器, SAM serial protocol): pure protocol and text-block
decoding, the ``IdCardReader`` driver, the polling ``CardWatcher`` and the masked ``Identity`` value."""
from drivers.idcard.errors import (
                                   CardFault,
                                   CardRemoved,
                                   HostFrameRejected,
                                   IdCardError,
                                   InvalidIdentity,
                                   LinkLost,
                                   NoCard,
                                   ProtocolError,
                                   SamFault,
                                   UnknownCardLayout,
)
from drivers.idcard.identity import PUBLIC_KEYS, Identity, identity_from_text_block
from drivers.idcard.protocol import Command, FrameParser, Reply, Sw3
from drivers.idcard.reader import IdCardReader
from drivers.idcard.text_block import CardLayout, TextBlock, decode_text_block
from drivers.idcard.watcher import CardEvent, CardEventKind, CardWatcher

__all__ = [
                                   "PUBLIC_KEYS",
                                   "CardEvent",
                                   "CardEventKind",
                                   "CardFault",
                                   "CardLayout",
                                   "CardRemoved",
                                   "CardWatcher",
                                   "Command",
                                   "FrameParser",
                                   "HostFrameRejected",
                                   "IdCardError",
                                   "IdCardReader",
                                   "Identity",
                                   "InvalidIdentity",
                                   "LinkLost",
                                   "NoCard",
                                   "ProtocolError",
                                   "Reply",
                                   "SamFault",
                                   "Sw3",
                                   "TextBlock",
                                   "UnknownCardLayout",
                                   "decode_text_block",
                                   "identity_from_text_block",
]
