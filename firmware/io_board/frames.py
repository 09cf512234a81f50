"""Frames of the IO board link (docs/ioboard-protocol.md): building them and finding them again in a
byte stream that may hold garbage, truncated frames and bad CRCs. Pure logic, no I/O, no clock."""
from crc16 import crc16

SOF = b"\xa5\x5a"
PROTOCOL_VERSION = 1
MAX_PAYLOAD = 64
HEADER_LEN = 5  # SOF1 SOF2 TYPE SEQ LEN
OVERHEAD = HEADER_LEN + 2
BUFFER_LIMIT = 4 * (MAX_PAYLOAD + OVERHEAD)

# Frame types (the TYPE byte).
HELLO = 0x01
WELCOME = 0x02
ACK = 0x03
NAK = 0x04
HEARTBEAT = 0x05
SET_LIGHT = 0x10
BUZZ = 0x11
CONFIG = 0x12
GET_STATUS = 0x13
EVENT = 0x20

# NAK reasons.
NAK_BAD_VERSION = 1
NAK_UNKNOWN_TYPE = 2
NAK_BAD_PAYLOAD = 3
NAK_NO_SESSION = 4


def encode(ftype, seq, payload=b""):
    """One whole frame. Raises ValueError if the payload is longer than MAX_PAYLOAD."""
    if len(payload) > MAX_PAYLOAD:
        raise ValueError("payload too long")
    body = bytes((ftype & 0xFF, seq & 0xFF, len(payload))) + bytes(payload)
    crc = crc16(body)
    return SOF + body + bytes((crc >> 8, crc & 0xFF))


def _find_sof(buf):
    # A hand-written search: bytearray.find is not in every MicroPython port's build.
    first, second = SOF[0], SOF[1]
    for i in range(len(buf) - 1):
        if buf[i] == first and buf[i + 1] == second:
            return i
    return -1


def _crc_ok(buf, total):
    crc = crc16(memoryview(buf)[2:total - 2])
    return crc == (buf[total - 2] << 8 | buf[total - 1])


class Parser:
    """Accumulates received bytes and returns complete frames as (type, seq, payload) tuples.

    A candidate frame that fails (length over MAX_PAYLOAD, CRC mismatch, or stale when ``expire`` is
    called) costs only its first byte: scanning restarts right after it, so a good frame hidden inside
    garbage or behind a truncated frame is still found."""

    def __init__(self):
        self.buf = bytearray()
        self.bad = 0        # candidate frames rejected (bad length, CRC or expired)
        self.skipped = 0    # bytes thrown away while looking for a start of frame
        self.good = 0

    def pending(self):
        return len(self.buf)

    def feed(self, data):
        """Adds bytes, returns the list of frames now complete (possibly empty)."""
        self.buf.extend(data)
        if len(self.buf) > BUFFER_LIMIT:  # cannot happen with valid lengths; bounds memory anyway
            drop = len(self.buf) - BUFFER_LIMIT
            self.skipped += drop
            self.buf = self.buf[drop:]
        return self._scan(False)

    def expire(self):
        """The line went quiet with bytes pending: they can never complete a frame, so every pending
        candidate is rejected (one byte at a time, still finding any whole frame behind it)."""
        return self._scan(True)

    def _drop(self, n):
        self.buf = self.buf[n:]

    def _scan(self, flush):
        frames = []
        buf = self.buf
        while True:
            start = _find_sof(buf)
            if start < 0:
                # Keep a lone trailing 0xA5: it may be the first half of the next start of frame.
                keep = 1 if (buf and buf[-1] == SOF[0] and not flush) else 0
                self.skipped += len(buf) - keep
                self._drop(len(buf) - keep)
                return frames
            if start:
                self.skipped += start
                self._drop(start)
                buf = self.buf
            length = buf[4] if len(buf) >= HEADER_LEN else 0
            total = HEADER_LEN + length + 2
            complete = len(buf) >= total
            if length > MAX_PAYLOAD or (complete and not _crc_ok(buf, total)) or (flush and not complete):
                # Rejected: give up only its first byte, a real frame may start inside it.
                self.bad += 1
                self._drop(1)
                buf = self.buf
                continue
            if not complete:
                return frames
            frames.append((buf[2], buf[3], bytes(buf[HEADER_LEN:HEADER_LEN + length])))
            self.good += 1
            self._drop(total)
            buf = self.buf
