"""The scanner driver's exception tree, rooted in ``drivers.errors.DeviceError``."""
from __future__ import annotations

from drivers.errors import DeviceError


class ScannerError(DeviceError):
    """The QR scanner could not deliver a scan."""

    code = "scanner_error"


class ScannerUnavailable(ScannerError):
    """The scanner's port could not be opened (unplugged, wrong path, nothing listening)."""

    code = "scanner_unavailable"


class ScannerLost(ScannerError):
    """The scanner's port went away while open (unplugged, simulator or adapter gone)."""

    code = "scanner_lost"


class BadPayload(ScannerError):
    """Bytes arrived that do not form a usable payload; later payloads are unaffected."""

    code = "scanner_bad_payload"


class PayloadTooLong(BadPayload):
    """A line exceeded the payload limit without a terminator (garbage, baud mismatch, binary data)."""

    code = "scanner_payload_too_long"


class PayloadTruncated(BadPayload):
    """A partial line was followed by silence instead of its terminator."""

    code = "scanner_payload_truncated"
