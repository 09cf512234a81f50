"""The terminal's append-only audit log in its own SQLite file (WAL, synchronous=FULL): append, verify,
and the shipping cursor that lets the application send records to central as ``audit`` events (§7)."""
from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Callable
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Any

from kiosk.audit.chain import GENESIS, Record, VerifyResult, make_record, verify_chain
from kiosk.audit.privacy import OnIdentity, sanitize_subject

ACTION_RE = re.compile(r"^[a-z][a-z0-9_.-]{0,63}$")
CARD_READ_SUBJECT = "card read"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY, at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
    subject TEXT NOT NULL, prev TEXT NOT NULL, hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS audit_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class AuditAction(str, Enum):
    """The actions the design names (DESIGN §5, issue 7); other lower-case dotted names are accepted too."""

    SESSION_START = "session.start"
    SESSION_END = "session.end"
    CARD_READ = "card.read"
    CASE_SUBMIT = "case.submit"
    PRINT = "print"
    AGENT_LOGIN = "agent.login"
    AGENT_LOGOUT = "agent.logout"
    MAINTENANCE = "maintenance"
    COMMAND = "cmd.executed"
    TAMPER = "tamper"


def local_now() -> datetime:
    return datetime.now().astimezone()


class AuditLog:
    """``AuditLog(path)`` opens or creates the log; thread-safe; ``close()`` or use as a context manager.

    Raises sqlite3.Error when the file cannot be opened (``readonly=True``: when it does not exist)."""

    def __init__(self, path: str | Path, clock: Callable[[], datetime] = local_now, readonly: bool = False) -> None:
        self.path = Path(path)
        self._clock = clock
        self._lock = threading.Lock()
        if readonly:
            self._db = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True,
                                       check_same_thread=False, isolation_level=None)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        self._db.row_factory = sqlite3.Row
        self._db.text_factory = _decode_text

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(self, *_exc: Any) -> None:
        self.close()

    # -- writing ----------------------------------------------------------------------------------
    def append(self, actor: str, action: AuditAction | str, subject: str = "",
               on_identity: OnIdentity | str = OnIdentity.RAISE) -> Record:
        """Appends one record, durable on return, and returns it.

        ``actor`` is a role or an id that is not a person's identity (``citizen``, ``agent:AG-0031``,
        ``central``); ``subject`` says what was acted on (case id, query code, ``card read``).
        Raises IdentityInSubject when either holds an ID or phone number (unless ``on_identity="mask"``),
        ValueError on a malformed action, sqlite3.Error on storage failure."""
        action = action.value if isinstance(action, AuditAction) else str(action)
        if not ACTION_RE.fullmatch(action):
            raise ValueError(f"audit action {action!r}: lower-case letters, digits, '.', '_', '-'")
        actor = sanitize_subject(actor, on_identity)
        subject = sanitize_subject(subject, on_identity)
        at = self._clock().isoformat(timespec="milliseconds")
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                seq, prev = self._head()
                record = make_record(seq + 1, at, actor, action, subject, prev)
                self._db.execute("INSERT INTO audit VALUES (:seq, :at, :actor, :action, :subject, :prev, :hash)",
                                 record.to_dict())
                self._set_meta("head", f"{record.seq}:{record.hash}")
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return record

    def card_read(self, actor: str = "citizen") -> Record:
        """Records that a card was read: never its content."""
        return self.append(actor, AuditAction.CARD_READ, CARD_READ_SUBJECT)

    # -- reading and checking ---------------------------------------------------------------------
    def records(self, after_seq: int = 0, limit: int | None = None) -> list[Record]:
        """Records with seq > ``after_seq`` in order, at most ``limit``."""
        sql = "SELECT seq, at, actor, action, subject, prev, hash FROM audit WHERE seq > ? ORDER BY seq"
        params: tuple[Any, ...] = (after_seq,)
        if limit is not None:
            sql += " LIMIT ?"
            params += (int(limit),)
        with self._lock:
            rows = self._db.execute(sql, params).fetchall()
        return [Record(**dict(row)) for row in rows]

    def verify(self) -> VerifyResult:
        """Checks the whole chain and the recorded head. Never raises on tampered data: it reports it."""
        with self._lock:
            rows = [dict(r) for r in self._db.execute(
                "SELECT seq, at, actor, action, subject, prev, hash FROM audit ORDER BY seq")]
            head = self._meta("head")
        return verify_chain(rows, _parse_head(head))

    # -- shipping to central as `audit` events ----------------------------------------------------
    def pending_batch(self, max_records: int = 100) -> list[dict[str, Any]]:
        """The oldest records not yet marked shipped, as dicts ready for ``{"records": [...]}``."""
        shipped = int(self._locked_meta("shipped") or 0)
        return [r.to_dict() for r in self.records(after_seq=shipped, limit=max_records)]

    def mark_shipped(self, upto_seq: int) -> int:
        """Moves the shipping cursor to ``upto_seq`` (never backwards, never past the head); returns it.
        Call it once the sync engine has taken the event durably (``send_event`` returned)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                head_seq, _ = self._head()
                shipped = max(int(self._meta("shipped") or 0), min(int(upto_seq), head_seq))
                self._set_meta("shipped", str(shipped))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return shipped

    def ship(self, send_event: Callable[[str, dict[str, Any]], Any], max_records: int = 100) -> int:
        """Sends one batch through ``send_event("audit", {"records": [...]})`` (edge_sync's durable
        ``SyncEngine.send_event``) and marks it shipped; returns how many records went.
        Exceptions of ``send_event`` (StorageFull …) propagate and leave the cursor where it was."""
        batch = self.pending_batch(max_records)
        if not batch:
            return 0
        send_event("audit", {"records": batch})
        self.mark_shipped(batch[-1]["seq"])
        return len(batch)

    # -- internals (callers hold the lock) --------------------------------------------------------
    def _head(self) -> tuple[int, str]:
        # Chain from the recorded head, not from the last row: after records were cut off the end, the
        # next record then leaves a visible gap instead of papering over the cut.
        row = self._db.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        rows_head = (row["seq"], row["hash"]) if row else (0, GENESIS)
        recorded = _parse_head(self._meta("head"))
        return recorded if recorded[0] >= rows_head[0] else rows_head

    def _meta(self, name: str) -> str | None:
        row = self._db.execute("SELECT value FROM audit_meta WHERE name = ?", (name,)).fetchone()
        return row["value"] if row else None

    def _locked_meta(self, name: str) -> str | None:
        with self._lock:
            return self._meta(name)

    def _set_meta(self, name: str, value: str) -> None:
        self._db.execute("INSERT INTO audit_meta(name, value) VALUES (?, ?) "
                         "ON CONFLICT(name) DO UPDATE SET value = excluded.value", (name, value))


def _decode_text(raw: bytes) -> str | bytes:
    # Text that is not UTF-8 (written behind the log's back) stays bytes: verify() reports it as malformed
    # instead of failing to read the table.
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw


def _parse_head(text: str | None) -> tuple[int, str]:
    """The recorded head; a missing or garbled one counts as an empty log, so rows beyond it show up."""
    if not isinstance(text, str) or ":" not in text:
        return 0, GENESIS
    seq, _, digest = text.partition(":")
    return (int(seq), digest) if seq.isdigit() else (0, GENESIS)
