"""The board's events on their way to the Pi: a fixed ring of (kind, value), the head in flight with a
seq fixed once sent and sent again every ``event_retry`` until acknowledged. Allocates nothing."""


class EventQueue:
    def __init__(self, size, now):
        self.size = size
        self.kinds = bytearray(size)
        self.values = bytearray(size)
        self.head = 0
        self.count = 0
        self.seq = -1          # the head's seq once it was sent (a repeat keeps it)
        self.sent = False
        self.sent_at = now
        self.dropped = 0

    def push(self, kind, value):
        size = self.size  # one name each: unpacking four at once would build a tuple
        kinds = self.kinds
        values = self.values
        head = self.head
        if self.count >= size:
            # Keep the one in flight (its seq may be acked any moment); lose the oldest waiting one.
            for i in range(1, size - 1):
                to, fro = (head + i) % size, (head + i + 1) % size
                kinds[to] = kinds[fro]
                values[to] = values[fro]
            self.count -= 1
            self.dropped += 1
        slot = (head + self.count) % size
        kinds[slot] = kind
        values[slot] = value
        self.count += 1

    def acknowledged(self, ref):
        """An ACK with ``ref`` arrived: True (and the head is gone) when it was for the head."""
        if not self.count or self.seq != ref:
            return False
        self.head = (self.head + 1) % self.size
        self.count -= 1
        self.seq = -1
        self.sent = False
        return True

    def due(self, now, clock, retry_ms):
        """Whether the head must go (again) now."""
        return self.count > 0 and (not self.sent or clock.ticks_diff(now, self.sent_at) >= retry_ms)

    def mark_sent(self, now):
        self.sent = True
        self.sent_at = now
