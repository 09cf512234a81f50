"""IO board benchmark: acknowledged-command round trip (SET_LIGHT → ACK) from the driver to the REAL
firmware running in the simulator (MicroPython unix port and CPython), against a raw pty echo of the
same bytes measured in the same run; the host frame decoder's throughput against a C CRC pass; and a
whole firmware update over the link (the real firmware's files to the firmware under MicroPython)
against a raw pty echo of the same number of chunk frames.

Run: ``.venv/bin/python bench/ioboard.py [--commands 200] [--rounds 3]``
"""
from __future__ import annotations

import argparse
import binascii
import json
import os
import select
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tty
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import serial  # noqa: E402

from drivers.ioboard import IoBoard  # noqa: E402
from drivers.ioboard import protocol as p  # noqa: E402
from drivers.ioboard.firmware import CHUNK  # noqa: E402

MICROPYTHON = str(Path(sys.executable).parent / "micropython")


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[int(0.95 * (len(ordered) - 1))] * 1000


def raw_pty_round_trip(count: int, frame: bytes | None = None, reply: bytes | None = None) -> list[float]:
    """Baseline: a thread echoes a reply (8 bytes) for every frame (9 bytes) over a pty, as fast as it can."""
    frame = frame or p.set_light(0, p.Color.GREEN, p.Pattern.STEADY)
    reply = reply or p.ack(0, 0)
    master, slave = os.openpty()
    tty.setraw(slave)
    stop = threading.Event()

    def echo() -> None:
        while not stop.is_set():
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready and os.read(master, 128):
                os.write(master, reply)

    thread = threading.Thread(target=echo, daemon=True)
    thread.start()
    samples = []
    with serial.serial_for_url(os.ttyname(slave), timeout=1) as port:
        for _ in range(count):
            started = time.perf_counter()
            port.write(frame)
            port.read(len(reply))
            samples.append(time.perf_counter() - started)
    stop.set()
    thread.join(2)
    os.close(master)
    os.close(slave)
    return samples


def firmware_round_trip(interpreter: list[str], count: int) -> list[float]:
    sim = subprocess.Popen([sys.executable, "-m", "simulators", "ioboard", *interpreter], cwd=REPO,
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert sim.stdout is not None
        ready = json.loads(sim.stdout.readline())
        board = IoBoard(ready["port"]).open(timeout=10)
        samples = []
        try:
            for i in range(count):
                color = (p.Color.GREEN, p.Color.YELLOW)[i % 2]
                started = time.perf_counter()
                board.set_light(color, p.Pattern.STEADY)
                samples.append(time.perf_counter() - started)
        finally:
            board.close()
        return samples
    finally:
        assert sim.stdin is not None
        sim.stdin.write("quit\n")
        sim.stdin.close()
        sim.wait(10)


def firmware_files(version: int) -> dict[str, bytes]:
    """The firmware's own files (all an update may replace), with version 1.<version>.0."""
    files = {path.name: path.read_bytes() for path in (REPO / "firmware" / "io_board").glob("*.py")
             if path.name not in ("main.py", "fwboot.py")}
    files["version.py"] = f"FIRMWARE_VERSION = (1, {version}, 0)\n".encode()
    return files


def update_rounds(rounds: int) -> list[float]:
    """Seconds per whole-firmware update (transfer, verify, commit, restart, handshake, confirm)."""
    with tempfile.TemporaryDirectory() as flash:
        sim = subprocess.Popen([sys.executable, "-m", "simulators", "ioboard", "--interpreter", MICROPYTHON,
                                "--flash", flash], cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               text=True)
        try:
            assert sim.stdout is not None
            ready = json.loads(sim.stdout.readline())
            threading.Thread(target=sim.stdout.read, daemon=True).start()  # drain its JSON lines
            board = IoBoard(ready["port"]).open(timeout=10)
            try:
                return [board.update_firmware(firmware_files(n + 1), f"1.{n + 1}.0").seconds for n in range(rounds)]
            finally:
                board.close()
        finally:
            assert sim.stdin is not None
            sim.stdin.write("quit\n")
            sim.stdin.close()
            sim.wait(10)


def decoder_throughput(frames: int = 20000) -> tuple[float, float]:
    """(frames per second through FrameDecoder, frames per second of binascii.crc_hqx alone)."""
    one = p.encode_frame(p.FrameType.HEARTBEAT, 5, bytes(12))
    stream = (b"\x00\xa5" + one) * frames
    started = time.perf_counter()
    decoder = p.FrameDecoder()
    found = 0
    for i in range(0, len(stream), 4096):
        found += len(decoder.feed(stream[i:i + 4096]))
    decode_s = time.perf_counter() - started
    assert found == frames
    started = time.perf_counter()
    for _ in range(frames):
        binascii.crc_hqx(one[2:-2], 0xFFFF)
    crc_s = time.perf_counter() - started
    return frames / decode_s, frames / crc_s


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--commands", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    base50, base95 = _percentiles(raw_pty_round_trip(args.commands))
    print(f"{'measurement':<44} {'p50 ms':>8} {'p95 ms':>8} {'p50 ratio':>10}")
    print(f"{'raw pty echo, 9 B out / 8 B back (baseline)':<44} {base50:8.3f} {base95:8.3f} {1.0:10.1f}")
    for name, interpreter in (("micropython", ["--interpreter", MICROPYTHON]), ("cpython", [])):
        p50, p95 = _percentiles(firmware_round_trip(interpreter, args.commands))
        print(f"{'SET_LIGHT->ACK, firmware under ' + name:<44} {p50:8.3f} {p95:8.3f} {p50 / base50:10.1f}")
    decode_rate, crc_rate = decoder_throughput()
    print(f"\nhost FrameDecoder: {decode_rate:,.0f} frames/s; binascii.crc_hqx alone: {crc_rate:,.0f} frames/s "
          f"(ratio {decode_rate / crc_rate:.3f})")
    files = firmware_files(1)
    size = sum(map(len, files.values()))
    chunks = sum(-(-len(data) // CHUNK) for data in files.values())
    chunk_frame = p.encode_frame(p.FrameType.FW_DATA, 0, bytes(4 + CHUNK))
    chunk_ack = p.encode_frame(p.FrameType.ACK, 0, bytes(5))

    def baseline() -> list[float]:
        return [sum(raw_pty_round_trip(chunks, chunk_frame, chunk_ack)) for _ in range(args.rounds)]

    baselines = baseline()  # before and after the updates, so that both see the same load
    updates = update_rounds(args.rounds)
    baselines += baseline()
    base, upd = statistics.median(baselines), statistics.median(updates)
    print(f"\nfirmware update, {len(files)} files, {size:,} bytes in {chunks} chunks, {args.rounds} rounds:")
    print(f"  raw pty echo of {chunks} chunk frames (baseline): median {base:.3f} s "
          f"(spread {min(baselines):.3f}-{max(baselines):.3f})")
    print(f"  update_firmware to the firmware under micropython: median {upd:.3f} s "
          f"(spread {min(updates):.3f}-{max(updates):.3f}), {size / upd / 1024:.0f} KiB/s, ratio {upd / base:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
