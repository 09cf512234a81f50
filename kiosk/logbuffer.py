"""The last few hundred log lines kept in memory, scrubbed of ID and phone numbers, for central's
``upload_logs`` command (the logs themselves go to journald)."""
from __future__ import annotations

import collections
import logging
import threading

from kiosk.audit import sanitize_subject

LINE_MAX = 240


class RecentLog(logging.Handler):
    """A logging handler that keeps the last ``size`` records as scrubbed one-line texts.

    Logs must never hold personal data in the first place (DESIGN privacy rules); the scrub is a second
    line of defence for what leaves the terminal: ID numbers and phone numbers are masked, control
    characters removed, each line cut to ``LINE_MAX`` characters."""

    def __init__(self, size: int = 500, level: int = logging.INFO) -> None:
        super().__init__(level)
        self._lines: collections.deque[str] = collections.deque(maxlen=size)
        self._guard = threading.Lock()
        self._stamp = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.setFormatter(self._stamp)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            # Exceptions are logged by type and message only: tracebacks can quote local values.
            text = f"{self._stamp.formatTime(record)} {record.levelname} {record.name}: {record.getMessage()}"
            line = sanitize_subject(text, "mask")[:LINE_MAX]
        except Exception:  # a log handler must never raise into the code that logs
            return
        with self._guard:
            self._lines.append(line)

    def tail(self, count: int, max_bytes: int = 16 * 1024) -> list[str]:
        """The newest ``count`` lines (oldest first), fewer when they would exceed ``max_bytes`` of UTF-8."""
        with self._guard:
            lines = list(self._lines)[-max(0, count):] if count > 0 else []
        kept: list[str] = []
        size = 0
        for line in reversed(lines):
            size += len(line.encode("utf-8")) + 1
            if size > max_bytes:
                break
            kept.append(line)
        return kept[::-1]
