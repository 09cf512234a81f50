"""Serial QR/barcode scanner: payload framing and decoding, the driver and a reconnecting watcher. What a
payload means (a receipt's query code or not) is the application's business, not the driver's."""
from drivers.scanner.errors import (
                                    BadPayload,
                                    PayloadTooLong,
                                    PayloadTruncated,
                                    ScannerError,
                                    ScannerLost,
                                    ScannerUnavailable,
)
from drivers.scanner.protocol import (
                                    DEFAULT_MAX_LEN,
                                    DecodedPayload,
                                    DuplicateFilter,
                                    LineAssembler,
                                    OverlongPayload,
                                    TextEncoding,
                                    TruncatedPayload,
                                    decode_payload,
                                    escape_for_display,
)
from drivers.scanner.scanner import Scan, Scanner, ScannerState, ScannerWatcher, make_scan

__all__ = [
                                    "DEFAULT_MAX_LEN",
                                    "BadPayload",
                                    "DecodedPayload",
                                    "DuplicateFilter",
                                    "LineAssembler",
                                    "OverlongPayload",
                                    "PayloadTooLong",
                                    "PayloadTruncated",
                                    "Scan",
                                    "Scanner",
                                    "ScannerError",
                                    "ScannerLost",
                                    "ScannerState",
                                    "ScannerUnavailable",
                                    "ScannerWatcher",
                                    "TextEncoding",
                                    "TruncatedPayload",
                                    "decode_payload",
                                    "escape_for_display",
                                    "make_scan",
]
