"""``kiosk sync recover``: repairs a sync store that SQLite cannot read or whose device key is lost.
The damaged files are moved to ``<data_dir>/quarantine/<time>/`` untouched; a new store gets every row
that can still be read (and, without the key, every row that is not sealed with it); the report says
what was kept and what stays in quarantine. Run it with the terminal stopped."""
from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from edge_sync.crypto import DeviceKey
from edge_sync.integrity import KEY_CHECK, KEY_CHECK_LABEL, key_opens
from edge_sync.store import Store

# Copied in this order; sealed tables only when the device key opens them.
TABLES = ("meta", "catalog", "catalog_parts", "seen_commands", "cases", "outbox", "blobs", "blob_data", "inbox",
          "case_views")
SEALED_TABLES = frozenset({"cases", "outbox", "blobs", "blob_data", "inbox", "case_views"})
MAX_JUMP = 1 << 62


@dataclass
class TableReport:
    copied: int = 0
    unreadable_ranges: int = 0     # stretches of rows skipped because their pages could not be read
    left_in_quarantine: bool = False


@dataclass
class RecoveryReport:
    quarantine: str
    key: str                      # ok | lost (a new key was made; sealed rows stay in quarantine)
    tables: dict[str, TableReport] = field(default_factory=dict)
    queued_cases: int = 0
    queued_cases_without_message: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def recover(data_dir: Path, db_name: str = "sync.db", key_name: str = "sync.key") -> RecoveryReport:
    """Moves the store (and a key that does not open it) to quarantine and builds a new store from what
    can be read. Raises FileNotFoundError when there is no store to recover."""
    db_path, key_path = data_dir / db_name, data_dir / key_name
    if not db_path.exists():
        raise FileNotFoundError(f"no sync store at {db_path}")
    quarantine = data_dir / "quarantine" / time.strftime("%Y%m%d-%H%M%S")
    quarantine.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        part = db_path.with_name(db_path.name + suffix)
        if part.exists():
            part.rename(quarantine / part.name)
    old = _open_readonly(quarantine / db_path.name)
    key, key_state = _usable_key(old, key_path, quarantine)
    report = RecoveryReport(quarantine=str(quarantine), key=key_state)
    new = Store(db_path)
    try:
        for table in TABLES:
            kept = report.tables[table] = TableReport()
            if table in SEALED_TABLES and key_state != "ok":
                kept.left_in_quarantine = True
            elif old is not None:
                _copy_table(old, new, table, kept)
            else:
                kept.left_in_quarantine = True
        _repair_counters(new)
        new.put(KEY_CHECK, DeviceKey.load_or_create(key_path).lookup_id(KEY_CHECK_LABEL))
        report.queued_cases = int(new.scalar("SELECT COUNT(*) FROM cases WHERE state = 'queued'") or 0)
        report.queued_cases_without_message = int(new.scalar(
            "SELECT COUNT(*) FROM cases WHERE state = 'queued' AND case_id NOT IN "
            "(SELECT case_id FROM outbox WHERE case_id IS NOT NULL)") or 0)
    finally:
        new.close()
        if old is not None:
            old.close()
    (quarantine / "recovery.json").write_text(json.dumps(report.to_dict(), ensure_ascii=False, indent=1), "utf-8")
    del key
    return report


def _open_readonly(path: Path) -> sqlite3.Connection | None:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        conn.execute("SELECT COUNT(*) FROM sqlite_schema").fetchone()
        return conn
    except sqlite3.DatabaseError:
        return None


def _usable_key(old: sqlite3.Connection | None, key_path: Path, quarantine: Path) -> tuple[DeviceKey | None, str]:
    """The existing key when it opens the old rows; otherwise it goes to quarantine (a new one is made)."""
    if not key_path.exists() or old is None:
        return None, "lost" if old is not None and _has_sealed(old) else "ok"
    key = DeviceKey.load_or_create(key_path)
    probe = _ProbeStore(old)
    try:
        check = old.execute("SELECT value FROM meta WHERE key = ?", (KEY_CHECK,)).fetchone()
    except sqlite3.DatabaseError:
        check = None
    matches = json.loads(check[0]) == key.lookup_id(KEY_CHECK_LABEL) if check else key_opens(probe, key)  # type: ignore[arg-type]
    if matches:
        return key, "ok"
    key_path.rename(quarantine / key_path.name)
    return None, "lost"


def _has_sealed(conn: sqlite3.Connection) -> bool:
    for table in ("cases", "outbox", "case_views"):
        try:
            if conn.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone():
                return True
        except sqlite3.DatabaseError:
            return True      # cannot tell: treat as holding sealed rows (never make a key silently)
    return False


class _ProbeStore:
    """The two read methods :func:`key_opens` uses, over a read-only connection."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        try:
            return self.conn.execute(sql, params).fetchall()
        except sqlite3.DatabaseError:
            return []


def _copy_table(old: sqlite3.Connection, new: Store, table: str, part: TableReport) -> None:
    """Every readable row, by rowid; a stretch that cannot be read is skipped with growing jumps."""
    try:
        columns = [r[1] for r in old.execute(f"PRAGMA table_info({table})")]
    except sqlite3.DatabaseError:
        part.left_in_quarantine = True
        return
    if not columns:
        return
    wanted = [c for c in columns if c in {r[1] for r in new.query(f"PRAGMA table_info({table})")}]
    names = ",".join(wanted)
    insert = f"INSERT OR IGNORE INTO {table}({names}) VALUES ({','.join('?' * len(wanted))})"
    last, jump, failed = -MAX_JUMP, 1, False
    while last < MAX_JUMP:
        try:
            rows = old.execute(f"SELECT rowid, {names} FROM {table} WHERE rowid > ? ORDER BY rowid LIMIT 500",
                               (last,)).fetchall()
        except sqlite3.DatabaseError:
            if not failed:
                part.unreadable_ranges += 1
            failed = True
            last, jump = max(last, 0) + jump, jump * 2
            continue
        failed, jump = False, 1
        if not rows:
            break
        with new.tx() as c:
            c.executemany(insert, [tuple(r[1:]) for r in rows])
        part.copied += len(rows)
        last = rows[-1][0]
    if part.unreadable_ranges:
        part.left_in_quarantine = True


def _repair_counters(store: Store) -> None:
    """Sequence counters and the epoch at least as high as the rows kept (a lost meta row starts over)."""
    for key, sql in (("seq.case", "SELECT MAX(seq) FROM cases"),
                     ("seq.event", "SELECT MAX(seq) FROM outbox WHERE kind = 'event'"),
                     ("seq.blob", "SELECT MAX(ord) FROM blobs")):
        found = int(store.scalar(sql) or 0)
        if int(store.get(key, 0)) < found:
            store.put(key, found)
    # Above any epoch of before, even when meta was lost: central ignores wills older than the last birth.
    store.put("epoch", max(int(store.get("epoch", 0)), int(time.time())))
