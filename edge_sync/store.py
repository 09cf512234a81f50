"""The durable SQLite store of edge_sync (WAL, synchronous=FULL): schema, transactions, small
key/value state (epoch, per-kind sequence counters, clock, session heartbeat)."""
from __future__ import annotations

import json
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Any


class Kind(str, Enum):
    """Outbox kinds, one per up topic; each has its own ``seq`` counter."""

    CASE = "case"
    BLOB = "blob"
    EVENT = "event"


class CaseState(str, Enum):
    QUEUED = "queued"       # in the outbox, not yet acked by central
    ACKED = "acked"         # accepted or duplicate
    REJECTED = "rejected"   # central refused it for good: staff must look at it


class BlobState(str, Enum):
    PENDING = "pending"
    STORED = "stored"
    REJECTED = "rejected"


class RowState(str, Enum):
    READY = "ready"         # may be sent
    BLOCKED = "blocked"     # a case waiting for its blobs to be stored


# Every commit writes each page it changes whole into the WAL (and again at the checkpoint): with 1 KiB
# pages a case commit writes about a quarter of what it writes with SQLite's default 4 KiB (bench/
# commit_wear.py: SD-card wear, issue 15). Rows stay within a page; blobs are in 256 KiB overflow chains
# either way. Applies to stores created from now on (a page size cannot change in WAL mode).
PAGE_SIZE = 1024

# Bytes in use (free pages left by purged rows do not count), read in one statement step.
_SIZE_IN_USE = ("SELECT (c.page_count - f.freelist_count) * s.page_size "
                "FROM pragma_page_count() AS c, pragma_freelist_count() AS f, pragma_page_size() AS s")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cases (
  case_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, msg_id TEXT NOT NULL, query_code TEXT NOT NULL,
  created_at TEXT NOT NULL, test INTEGER NOT NULL DEFAULT 0, state TEXT NOT NULL,
  applicant BLOB, lookup TEXT, case_no TEXT, promised_by TEXT, status TEXT, result TEXT,
  detail BLOB, acked_at REAL, purge_after REAL);
-- Partial: a new case (purge_after still NULL) adds no entry, one page fewer written per commit.
CREATE INDEX IF NOT EXISTS cases_purge ON cases(purge_after) WHERE purge_after IS NOT NULL;
CREATE INDEX IF NOT EXISTS cases_query ON cases(query_code);
CREATE TABLE IF NOT EXISTS outbox (
  msg_id TEXT PRIMARY KEY, kind TEXT NOT NULL, seq INTEGER NOT NULL, case_id TEXT,
  body BLOB NOT NULL, created_at REAL NOT NULL, state TEXT NOT NULL, UNIQUE(kind, seq));
CREATE TABLE IF NOT EXISTS blobs (
  blob_id TEXT PRIMARY KEY, ord INTEGER NOT NULL, case_id TEXT, msg_prefix TEXT NOT NULL UNIQUE,
  size INTEGER NOT NULL, sha256 TEXT NOT NULL, mime TEXT NOT NULL, pages INTEGER NOT NULL,
  chunk_size INTEGER, count INTEGER, pubacked TEXT NOT NULL DEFAULT '[]',
  state TEXT NOT NULL, created_at REAL NOT NULL);
-- The (encrypted) bytes live apart: updating a blob's state must not rewrite megabytes.
-- Stored in 256 KiB segments, each sealed on its own, so that sending starts without decrypting it all.
CREATE TABLE IF NOT EXISTS blob_data (
  blob_id TEXT NOT NULL, seg INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (blob_id, seg));
CREATE INDEX IF NOT EXISTS blobs_state ON blobs(state, ord);
CREATE INDEX IF NOT EXISTS blobs_case ON blobs(case_id);
CREATE TABLE IF NOT EXISTS inbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL, kind TEXT NOT NULL, body BLOB,
  received_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS case_views (key TEXT PRIMARY KEY, view BLOB NOT NULL, fetched_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS catalog (
  version INTEGER PRIMARY KEY, manifest TEXT NOT NULL, data BLOB NOT NULL, installed_at REAL NOT NULL,
  state TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS catalog_parts (
  version INTEGER NOT NULL, n INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (version, n));
CREATE TABLE IF NOT EXISTS seen_commands (cmd_id TEXT PRIMARY KEY, seen_at REAL NOT NULL, expires REAL);
CREATE TABLE IF NOT EXISTS push_versions (key TEXT PRIMARY KEY, version INTEGER NOT NULL, at REAL NOT NULL);
"""
# Columns added after the first release: (table, column, declaration).
_ADDED_COLUMNS = (("seen_commands", "expires", "REAL"),)


class Store:
    """One SQLite connection shared by the engine's threads under a lock (writes are serial anyway).

    ``readonly`` opens an existing store for ``kiosk sync status`` without creating anything."""

    def __init__(self, path: Path, readonly: bool = False) -> None:
        self.path = Path(path)
        if readonly:
            if not self.path.exists():
                raise FileNotFoundError(f"no sync store at {self.path}")
            conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False,
                                   isolation_level=None)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            conn.execute(f"PRAGMA page_size={PAGE_SIZE}")     # takes effect only on a new, empty file
            conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA busy_timeout=5000")
        self.conn = conn
        self.lock = threading.RLock()
        self._depth = 0
        self._owner: int | None = None      # the thread inside tx()
        # A read-only or in-memory store reads through its one connection (another would not see it).
        self._one_connection = readonly or str(path) == ":memory:"
        # Reads outside a transaction go through one connection per thread (WAL: readers never wait for
        # the writer), so that a submission never queues behind the drain reading a window of rows.
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        # Submissions are urgent: while one waits or writes, other writers' new transactions and background
        # threads' next steps wait (give_way).
        self._urgent = 0
        self._turn = threading.Condition(threading.Lock())
        self._checkpointer: sqlite3.Connection | None = None
        self._checkpoint_lock = threading.Lock()
        if not readonly:
            _replace_full_purge_index(conn)
            conn.executescript(_SCHEMA)
            for table, column, decl in _ADDED_COLUMNS:
                if column not in {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}:
                    conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {decl}")

    def close(self) -> None:
        with self.lock:
            for reader in self._readers:
                reader.close()
            self._readers.clear()
            with self._checkpoint_lock:
                if self._checkpointer is not None:
                    self._checkpointer.close()
                    self._checkpointer = None
            self.conn.close()

    def checkpoint(self) -> None:
        """Folds the WAL into the database (a passive checkpoint) on a connection of its own, outside the
        write lock: it copies what no reader still needs and never waits, writers go on appending
        meanwhile, and a submission neither holds nor waits for the write lock during its copy and fsync.
        For the drain, whose acks would otherwise be folded by SQLite's autocheckpoint inside a COMMIT
        (a submission's, or an ack batch's a submission waits for)."""
        if self._one_connection:
            return
        with self._checkpoint_lock:
            if self._checkpointer is None:
                conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
                conn.execute("PRAGMA synchronous=FULL")
                self._checkpointer = conn
            try:
                self._checkpointer.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            except sqlite3.OperationalError as exc:
                # Another checkpoint is running (the writer's own, at SQLite's size): this one is not needed.
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise

    @contextmanager
    def urgent(self) -> Iterator[None]:
        """Marks this thread's writes as urgent (a person waits for them): other threads' new
        transactions wait until it is done, and background threads pause at their next step (give_way)."""
        if getattr(self._local, "urgent", False):
            yield
            return
        with self._turn:
            self._urgent += 1
        self._local.urgent = True
        try:
            yield
        finally:
            self._local.urgent = False
            with self._turn:
                self._urgent -= 1
                if not self._urgent:
                    self._turn.notify_all()

    def urgent_waiting(self) -> bool:
        """True while an urgent writer (a submission) waits for the store or writes to it."""
        return self._urgent > 0

    def give_way(self, most_s: float | None = None) -> None:
        """Waits while an urgent writer works: until it is done, or at most ``most_s``. Background threads
        call it before each step of their own, so that a submission runs without them competing for the
        interpreter lock, which each of its statements lets go of and must take back (issue 15). Returns
        at once for the urgent thread itself."""
        if not self._urgent or getattr(self._local, "urgent", False):
            return
        deadline = None if most_s is None else time.monotonic() + most_s
        with self._turn:
            while self._urgent:
                left = 1.0 if deadline is None else deadline - time.monotonic()
                if left <= 0:
                    return
                self._turn.wait(left)

    @contextmanager
    def tx(self, synced: bool = True) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE … COMMIT); nested calls join the outer one.

        ``synced=False`` commits without its own fsync (WAL, synchronous=NORMAL): it survives a crash
        or kill -9 of the process, and the next synced commit or checkpoint makes it power-safe too. Only
        for writes that are redone if lost to a power cut (central's acks: central answers the re-sent
        message as a duplicate), never for a submission."""
        if self._owner != threading.get_ident():
            self.give_way(None)
        with self.lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self.conn
                finally:
                    self._depth -= 1
                return
            if not synced:
                self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute("BEGIN IMMEDIATE")
            self._depth, self._owner = 1, threading.get_ident()
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            else:
                self.conn.execute("COMMIT")
            finally:
                self._depth, self._owner = 0, None
                if not synced:
                    self.conn.execute("PRAGMA synchronous=FULL")

    def _reader(self) -> sqlite3.Connection | None:
        """This thread's read connection; None inside this thread's transaction (it must see its own
        uncommitted writes) and for a read-only store."""
        if self._one_connection or self._owner == threading.get_ident():
            return None
        conn: sqlite3.Connection | None = getattr(self._local, "reader", None)
        if conn is None:
            conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA busy_timeout=5000")
            self._local.reader = conn
            with self.lock:
                self._readers.append(conn)
        return conn

    def query(self, sql: str, params: tuple | dict = ()) -> list[sqlite3.Row]:
        reader = self._reader()
        if reader is not None:
            return reader.execute(sql, params).fetchall()
        with self.lock:
            return self.conn.execute(sql, params).fetchall()

    def scalar(self, sql: str, params: tuple | dict = ()) -> Any:
        reader = self._reader()
        if reader is not None:
            row = reader.execute(sql, params).fetchone()
        else:
            with self.lock:
                row = self.conn.execute(sql, params).fetchone()
        return None if row is None else row[0]

    # -- key/value state ------------------------------------------------------------------------------
    def get(self, key: str, default: Any = None) -> Any:
        value = self.scalar("SELECT value FROM meta WHERE key = ?", (key,))
        return default if value is None else json.loads(value)

    def put(self, key: str, value: Any) -> None:
        with self.tx() as c:
            c.execute("INSERT INTO meta(key, value) VALUES (?, ?) "
                      "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                      (key, json.dumps(value, ensure_ascii=False)))

    def next_seq(self, kind: Kind) -> int:
        """The next ``seq`` of a kind; call inside the transaction that stores the message."""
        with self.tx() as c:
            # One statement: each one lets go of the interpreter lock and must take it back (issue 15).
            row = c.execute("INSERT INTO meta(key, value) VALUES (?, '1') ON CONFLICT(key) DO UPDATE "
                            "SET value = CAST(value AS INTEGER) + 1 RETURNING value", (f"seq.{kind.value}",)).fetchone()
        return int(row[0])

    def bump_epoch(self) -> int:
        """Connection epoch: grows by one for every new connection, persisted before connecting."""
        with self.tx():
            epoch = int(self.get("epoch", 0)) + 1
            self.put("epoch", epoch)
        return epoch

    # -- size policy ----------------------------------------------------------------------------------
    def size_bytes(self) -> int:
        """Bytes in use by the database (free pages left by purged rows do not count)."""
        with self.lock:
            return int(self.conn.execute(_SIZE_IN_USE).fetchone()[0])

    def disk_free_bytes(self) -> int:
        return shutil.disk_usage(self.path.parent).free


def _replace_full_purge_index(conn: sqlite3.Connection) -> None:
    """Stores made before the purge index became partial: drop the full one (the schema makes the new one)."""
    row = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = 'cases_purge'").fetchone()
    if row and "WHERE" not in (row[0] or "").upper():
        conn.execute("DROP INDEX cases_purge")
