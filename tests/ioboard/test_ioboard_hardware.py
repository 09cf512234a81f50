"""A real IO board on the bench: handshake, light, buzzer and status. Skipped unless KIOSK_IOBOARD_URL
names its port (e.g. /dev/serial/by-id/usb-MicroPython_Board_…-if00)."""
from __future__ import annotations

import os

import pytest

from drivers.ioboard import Color, IoBoard, Pattern

URL = os.environ.get("KIOSK_IOBOARD_URL", "")

pytestmark = [pytest.mark.hardware,
              pytest.mark.skipif(not URL, reason="set KIOSK_IOBOARD_URL to a real IO board's port")]


def test_real_board_handshake_light_and_status() -> None:
    with IoBoard(URL, heartbeat_interval=1.0) as board:
        assert board.info is not None and board.info.protocol_version == 1
        board.set_light("green", "blink")
        board.buzz("short")
        status = board.status()
        assert (status.light_color, status.light_pattern) == (Color.GREEN, Pattern.BLINK)
