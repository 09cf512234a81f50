"""Serial QR/barcode scanner: payload framing and decoding, receipt-code (查询码) recognition per
contract §10, the driver and a reconnecting watcher."""
from drivers.scanner.errors import (BadPayload, PayloadTooLong, PayloadTruncated, ScannerError, ScannerLost,
                                    ScannerUnavailable)
from drivers.scanner.protocol import (DEFAULT_MAX_LEN, DecodedPayload, DuplicateFilter, LineAssembler,
                                      OverlongPayload, TextEncoding, TruncatedPayload, decode_payload,
                                      escape_for_display)
from drivers.scanner.receipt_code import (Classification, RejectCause, ScanKind, check_symbol, classify,
                                          format_query_code, mint_query_code, parse_receipt_code, receipt_url)
from drivers.scanner.scanner import Scan, Scanner, ScannerState, ScannerWatcher, make_scan

__all__ = [
    "BadPayload", "PayloadTooLong", "PayloadTruncated", "ScannerError", "ScannerLost", "ScannerUnavailable",
    "DEFAULT_MAX_LEN", "DecodedPayload", "DuplicateFilter", "LineAssembler", "OverlongPayload", "TextEncoding",
    "TruncatedPayload", "decode_payload", "escape_for_display",
    "Classification", "RejectCause", "ScanKind", "check_symbol", "classify", "format_query_code",
    "mint_query_code", "parse_receipt_code", "receipt_url",
    "Scan", "Scanner", "ScannerState", "ScannerWatcher", "make_scan",
]
