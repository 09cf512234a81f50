"""Central's SQLite store, shared by every central instance that runs on the same file.

Tables (all times RFC 3339 +08:00 unless said otherwise):

- ``messages``   one row per up message with a final outcome: ``msg_id`` (primary key), ``device``,
  ``kind`` (case/event/blob), ``seq``, ``result`` (accepted/rejected/stored…), ``detail`` (JSON of the
  first ack's detail), ``received_at``. Deduplication by msg_id reads this table.
- ``cases``      one row per accepted case: ``recv_order`` (INTEGER PRIMARY KEY AUTOINCREMENT: the
  order central received cases in, across devices and instances), ``case_id`` (unique), ``msg_id``,
  ``device``, ``seq``, ``case_no`` (unique), ``query_code``, ``site``, ``item_code``, ``situation``,
  ``channel``, ``applicant_key`` (sha256 of id_type:id_no — the ID number itself is not kept),
  ``applicant_name``, ``applicant_phone``, ``agent_id``, ``envelope`` (JSON without id_no),
  ``received_at``, ``promised_by``, ``timeline`` (JSON: planned step times and notify events),
  ``notified`` (events already pushed), ``next_at`` (simulated epoch seconds of the next event, NULL
  when none), ``status``, ``forced_status``, ``forced_at``.
- ``blob_chunks`` chunks of attachments not yet whole: (``blob_id``, ``idx``) primary key, ``count``,
  ``size``, ``sha256``, ``mime``, ``data``.
- ``blobs``      whole attachments whose sha256 matched: ``blob_id`` primary key, ``device``, ``size``,
  ``sha256``, ``mime``, ``data``, ``stored_at``.
- ``events``     ``id`` autoincrement, ``msg_id`` unique, ``device``, ``seq``, ``type``, ``payload``
  (JSON), ``received_at``.
- ``devices``    birth/will state: ``device`` primary key, ``online``, ``epoch``, ``birth_epoch``,
  ``payload`` (last accepted state JSON), ``updated_at``.
- ``tickets``    queue numbers: ``day``, ``category``, ``priority``, ``n``, ``number``, ``device``,
  ``cases``, ``issued_at``.
- ``meta``       counters (``case_counter``) and the schema version.
- ``device_seq`` the highest case ``seq`` decided per device (central keeps each device's order).
- ``catalog_pubs`` one row per catalog version ever published: ``version``, ``sha256``, ``parts``,
  ``publisher`` (the instance that published it), ``published_at`` (epoch s), ``cleared`` (1 once its
  retained parts were removed from the broker).
- ``registry``   device → site from the device registry (``--registry``): per-hall queue numbers.
- ``pending_cases`` cases parked for the instance that owns their device, or until an earlier seq comes
  (sequencer.py): ``device``, ``seq``, ``msg_id``, ``payload``, ``parked_at``.
- ``central_instances`` the live instances' heartbeats (``instance``, ``seen_at``): who owns which device.
- ``cases.pushes`` counts the status pushes of a case: the ``version`` of the next one.

Tables of the contract addendum "Services" (docs/contract-addendum.md):

- ``evaluations`` one 好差评 per service: ``msg_id`` unique, ``device``, ``service_kind``, ``service_ref``
  (unique together: one evaluation per service, whichever terminal sends it), ``level``, ``reasons`` (JSON),
  ``comment``, ``callback_phone``, ``channel``, ``agent_id``, ``received_at``.
- ``complaints`` 催办 / 投诉: ``receipt_no`` primary key, ``kind``, ``case_id``, ``device``, ``category``,
  ``text``, ``agent_id``, ``callback_phone``, ``received_at``.
- ``bundles``    一件事一次办 links: (``bundle_id``, ``case_id``) primary key, ``query_code``, ``bundle_code``,
  ``bundle_name``, ``device``.
- ``corrections`` requested 补正 materials: (``case_id``, ``code``) primary key, ``name``, ``note``,
  ``requested_at``, and once answered ``correction_id``, ``msg_id``, ``answered_at``.

Writers take ``BEGIN IMMEDIATE`` so that two processes never both decide that a message is new. The
same functions run on PostgreSQL through ``store_pg`` (a ``postgresql://`` database): see there.
"""
from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS messages (
    msg_id TEXT PRIMARY KEY, device TEXT NOT NULL, kind TEXT NOT NULL, seq INTEGER,
    result TEXT NOT NULL, detail TEXT NOT NULL, received_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cases (
    recv_order INTEGER PRIMARY KEY AUTOINCREMENT, case_id TEXT NOT NULL UNIQUE, msg_id TEXT NOT NULL,
    device TEXT NOT NULL, seq INTEGER, case_no TEXT NOT NULL UNIQUE, query_code TEXT NOT NULL,
    site TEXT, item_code TEXT, situation TEXT, channel TEXT, applicant_key TEXT, applicant_name TEXT,
    applicant_phone TEXT, agent_id TEXT, envelope TEXT NOT NULL, received_at TEXT NOT NULL,
    promised_by TEXT, timeline TEXT NOT NULL, notified INTEGER NOT NULL DEFAULT 0, next_at REAL,
    status TEXT NOT NULL, forced_status TEXT, forced_at TEXT, pushes INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS cases_query_code ON cases(query_code);
CREATE INDEX IF NOT EXISTS cases_applicant ON cases(applicant_key);
CREATE INDEX IF NOT EXISTS cases_next_at ON cases(next_at) WHERE next_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS cases_device ON cases(device, recv_order);
CREATE TABLE IF NOT EXISTS blob_chunks (
    blob_id TEXT NOT NULL, idx INTEGER NOT NULL, count INTEGER NOT NULL, size INTEGER NOT NULL,
    sha256 TEXT NOT NULL, mime TEXT, data BLOB NOT NULL, PRIMARY KEY (blob_id, idx));
CREATE TABLE IF NOT EXISTS blobs (
    blob_id TEXT PRIMARY KEY, device TEXT NOT NULL, size INTEGER NOT NULL, sha256 TEXT NOT NULL,
    mime TEXT, data BLOB NOT NULL, stored_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, msg_id TEXT NOT NULL UNIQUE, device TEXT NOT NULL,
    seq INTEGER, type TEXT NOT NULL, payload TEXT NOT NULL, received_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS devices (
    device TEXT PRIMARY KEY, online INTEGER NOT NULL, epoch INTEGER NOT NULL, birth_epoch INTEGER,
    payload TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tickets (
    id INTEGER PRIMARY KEY AUTOINCREMENT, day TEXT NOT NULL, category TEXT NOT NULL,
    priority TEXT NOT NULL, n INTEGER NOT NULL, number TEXT NOT NULL, device TEXT NOT NULL,
    cases INTEGER NOT NULL, issued_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS tickets_day ON tickets(day, category, priority);
CREATE TABLE IF NOT EXISTS evaluations (
    id INTEGER PRIMARY KEY AUTOINCREMENT, msg_id TEXT NOT NULL UNIQUE, device TEXT NOT NULL,
    service_kind TEXT NOT NULL, service_ref TEXT NOT NULL, level INTEGER NOT NULL, reasons TEXT NOT NULL,
    comment TEXT NOT NULL, callback_phone TEXT, channel TEXT, agent_id TEXT, received_at TEXT NOT NULL,
    UNIQUE (service_kind, service_ref));
CREATE TABLE IF NOT EXISTS complaints (
    receipt_no TEXT PRIMARY KEY, kind TEXT NOT NULL, case_id TEXT NOT NULL, device TEXT NOT NULL,
    category TEXT NOT NULL, text TEXT NOT NULL, agent_id TEXT, callback_phone TEXT, received_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS bundles (
    bundle_id TEXT NOT NULL, case_id TEXT NOT NULL, query_code TEXT NOT NULL, bundle_code TEXT NOT NULL,
    bundle_name TEXT NOT NULL, device TEXT NOT NULL, PRIMARY KEY (bundle_id, case_id));
CREATE INDEX IF NOT EXISTS bundles_case ON bundles(case_id);
CREATE TABLE IF NOT EXISTS corrections (
    case_id TEXT NOT NULL, code TEXT NOT NULL, name TEXT NOT NULL, note TEXT NOT NULL, requested_at TEXT NOT NULL,
    correction_id TEXT, msg_id TEXT, answered_at TEXT, PRIMARY KEY (case_id, code));
CREATE INDEX IF NOT EXISTS corrections_answer ON corrections(correction_id);
CREATE TABLE IF NOT EXISTS device_seq (device TEXT PRIMARY KEY, seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS catalog_pubs (
    version INTEGER PRIMARY KEY, sha256 TEXT NOT NULL, parts INTEGER NOT NULL, publisher TEXT NOT NULL,
    published_at REAL NOT NULL, cleared INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS registry (device TEXT PRIMARY KEY, site TEXT NOT NULL, status TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pending_cases (
    device TEXT NOT NULL, seq INTEGER NOT NULL, msg_id TEXT NOT NULL, payload BLOB NOT NULL,
    parked_at REAL NOT NULL, PRIMARY KEY (device, msg_id));
CREATE TABLE IF NOT EXISTS central_instances (instance TEXT PRIMARY KEY, seen_at REAL NOT NULL);
"""


def is_postgres(db: Path | str) -> bool:
    return str(db).startswith(("postgresql://", "postgres://"))


def connect(path: Path | str) -> Any:
    """A connection to ``path``: a SQLite file, or a ``postgresql://`` URL (store_pg's connection with
    the same interface). Raises sqlite3.Error (or store_pg.StoreError) when it cannot be opened."""
    if is_postgres(path):
        from simulators.central import store_pg  # only where PostgreSQL is used: the driver is optional
        return store_pg.connect(str(path))
    return connect_sqlite(path)


def _set_wal(conn: sqlite3.Connection, deadline: float) -> None:
    """WAL mode. Two instances opening a new file together: the switch needs the file to itself and SQLite
    answers "database is locked" at once, without its busy handler, so the loser tries again shortly."""
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def connect_sqlite(path: Path | str) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), WAL, synchronous=NORMAL: a commit
    survives a killed process without an fsync per message; only a power loss could cost the last ones,
    which is acceptable for a simulator. Raises sqlite3.Error when the file cannot be opened."""
    conn = sqlite3.connect(str(path), timeout=30.0, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA busy_timeout=30000")
    _set_wal(conn, time.monotonic() + 30.0)
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("BEGIN IMMEDIATE")
    try:
        for statement in SCHEMA.split(";"):
            if statement.strip():
                conn.execute(statement)
        if "pushes" not in {row[1] for row in conn.execute("PRAGMA table_info(cases)")}:
            conn.execute("ALTER TABLE cases ADD COLUMN pushes INTEGER NOT NULL DEFAULT 0")  # a file from before
        conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
        conn.execute("INSERT OR IGNORE INTO meta VALUES ('case_counter', '0')")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return conn


class Transaction:
    """``with Transaction(conn):`` — BEGIN IMMEDIATE … COMMIT, ROLLBACK on an exception."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type, exc, tb) -> None:
        self.conn.execute("ROLLBACK" if exc_type else "COMMIT")


def next_counter(conn: sqlite3.Connection, key: str) -> int:
    """Increments a counter in ``meta`` inside the caller's transaction and returns the new value."""
    row = conn.execute("INSERT INTO meta VALUES (?, '1') ON CONFLICT(key) DO UPDATE "
                       "SET value = CAST(meta.value AS INTEGER) + 1 RETURNING value", (key,)).fetchone()
    return int(row[0])


def seen_message(conn: sqlite3.Connection, msg_id: str) -> sqlite3.Row | None:
    return conn.execute("SELECT * FROM messages WHERE msg_id = ?", (msg_id,)).fetchone()


def record_message(conn: sqlite3.Connection, msg_id: str, device: str, kind: str, seq: Any,
                   result: str, detail: dict, at: str) -> None:
    """Records a message's first outcome. A msg_id decided meanwhile by another instance raises
    sqlite3.IntegrityError (the unique key is the arbiter): the caller answers it as a duplicate."""
    conn.execute("INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?, ?)",
                 (msg_id, device, kind, seq if isinstance(seq, int) else None, result,
                  json.dumps(detail, ensure_ascii=False), at))
    if kind == "case" and isinstance(seq, int) and not isinstance(seq, bool) and 0 <= seq < 2**62:
        conn.execute("INSERT INTO device_seq VALUES (?, ?) ON CONFLICT(device) DO UPDATE "
                     f"SET seq = {_greatest(conn)}(device_seq.seq, excluded.seq)", (device, seq))


def _greatest(conn: Any) -> str:
    return "GREATEST" if getattr(conn, "dialect", "sqlite") == "postgresql" else "MAX"


def device_case_seq(conn: Any, device: str, lock: bool = False) -> int | None:
    """The highest case seq of ``device`` decided so far (None: none yet). ``lock`` (PostgreSQL) holds
    the device's row until commit, so two instances that both think they own it take turns."""
    pg = getattr(conn, "dialect", "sqlite") == "postgresql"
    row = conn.execute("SELECT seq FROM device_seq WHERE device = ?" + (" FOR UPDATE" if lock and pg else ""),
                       (device,)).fetchone()
    return None if row is None else int(row[0])


def park(conn: Any, device: str, seq: int, msg_id: str, payload: bytes, at: float) -> None:
    conn.execute("INSERT INTO pending_cases VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                 (device, seq, msg_id, payload, at))


def parked_cases(conn: Any, device: str) -> list[tuple[int, str, bytes]]:
    """(seq, msg_id, payload) of the device's parked cases, lowest seq first."""
    return [(int(r[0]), str(r[1]), bytes(r[2])) for r in conn.execute(
        "SELECT seq, msg_id, payload FROM pending_cases WHERE device = ? ORDER BY seq", (device,))]


def unpark(conn: Any, device: str, msg_id: str) -> None:
    conn.execute("DELETE FROM pending_cases WHERE device = ? AND msg_id = ?", (device, msg_id))


def has_parked(conn: Any, device: str) -> bool:
    return conn.execute("SELECT 1 FROM pending_cases WHERE device = ? LIMIT 1", (device,)).fetchone() is not None


def pending_devices(conn: Any) -> list[str]:
    return [str(r[0]) for r in conn.execute("SELECT DISTINCT device FROM pending_cases")]


def next_push(conn: Any, case_id: str) -> int:
    """The version of the next status push of a case (1, 2, …), counted in the caller's transaction so
    that two instances never give two pushes one version."""
    row = conn.execute("UPDATE cases SET pushes = pushes + 1 WHERE case_id = ? RETURNING pushes", (case_id,)).fetchone()
    return 0 if row is None else int(row[0])


def device_site(conn: Any, device: str) -> str | None:
    """The hall (site) of a device: the registry's, else that of its latest case; None when unknown."""
    row = conn.execute("SELECT site FROM registry WHERE device = ?", (device,)).fetchone()
    if row is None:
        row = conn.execute("SELECT site FROM cases WHERE device = ? ORDER BY recv_order DESC LIMIT 1",
                           (device,)).fetchone()
    return None if row is None or row[0] is None else str(row[0])


def load_registry(conn: Any, entries: dict[str, dict]) -> int:
    """Puts ``{device: {"site", "status"}}`` (the device registry) into ``registry``; returns the count."""
    for device, entry in entries.items():
        conn.execute("INSERT INTO registry VALUES (?, ?, ?) ON CONFLICT(device) DO UPDATE "
                     "SET site = excluded.site, status = excluded.status",
                     (device, str(entry.get("site", "")), str(entry.get("status", "active"))))
    return len(entries)


# ---- the addendum's tables (inside the caller's transaction) -----------------------------------------

def case_by_code(conn: sqlite3.Connection, query_code: str) -> sqlite3.Row | None:
    return conn.execute("SELECT * FROM cases WHERE query_code = ?", (query_code,)).fetchone()


def all_cases(conn: sqlite3.Connection, limit: int = 5000) -> list[sqlite3.Row]:
    """Newest first."""
    return conn.execute("SELECT * FROM cases ORDER BY recv_order DESC LIMIT ?", (limit,)).fetchall()


def evaluation_exists(conn: sqlite3.Connection, kind: str, ref: str) -> bool:
    return conn.execute("SELECT 1 FROM evaluations WHERE service_kind = ? AND service_ref = ?",
                        (kind, ref)).fetchone() is not None


def record_evaluation(conn: sqlite3.Connection, msg_id: str, device: str, payload: dict, at: str) -> None:
    service, callback = payload["service"], payload.get("callback") or {}
    conn.execute("INSERT INTO evaluations (msg_id, device, service_kind, service_ref, level, reasons, comment, "
                 "callback_phone, channel, agent_id, received_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                 (msg_id, device, service["kind"], service["ref"], payload["level"],
                  json.dumps(payload.get("reasons", []), ensure_ascii=False), payload.get("comment", ""),
                  callback.get("phone") if callback.get("consent") else None, payload.get("channel"),
                  payload.get("agent_id"), at))


def record_complaint(conn: sqlite3.Connection, receipt_no: str, kind: str, case_id: str, device: str,
                     category: str, text: str, agent_id: str | None, phone: str | None, at: str) -> None:
    conn.execute("INSERT INTO complaints VALUES (?,?,?,?,?,?,?,?,?)",
                 (receipt_no, kind, case_id, device, category, text, agent_id, phone, at))


def record_bundle(conn: sqlite3.Connection, bundle_id: str, code: str, name: str, cases: list[dict],
                  device: str) -> None:
    conn.executemany("INSERT OR IGNORE INTO bundles VALUES (?,?,?,?,?,?)",
                     [(bundle_id, c["case_id"], c["query_code"], code, name, device) for c in cases])


def bundle_of(conn: sqlite3.Connection, case_id: str) -> dict | None:
    """{code, name, query_codes} of the bundle a case belongs to, or None."""
    row = conn.execute("SELECT bundle_id, bundle_code, bundle_name FROM bundles WHERE case_id = ?",
                       (case_id,)).fetchone()
    if row is None:
        return None
    codes = [r[0] for r in conn.execute("SELECT query_code FROM bundles WHERE bundle_id = ? ORDER BY rowid",
                                        (row["bundle_id"],))]
    return {"code": row["bundle_code"], "name": row["bundle_name"], "query_codes": codes}


def request_corrections(conn: sqlite3.Connection, case_id: str, items: list[dict], at: str) -> None:
    conn.executemany("INSERT OR REPLACE INTO corrections (case_id, code, name, note, requested_at) "
                     "VALUES (?,?,?,?,?)", [(case_id, i["code"], i["name"], i["note"], at) for i in items])


def open_corrections(conn: sqlite3.Connection, case_id: str) -> list[dict]:
    rows = conn.execute("SELECT code, name, note FROM corrections WHERE case_id = ? AND correction_id IS NULL "
                        "ORDER BY code", (case_id,)).fetchall()
    return [dict(r) for r in rows]


def answer_corrections(conn: sqlite3.Connection, case_id: str, correction_id: str, msg_id: str, at: str) -> None:
    conn.execute("UPDATE corrections SET correction_id = ?, msg_id = ?, answered_at = ? "
                 "WHERE case_id = ? AND correction_id IS NULL", (correction_id, msg_id, at, case_id))


def correction_answer(conn: sqlite3.Connection, correction_id: str) -> str | None:
    """The msg_id that answered a correction_id first, or None."""
    row = conn.execute("SELECT msg_id FROM corrections WHERE correction_id = ? LIMIT 1", (correction_id,)).fetchone()
    return None if row is None else str(row[0])


def force_case_status(conn: sqlite3.Connection, case_id: str, status: str, at: str) -> None:
    conn.execute("UPDATE cases SET forced_status = ?, forced_at = ?, status = ?, next_at = NULL WHERE case_id = ?",
                 (status, at, status, case_id))


def replan_case(conn: sqlite3.Connection, case_id: str, timeline: dict, status: str) -> None:
    """Progress starts again (after a correction) on a new timeline."""
    events = timeline["events"]
    conn.execute("UPDATE cases SET forced_status = NULL, forced_at = NULL, timeline = ?, notified = 0, "
                 "next_at = ?, status = ? WHERE case_id = ?",
                 (json.dumps(timeline), events[0][0] if events else None, status, case_id))


def case_row(conn: sqlite3.Connection, case_id: str) -> sqlite3.Row | None:
    return conn.execute("SELECT * FROM cases WHERE case_id = ?", (case_id,)).fetchone()


# ---- read helpers for tests and technicians (open their own connection, read only) -----------------

@contextmanager
def _read(path: Path | str) -> Iterator[Any]:
    if is_postgres(path):
        from simulators.central import store_pg
        conn: Any = store_pg.connect(str(path), create=False)
    else:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30.0)
        conn.row_factory = sqlite3.Row
    try:
        yield conn
    finally:
        conn.close()


def device_cases(path: Path | str, device: str) -> list[dict]:
    """The cases of one device in the order central received them: case_id, msg_id, seq, case_no,
    query_code, status, recv_order."""
    with _read(path) as conn:
        rows = conn.execute("SELECT recv_order, case_id, msg_id, seq, case_no, query_code, status "
                            "FROM cases WHERE device = ? ORDER BY recv_order", (device,)).fetchall()
    return [dict(row) for row in rows]


def counts(path: Path | str) -> dict[str, int]:
    """Row counts of every table (cases, messages, blobs, blob_chunks, events, devices, tickets)."""
    with _read(path) as conn:
        return {table: conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
                for table in ("cases", "messages", "blobs", "blob_chunks", "events", "devices", "tickets",
                              "evaluations", "complaints", "bundles", "corrections")}


def rows(path: Path | str, sql: str, params: tuple = ()) -> list[dict]:
    """Any read-only query, as dicts (for tests)."""
    with _read(path) as conn:
        return [dict(row) for row in conn.execute(sql, params).fetchall()]


def blob_data(path: Path | str, blob_id: str) -> bytes | None:
    """The reassembled bytes of a stored blob, or None."""
    with _read(path) as conn:
        row = conn.execute("SELECT data FROM blobs WHERE blob_id = ?", (blob_id,)).fetchone()
    return None if row is None else bytes(row["data"])
