"""Small helpers shared by the serial drivers."""
from __future__ import annotations

from typing import Any

import serial


def cancel_read(port: Any) -> None:
    """Ends another thread's blocking read of ``port`` early where pyserial can (POSIX serial ports);
    other ports (sockets, a closed or absent port) are left to their read timeout. Never raises."""
    cancel = getattr(port, "cancel_read", None)
    if cancel is not None:
        try:
            cancel()
        except (serial.SerialException, OSError, ValueError):
            pass


def can_cancel_read(port: Any) -> bool:
    """Whether ``cancel_read`` ends a blocking read of ``port`` (a reader may then block long)."""
    return callable(getattr(port, "cancel_read", None))
