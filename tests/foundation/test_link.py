"""The simulators' wire end: ptys and TCP links carry bytes unchanged, pacing follows the baud rate."""
from __future__ import annotations

import threading
import time

import pytest
import serial

from simulators.link import LinkClosed, Pacer, TcpLink, open_link


def test_pty_link_carries_raw_bytes_both_ways():
    link = open_link("pty")
    try:
        with serial.serial_for_url(link.port, baudrate=115200, timeout=2) as host:
            every_byte = bytes(range(256))
            link.write_raw(every_byte)
            assert host.read(256) == every_byte
            host.write(b"\r\n\x03\x11\x13\x00")
            got = b""
            deadline = time.monotonic() + 2
            while len(got) < 6 and time.monotonic() < deadline:
                got += link.read(64, 0.2)
            assert got == b"\r\n\x03\x11\x13\x00"
    finally:
        link.close()


def test_tcp_link_serves_the_next_host_after_one_leaves():
    link = TcpLink("127.0.0.1", 0)
    try:
        assert link.port.startswith("socket://127.0.0.1:")
        for payload in (b"first host", b"second host"):
            with serial.serial_for_url(link.port, timeout=2) as host:
                host.write(payload)
                got = b""
                deadline = time.monotonic() + 2
                while len(got) < len(payload) and time.monotonic() < deadline:
                    got += link.read(64, 0.2)
                assert got == payload
                link.write_raw(b"reply")
                assert host.read(5) == b"reply"
            with pytest.raises(LinkClosed):
                deadline = time.monotonic() + 2
                while time.monotonic() < deadline:
                    link.read(64, 0.2)
    finally:
        link.close()


def test_bad_link_spec_is_refused_with_the_expected_forms():
    with pytest.raises(ValueError, match="pty or tcp:HOST:PORT"):
        open_link("udp:1.2.3.4:5")


def test_pacer_spreads_bytes_over_the_wire_time():
    """The pacer must not deliver faster than the line could: 2 304 bytes at 115200 take ≥ 0.2 s.
    (A lower bound only: it asserts the simulator's model, never the speed of this machine.)"""
    link = open_link("pty")
    try:
        with serial.serial_for_url(link.port, timeout=3) as host:
            data = bytes(range(256)) * 9
            started = time.monotonic()
            writer = threading.Thread(target=Pacer(link, baud=115200).write, args=(data,))
            writer.start()
            got = host.read(len(data))
            elapsed = time.monotonic() - started
            writer.join(5)
            assert got == data
            assert elapsed >= len(data) * 10 / 115200 * 0.95
    finally:
        link.close()
