"""What the services must remember across a restart, in ``<data_dir>/services.db``, every row sealed with
the device key (`edge_sync.crypto.DeviceKey`, AES-GCM bound to the row): notices for reprinting (matched by
a keyed hash of the holder's ID number or by the submitting agent), the services already evaluated (one
好差评 each) and the agents' offline day tokens. Without a data dir or a key it keeps them in memory only."""
from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag

from edge_sync.crypto import DeviceKey
from kiosk.services.notice import Notice
from kiosk.session import AgentLogin

log = logging.getLogger(__name__)
KEEP_S = 7 * 86400        # reprint records: the local retention of DESIGN §5
MAX_NOTICES = 5000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS notices (query_code TEXT PRIMARY KEY, holder TEXT NOT NULL, agent TEXT,
  body BLOB NOT NULL, kept_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS notices_holder ON notices(holder, kept_at);
CREATE TABLE IF NOT EXISTS evaluated (ref TEXT PRIMARY KEY, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS agent_logins (key TEXT PRIMARY KEY, body BLOB NOT NULL, expires REAL NOT NULL);
"""


class ServiceRecords:
    """Thread-safe; a row that no longer opens (damaged, or another key) is skipped and logged once."""

    def __init__(self, path: Path | None = None, key: DeviceKey | None = None) -> None:
        self._key = key or DeviceKey(os.urandom(32))
        self._lock = threading.Lock()
        self.persistent = path is not None and key is not None
        self._db = sqlite3.connect(str(path) if self.persistent else ":memory:", check_same_thread=False,
                                   isolation_level=None)
        self._db.execute("PRAGMA busy_timeout=5000")
        if self.persistent:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            os.chmod(str(path), 0o600)
        self._db.executescript(_SCHEMA)
        self._warned = False

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def holder_key(self, id_number: str) -> str:
        return self._key.lookup_id("notice-holder", id_number)

    def _write(self, sql: str, params: tuple[Any, ...]) -> None:
        with self._lock:
            self._db.execute(sql, params)

    def _open(self, sealed: bytes, context: str) -> Any:
        try:
            return self._key.open_json(sealed, context.encode())
        except (InvalidTag, ValueError) as exc:
            if not self._warned:
                self._warned = True
                log.error("a service record does not open with this device key (%s); skipped",
                          type(exc).__name__)
            return None

    # Notices ----------------------------------------------------------------------------------------
    def keep_notice(self, notice: Notice, holder_id: str, agent_id: str | None) -> None:
        """One row per case of the notice; raises sqlite3.Error (the caller logs it: printing goes on)."""
        now = time.time()
        holder = self.holder_key(holder_id)
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for code in notice.query_codes:
                    body = self._key.seal_json(notice.to_record(), f"notice:{code}".encode())
                    self._db.execute("INSERT OR REPLACE INTO notices VALUES (?,?,?,?,?)",
                                     (code, holder, agent_id, body, now))
                self._db.execute("DELETE FROM notices WHERE kept_at < ?", (now - KEEP_S,))
                self._db.execute("DELETE FROM notices WHERE query_code NOT IN (SELECT query_code FROM notices "
                                 "ORDER BY kept_at DESC LIMIT ?)", (MAX_NOTICES,))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def find_notice(self, query_code: str, holder_id: str | None, agent_id: str | None) -> Notice | None:
        """The notice of ``query_code`` if the card holder is its applicant or the agent submitted it."""
        with self._lock:
            row = self._db.execute("SELECT holder, agent, body FROM notices WHERE query_code = ?",
                                   (query_code,)).fetchone()
        if row is None:
            return None
        holder, agent, body = row
        mine = (holder_id is not None and holder == self.holder_key(holder_id)) or \
            (agent_id is not None and agent == agent_id)
        record = self._open(body, f"notice:{query_code}") if mine else None
        if record is None:
            return None
        try:
            return Notice.from_record(record)
        except ValueError as exc:
            log.error("reprint record of another version skipped: %s", exc)
            return None

    def notices_for_holder(self, holder_id: str) -> list[Notice]:
        """The notices of this card holder kept here, newest first (one per submission)."""
        with self._lock:
            rows = self._db.execute("SELECT query_code, body FROM notices WHERE holder = ? ORDER BY kept_at DESC",
                                    (self.holder_key(holder_id),)).fetchall()
        out: list[Notice] = []
        seen: set[str] = set()
        for code, body in rows:
            if code in seen:
                continue
            record = self._open(body, f"notice:{code}")
            try:
                notice = Notice.from_record(record) if record is not None else None
            except ValueError:
                notice = None
            if notice is not None:
                seen.update(notice.query_codes)
                out.append(notice)
        return out

    # Evaluations ------------------------------------------------------------------------------------
    def _ref(self, kind: str, ref: str) -> str:
        return self._key.lookup_id("evaluated", kind, ref)

    def evaluated(self, kind: str, ref: str) -> bool:
        with self._lock:
            return self._db.execute("SELECT 1 FROM evaluated WHERE ref = ?", (self._ref(kind, ref),)).fetchone() \
                is not None

    def mark_evaluated(self, kind: str, ref: str) -> bool:
        """False when this service was evaluated before (on this terminal)."""
        with self._lock:
            cur = self._db.execute("INSERT OR IGNORE INTO evaluated VALUES (?, ?)", (self._ref(kind, ref), time.time()))
            return cur.rowcount == 1

    def forget_evaluation(self, kind: str, ref: str) -> None:
        """The evaluation could not be stored for central after all: it may be given again."""
        self._write("DELETE FROM evaluated WHERE ref = ?", (self._ref(kind, ref),))

    # Agent day tokens -------------------------------------------------------------------------------
    def login_key(self, agent_id: str, id_no: str, pin: str) -> str:
        """A keyed hash of (agent, card, PIN): an offline login must match all three."""
        return self._key.lookup_id("agent-login", agent_id, id_no, pin)

    def keep_agent_login(self, key: str, login: AgentLogin, expires: float, now: float) -> None:
        """``expires`` and ``now`` in epoch seconds of the caller's trusted clock (tokens past it are purged)."""
        body = self._key.seal_json({"agent_id": login.agent_id, "name": login.name, "token": login.token,
                                    "villages": login.villages, "expires_at": login.expires_at},
                                   f"agent:{key}".encode())
        with self._lock:
            self._db.execute("DELETE FROM agent_logins WHERE expires < ?", (now,))
            self._db.execute("INSERT OR REPLACE INTO agent_logins VALUES (?,?,?)", (key, body, expires))

    def agent_login(self, key: str) -> AgentLogin | None:
        """The kept login for this key (the caller judges its expiry against its trusted clock)."""
        with self._lock:
            row = self._db.execute("SELECT body FROM agent_logins WHERE key = ?", (key,)).fetchone()
        data = self._open(row[0], f"agent:{key}") if row else None
        if not isinstance(data, dict):
            return None
        try:
            return AgentLogin(agent_id=str(data["agent_id"]), name=str(data["name"]), token=str(data["token"]),
                              villages=[str(v) for v in data["villages"]], expires_at=str(data["expires_at"]))
        except (KeyError, TypeError):
            return None


def open_records(data_dir: Path | None, key: DeviceKey | None) -> ServiceRecords:
    """The persistent records in ``data_dir`` when both a data dir and the device key exist, else in memory."""
    if data_dir is None or key is None:
        return ServiceRecords()
    try:
        return ServiceRecords(data_dir / "services.db", key)
    except (OSError, sqlite3.Error) as exc:
        log.error("service records not persistent (%s): reprints and offline agent logins last until restart",
                  exc)
        return ServiceRecords()


def dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
