"""Remote diagnostics: the terminal's logs for central's ``upload_logs`` as one gzip blob of any length
(contract addendum, "Updates"), read from journald (or a log file), every line masked — ID numbers and
mobile numbers replaced, control characters removed — before it is compressed. The logs must never
hold personal data in the first place (DESIGN §5); the mask is the second line of defence."""
from __future__ import annotations

import logging
import re
import subprocess
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kiosk.audit.privacy import ID_MASK, ID_NUMBER_RE, PHONE_MASK, PHONE_RE

log = logging.getLogger(__name__)

LOG_MIME = "application/gzip"
LINE_MAX = 4096
_CONTROL_RE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")   # tabs stay
_SURROGATE_RE = re.compile("[\ud800-\udfff]")


class LogSourceError(ValueError):
    """The configured log source cannot be read (the message says which and why)."""


@dataclass(frozen=True)
class LogUpload:
    """The compressed, masked logs and what they hold."""

    data: bytes
    lines: int
    source: str


def mask_line(line: str) -> str:
    """One log line safe to leave the terminal: identity numbers masked, one line, at most LINE_MAX."""
    line = _SURROGATE_RE.sub("\ufffd", _CONTROL_RE.sub(" ", line.rstrip("\r\n")))[:LINE_MAX]
    return PHONE_RE.sub(PHONE_MASK, ID_NUMBER_RE.sub(ID_MASK, line))


def read_lines(source: str, since_h: float | None = None) -> Iterator[str]:
    """The log lines of ``source``: ``journal:UNIT`` (journalctl, oldest first), ``file:PATH`` (rotated
    ``PATH.1`` first when present), or "" (nothing). Raises LogSourceError."""
    if not source:
        return iter(())
    kind, _, where = source.partition(":")
    if kind == "file":
        return _file_lines(Path(where))
    if kind == "journal":
        return _journal_lines(where, since_h)
    raise LogSourceError(f"log source {source[:60]!r}: expected journal:UNIT or file:PATH")


def _file_lines(path: Path) -> Iterator[str]:
    paths = [p for p in (path.with_name(path.name + ".1"), path) if p.is_file()]
    if not paths:
        raise LogSourceError(f"no log file at {path}")
    for item in paths:
        with open(item, encoding="utf-8", errors="replace") as handle:
            yield from handle


def _journal_lines(unit: str, since_h: float | None) -> Iterator[str]:
    argv = ["journalctl", "--unit", unit, "--output", "short-iso", "--no-pager", "--quiet"]
    if since_h is not None:
        argv += ["--since", f"-{max(0.0, since_h):g}h"]
    try:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                                text=True, encoding="utf-8", errors="replace")
    except OSError as exc:
        raise LogSourceError(f"journalctl not available: {exc}") from None
    assert proc.stdout is not None
    try:
        yield from proc.stdout
    finally:
        proc.stdout.close()
        proc.wait(30)


def compress_lines(lines: Iterable[str], source: str) -> LogUpload:
    """Masks and gzips ``lines`` as they come (memory holds the compressed result, not the logs)."""
    packer = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    parts: list[bytes] = []
    count = 0
    for line in lines:
        parts.append(packer.compress((mask_line(line) + "\n").encode("utf-8")))
        count += 1
    parts.append(packer.flush())
    return LogUpload(b"".join(parts), count, source)


def collect_logs(source: str, since_h: float | None = None) -> LogUpload:
    """The logs of ``source`` (see read_lines), masked and compressed. Raises LogSourceError."""
    return compress_lines(read_lines(source, since_h), source)


class LogUploader:
    """Collects and queues the logs off the sync engine's thread (a long journal takes a while), one
    upload at a time; the outcome reaches central as a ``logs.uploaded`` event naming the command."""

    def __init__(self, source: str, send_blob: Callable[[bytes, str, str], Any],
                 send_event: Callable[[str, dict[str, Any]], Any]) -> None:
        self.source = source
        self._send_blob, self._send_event = send_blob, send_event
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self, cmd_id: str, since_h: float | None = None) -> tuple[bool, str]:
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return False, "busy: logs are being collected for an earlier command"
            self._thread = threading.Thread(target=self.upload, args=(cmd_id, since_h), name="log-upload",
                                            daemon=True)
            self._thread.start()
        return True, f"collecting logs from {self.source or 'nowhere'}: a logs.uploaded event follows"

    def wait(self, timeout: float) -> bool:
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return thread is None or not thread.is_alive()

    def upload(self, cmd_id: str, since_h: float | None = None) -> None:
        fields: dict[str, Any] = {"cmd_id": cmd_id, "source": self.source}
        try:
            upload = collect_logs(self.source, since_h)
            blob = self._send_blob(upload.data, LOG_MIME, "logs")
            fields.update(blob=blob.ref(), lines=upload.lines)
            log.info("logs queued for central: %d lines, %d bytes compressed", upload.lines, len(upload.data))
        except Exception as exc:  # the source or the storage: central learns why, the service goes on
            log.warning("logs not uploaded: %s", exc)
            fields.update(blob=None, lines=0, error=f"{type(exc).__name__}: {exc}"[:300])
        try:
            self._send_event("logs.uploaded", fields)
        except Exception as exc:
            log.warning("logs.uploaded not queued: %s", exc)
