"""IO board (RP2040, MicroPython firmware) on the Pi's USB serial: status light, buzzer, tamper switch,
presence sensor, help button and the hardware watchdog that power-cycles the Pi."""
from drivers.ioboard.driver import IoBoard
from drivers.ioboard.errors import (
                                    CommandRejected,
                                    CommandTimeout,
                                    HandshakeFailed,
                                    IoBoardError,
                                    NotConnected,
                                    ProtocolError,
                                    VersionMismatch,
)
from drivers.ioboard.events import BoardInfo, IoEvent
from drivers.ioboard.protocol import BoardStatus, BuzzPattern, Color, Pattern, WatchdogState

__all__ = [
                                    "BoardInfo",
                                    "BoardStatus",
                                    "BuzzPattern",
                                    "Color",
                                    "CommandRejected",
                                    "CommandTimeout",
                                    "HandshakeFailed",
                                    "IoBoard",
                                    "IoBoardError",
                                    "IoEvent",
                                    "NotConnected",
                                    "Pattern",
                                    "ProtocolError",
                                    "VersionMismatch",
                                    "WatchdogState",
]
