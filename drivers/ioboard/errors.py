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


class FirmwareError(IoBoardError):
    """A firmware update of the IO board did not happen; the board runs ``running_version`` (None when
    unknown: it did not answer)."""

    code = "ioboard_firmware"

    def __init__(self, message: str = "", *, running_version: str | None = None) -> None:
        super().__init__(message)
        self.running_version = running_version


class FirmwareInputError(FirmwareError):
    """The firmware files were refused before anything was sent: a bad or protected name, a size over
    the limit, a file that does not match its manifest (truncated, altered), a malformed version."""

    code = "ioboard_firmware_input"


class FirmwareRejected(FirmwareError):
    """The board refused a step of the update (``reason``: the NakReason, e.g. BAD_HASH when a file it
    read back from its flash did not match); its previous firmware keeps running."""

    code = "ioboard_firmware_rejected"

    def __init__(self, message: str = "", *, reason: int = 0, running_version: str | None = None) -> None:
        super().__init__(message, running_version=running_version)
        self.reason = reason


class FirmwareInterrupted(FirmwareError):
    """The board restarted or went silent during the transfer or the commit, before the new firmware
    was confirmed; ``running_version`` says which one it came back with."""

    code = "ioboard_firmware_interrupted"


class FirmwareRolledBack(FirmwareError):
    """The new firmware did not pass its trial (it crashed, did not answer the handshake, or reported
    another version than expected): the board went back to the previous files. ``reason`` says why."""

    code = "ioboard_firmware_rolled_back"

    def __init__(self, message: str = "", *, reason: str = "", running_version: str | None = None) -> None:
        super().__init__(message, running_version=running_version)
        self.reason = reason
