"""Frames of the IO board link (docs/ioboard-protocol.md): building them and finding them again in a
byte stream that may hold garbage, truncated frames and bad CRCs. Pure logic, no I/O, no clock.

The parser and the writer work in buffers allocated once: the board runs for years, and a loop that
allocates on every frame fragments the small heap and stalls in the garbage collector."""
from crc16 import crc16

SOF1 = 0xA5
SOF2 = 0x5A
PROTOCOL_VERSION = 1
MAX_PAYLOAD = 64
HEADER_LEN = 5  # SOF1 SOF2 TYPE SEQ LEN
OVERHEAD = HEADER_LEN + 2
MAX_FRAME = MAX_PAYLOAD + OVERHEAD
BUFFER_LIMIT = 4 * MAX_FRAME

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
# Firmware update over the link (docs/ioboard-protocol.md §5).
FW_BEGIN = 0x30
FW_FILE = 0x31
FW_DATA = 0x32
FW_VERIFY = 0x33
FW_COMMIT = 0x34
FW_STATE = 0x35
FW_CONFIRM = 0x36
FW_ROLLBACK = 0x37

# NAK reasons.
NAK_BAD_VERSION = 1
NAK_UNKNOWN_TYPE = 2
NAK_BAD_PAYLOAD = 3
NAK_NO_SESSION = 4
NAK_BAD_HASH = 5
NAK_BAD_STATE = 6
NAK_STORAGE = 7


class Writer:
    """Builds one frame at a time in a fixed buffer: ``begin``, the payload bytes, ``finish``; the frame
    is then ``buf[:n]``. Raises ValueError when the payload would exceed MAX_PAYLOAD."""

    def __init__(self):
        self.buf = bytearray(MAX_FRAME)
        self.n = 0
        self.done = False

    def begin(self, ftype, seq):
        buf = self.buf
        buf[0] = SOF1
        buf[1] = SOF2
        buf[2] = ftype & 0xFF
        buf[3] = seq & 0xFF
        buf[4] = 0
        self.n = HEADER_LEN
        self.done = False

    def byte(self, value):
        n = self.n
        if self.done or n >= HEADER_LEN + MAX_PAYLOAD:
            raise ValueError("payload too long")
        self.buf[n] = value & 0xFF
        self.n = n + 1

    def u16(self, value):
        self.byte(value >> 8)
        self.byte(value)

    def u32(self, value):
        self.byte(value >> 24)
        self.byte(value >> 16)
        self.byte(value >> 8)
        self.byte(value)

    def copy(self, src, start, count):
        for i in range(start, start + count):
            self.byte(src[i])

    def finish(self):
        """Writes LEN and the CRC (once); returns the frame's length."""
        if self.done:
            return self.n
        buf = self.buf
        n = self.n
        buf[4] = n - HEADER_LEN
        crc = crc16(buf, 2, n)
        buf[n] = crc >> 8
        buf[n + 1] = crc & 0xFF
        self.n = n + 2
        self.done = True
        return self.n


def encode(ftype, seq, payload=b""):
    """One whole frame as bytes (allocates: for tests and tools, not for the main loop). Raises
    ValueError if the payload is longer than MAX_PAYLOAD."""
    if len(payload) > MAX_PAYLOAD:
        raise ValueError("payload too long")
    writer = Writer()
    writer.begin(ftype, seq)
    writer.copy(payload, 0, len(payload))
    return bytes(writer.buf[:writer.finish()])


class Parser:
    """Accumulates received bytes (``push``) and finds complete frames one at a time (``next``): after
    ``next()`` returned True the frame is in ``ftype``, ``seq`` and ``payload[:plen]``.

    A candidate frame that fails (length over MAX_PAYLOAD, CRC mismatch, or stale when ``next(True)``
    flushes) costs only its first byte: scanning restarts right after it, so a good frame hidden inside
    garbage or behind a truncated frame is still found."""

    def __init__(self):
        self.buf = bytearray(BUFFER_LIMIT)
        self.start = 0  # pending bytes are buf[start:end]
        self.end = 0
        self.payload = bytearray(MAX_PAYLOAD)
        self.plen = 0
        self.ftype = 0
        self.seq = 0
        self.bad = 0        # candidate frames rejected (bad length, CRC or expired)
        self.skipped = 0    # bytes thrown away while looking for a start of frame
        self.good = 0

    def pending(self):
        return self.end - self.start

    def push(self, data, count=-1):
        """Appends the first ``count`` bytes of ``data`` (all of it when -1)."""
        if count < 0:
            count = len(data)
        first = 0
        if count > BUFFER_LIMIT:  # cannot happen with the board's reads; bounds memory anyway
            first = count - BUFFER_LIMIT
            self.skipped += first
        over = self.pending() + count - first - BUFFER_LIMIT
        if over > 0:
            self.start += over
            self.skipped += over
        if self.end + count - first > BUFFER_LIMIT:
            self._compact()
        buf = self.buf
        end = self.end
        for i in range(first, count):
            buf[end] = data[i]
            end += 1
        self.end = end

    def _compact(self):
        buf = self.buf
        start = self.start
        count = self.end - start
        for i in range(count):
            buf[i] = buf[start + i]
        self.start = 0
        self.end = count

    def _consumed(self, start):
        if start >= self.end:
            self.start = 0
            self.end = 0
        else:
            self.start = start

    def next(self, flush=False):
        """True when a frame was found. ``flush``: the line went quiet, so pending bytes can never
        complete a frame: every pending candidate is rejected, one byte at a time, still finding any
        whole frame behind it."""
        buf = self.buf
        end = self.end
        while True:
            start = self.start
            i = start
            while i < end - 1 and not (buf[i] == SOF1 and buf[i + 1] == SOF2):
                i += 1
            if i >= end - 1:
                # Keep a lone trailing 0xA5: it may be the first half of the next start of frame.
                keep = 1 if (end > start and buf[end - 1] == SOF1 and not flush) else 0
                self.skipped += end - start - keep
                self._consumed(end - keep)
                return False
            self.skipped += i - start
            start = i
            self.start = start
            avail = end - start
            length = buf[start + 4] if avail >= HEADER_LEN else 0
            total = HEADER_LEN + length + 2
            complete = avail >= total
            if length > MAX_PAYLOAD or (complete and not _crc_ok(buf, start, total)) or (flush and not complete):
                # Rejected: give up only its first byte, a real frame may start inside it.
                self.bad += 1
                self.start = start + 1
                continue
            if not complete:
                return False
            self.ftype = buf[start + 2]
            self.seq = buf[start + 3]
            self.plen = length
            payload = self.payload
            first = start + HEADER_LEN
            for k in range(length):
                payload[k] = buf[first + k]
            self.good += 1
            self._consumed(start + total)
            return True

    # Convenience for tests and tools (these allocate a list of tuples).

    def feed(self, data):
        """Adds bytes, returns the list of (type, seq, payload) frames now complete. Pushes them a
        frame's length at a time, as the board reads its UART, so any amount may be fed."""
        frames = []
        for start in range(0, len(data), MAX_FRAME):
            self.push(data[start:start + MAX_FRAME])
            frames.extend(self._collect(False))
        return frames

    def expire(self):
        return self._collect(True)

    def _collect(self, flush):
        frames = []
        while self.next(flush):
            frames.append((self.ftype, self.seq, bytes(self.payload[:self.plen])))
        return frames


def _crc_ok(buf, start, total):
    crc = crc16(buf, start + 2, start + total - 2)
    return crc == (buf[start + total - 2] << 8 | buf[start + total - 1])
