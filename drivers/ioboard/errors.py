"""Exceptions of the IO board driver, rooted in DeviceError so that the application can catch any
device fault; ``code`` is stable for operators and logs."""
from __future__ import annotations

from drivers.errors import DeviceError


class IoBoardError(DeviceError):
    """The IO board could not do what was asked."""

    code = "ioboard_error"


class ProtocolError(IoBoardError):
    """A frame with a valid CRC carried a payload that does not follow the protocol."""

    code = "ioboard_protocol"


class NotConnected(IoBoardError):
    """The IO board is not connected (port missing or no handshake yet)."""

    code = "ioboard_not_connected"


class HandshakeFailed(IoBoardError):
    """The IO board did not answer HELLO with WELCOME in time."""

    code = "ioboard_handshake"


class VersionMismatch(HandshakeFailed):
    """The IO board speaks another protocol version."""

    code = "ioboard_version"


class CommandTimeout(IoBoardError):
    """The IO board did not acknowledge a command after every retry."""

    code = "ioboard_timeout"


class CommandRejected(IoBoardError):
    """The IO board answered a command with NAK; ``reason`` holds the NakReason."""

    code = "ioboard_rejected"

    def __init__(self, message: str = "", *, reason: int = 0) -> None:
        super().__init__(message)
        self.reason = reason
