"""systemd notifications (READY, WATCHDOG, STOPPING, STATUS) over $NOTIFY_SOCKET, without a dependency;
a no-op when the process is not run by systemd."""
from __future__ import annotations

import os
import socket


def notify(message: str) -> bool:
    """Send one notification; returns False when there is no systemd socket or it cannot be reached."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]  # abstract namespace
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(address)
            sock.sendall(message.encode())
        return True
    except OSError:
        return False


def watchdog_interval() -> float | None:
    """Half of WatchdogSec (seconds) when systemd asked for keep-alives for this process, else None."""
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())):
        return None
    try:
        return int(usec) / 2_000_000
    except ValueError:
        return None
