"""IO board (RP2040, MicroPython firmware) on the Pi's USB serial: status light, buzzer, tamper switch,
presence sensor, help button, the hardware watchdog that power-cycles the Pi, and the board's firmware
updated over the same link."""
from drivers.ioboard.driver import IoBoard
from drivers.ioboard.errors import (
    CommandRejected,
    CommandTimeout,
    FirmwareError,
    FirmwareInputError,
    FirmwareInterrupted,
    FirmwareRejected,
    FirmwareRolledBack,
    HandshakeFailed,
    IoBoardError,
    NotConnected,
    ProtocolError,
    VersionMismatch,
)
from drivers.ioboard.events import BoardInfo, IoEvent
from drivers.ioboard.firmware import FirmwareImage, FirmwareState, FirmwareUpdateResult, RollbackReason
from drivers.ioboard.protocol import BoardStatus, BuzzPattern, Color, Pattern, WatchdogState

__all__ = [
    "BoardInfo",
    "BoardStatus",
    "BuzzPattern",
    "Color",
    "CommandRejected",
    "CommandTimeout",
    "FirmwareError",
    "FirmwareImage",
    "FirmwareInputError",
    "FirmwareInterrupted",
    "FirmwareRejected",
    "FirmwareRolledBack",
    "FirmwareState",
    "FirmwareUpdateResult",
    "HandshakeFailed",
    "IoBoard",
    "IoBoardError",
    "IoEvent",
    "NotConnected",
    "Pattern",
    "ProtocolError",
    "RollbackReason",
    "VersionMismatch",
    "WatchdogState",
]
