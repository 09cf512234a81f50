"""Opening the sync store safely: a database that SQLite cannot read, or a device key that does not open
the rows (lost or replaced), must not stop the terminal nor be papered over. The engine then runs on a
store in memory (alarms, health and help still reach central while online), refuses new cases, and
``kiosk sync recover`` repairs the files."""
from __future__ import annotations

import logging
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag

from edge_sync.crypto import DeviceKey
from edge_sync.health import StoreState
from edge_sync.store import Store

log = logging.getLogger("edge_sync.integrity")

KEY_CHECK = "key.check"
KEY_CHECK_LABEL = "edge_sync device key check"
RECOVER_COMMAND = "kiosk sync recover"
# Tables whose rows are sealed with the device key, with the column and the associated data of one row.
SEALED = (("cases", "applicant", "case_id"), ("outbox", "body", "msg_id"), ("case_views", "view", "key"))


class KeyLost(Exception):
    """The device key file is missing or is not the key the store's rows were sealed with."""


@dataclass
class OpenedStore:
    store: Store
    key: DeviceKey
    state: StoreState
    problem: str = ""        # for the technician: what is wrong and which command repairs it


def is_corrupt(exc: BaseException) -> bool:
    """SQLite says the file is not a database or is malformed (not: busy, full, read-only)."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
        return True
    text = str(exc).lower()
    return isinstance(exc, sqlite3.DatabaseError) and ("malformed" in text or "not a database" in text)


def check_database(path: Path) -> str | None:
    """Why the database at ``path`` cannot be trusted, or None (also None when it does not exist)."""
    if not path.exists():
        return None
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = conn.execute("PRAGMA quick_check").fetchall()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        return f"{type(exc).__name__}: {exc}"
    problems = [str(r[0]) for r in rows if r[0] != "ok"]
    return "; ".join(problems[:3]) if problems else None


def key_opens(store: Store, key: DeviceKey) -> bool:
    """True when ``key`` opens a sealed row of the store (or there is none to try)."""
    for table, column, context in SEALED:
        rows = store.query(f"SELECT {column}, {context} FROM {table} WHERE {column} IS NOT NULL LIMIT 1")
        if rows:
            try:
                key.open(rows[0][0], str(rows[0][1]).encode())
            except (InvalidTag, ValueError):
                return False
            return True
    return True


def has_sealed_rows(store: Store) -> bool:
    return any(store.scalar(f"SELECT 1 FROM {table} LIMIT 1") for table, _, _ in SEALED)


def check_key(store: Store, key_path: Path, record: bool = True) -> DeviceKey:
    """The device key for ``store``: loaded, or created when the store holds nothing sealed yet (and
    ``record``: its check value written to the store). Raises KeyLost when the file is gone while
    sealed rows exist, or when it does not open them."""
    check = store.get(KEY_CHECK)
    if not key_path.exists():
        if check is not None or has_sealed_rows(store):
            raise KeyLost(f"device key {key_path} is missing but the store holds rows sealed with it")
        key = DeviceKey.load_or_create(key_path)
    else:
        key = DeviceKey.load_or_create(key_path)
    mine = key.lookup_id(KEY_CHECK_LABEL)
    if check is not None and check != mine:
        raise KeyLost(f"device key {key_path} is not the key the store was sealed with")
    if check is None:
        if not key_opens(store, key):
            raise KeyLost(f"device key {key_path} does not open the store's rows")
        if record:
            store.put(KEY_CHECK, mine)
    return key


def open_store(db_path: Path, key_path: Path) -> OpenedStore:
    """The store and key to run with. Never raises for a damaged database or a lost key: those give a
    store in memory (its epoch starts from the clock, above any epoch the device used before) and a
    throw-away key, with the state and the problem set."""
    # The whole file is checked in the background once running (check_database): a start must stay fast.
    state = StoreState.CORRUPT
    try:
        store = Store(db_path)
    except sqlite3.DatabaseError as exc:
        if not is_corrupt(exc):
            raise
        problem = f"{type(exc).__name__}: {exc}"
    else:
        try:
            return OpenedStore(store, check_key(store, key_path), StoreState.OK)
        except KeyLost as exc:
            store.close()
            problem, state = str(exc), StoreState.KEY_LOST
        except sqlite3.DatabaseError as exc:
            store.close()
            if not is_corrupt(exc):
                raise
            problem = f"{type(exc).__name__}: {exc}"
    log.error("sync store unusable (%s): running without it, new cases refused; repair with `%s`",
              problem, RECOVER_COMMAND)
    memory = Store(Path(":memory:"))
    memory.put("epoch", int(time.time()))
    return OpenedStore(memory, DeviceKey(os.urandom(32)), state,
                       f"{problem}; run `{RECOVER_COMMAND}`")
