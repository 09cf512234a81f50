"""The audit hash chain: append and verify, every kind of tampering with the raw SQLite file is found at the
right seq (also by ``kiosk audit verify``), the shipping cursor, and the exact hashed bytes."""
from __future__ import annotations

import hashlib
import itertools
import json
import sqlite3
import tempfile
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.audit import GENESIS, AuditAction, AuditLog, Problem, canonical_bytes
from kiosk.audit.chain import make_record
from kiosk.cli.main import main as kiosk_main

CHINA = timezone(timedelta(hours=8))
FIELDS = ("at", "actor", "action", "subject", "prev", "hash")


def _clock():
    t = [datetime(2026, 11, 24, 9, 0, tzinfo=CHINA)]

    def tick() -> datetime:
        t[0] += timedelta(seconds=1)
        return t[0]
    return tick


def _filled(path: Path, n: int) -> AuditLog:
    log = AuditLog(path, clock=_clock())
    for i in range(n):
        log.append("citizen" if i % 2 else "agent:AG-0031", AuditAction.SESSION_START, f"session {i}")
    return log


def _raw(path: Path, sql: str, *params) -> None:
    db = sqlite3.connect(path)
    with db:
        db.execute(sql, params)
    db.close()


def _swap_seqs(path: Path, a: int, b: int) -> None:
    # Through negative values: seq is the primary key, so a direct swap would collide.
    _raw(path, "UPDATE audit SET seq = -seq WHERE seq IN (?, ?)", a, b)
    _raw(path, "UPDATE audit SET seq = CASE seq WHEN ? THEN ? ELSE ? END WHERE seq < 0", -a, b, a)


def test_records_chain_from_genesis_and_verify(tmp_path: Path) -> None:
    with _filled(tmp_path / "audit.db", 5) as log:
        records = log.records()
        assert [r.seq for r in records] == [1, 2, 3, 4, 5]
        assert records[0].prev == GENESIS and all(b.prev == a.hash for a, b in itertools.pairwise(records))
        assert records[0].at == "2026-11-24T09:00:01.000+08:00"
        result = log.verify()
    assert result.ok and result.records == 5 and result.first_bad_seq is None
    with AuditLog(tmp_path / "audit.db") as again:     # reopened: the chain continues
        assert again.append("technician", AuditAction.MAINTENANCE, "printer test").seq == 6
        assert again.verify().ok


def test_hash_is_sha256_of_the_documented_canonical_json() -> None:
    record = make_record(7, "2026-11-24T09:30:05.000+08:00", "citizen", "card.read", "card read", GENESIS)
    expected = ('{"action":"card.read","actor":"citizen","at":"2026-11-24T09:30:05.000+08:00",'
                f'"prev":"{GENESIS}","seq":7,"subject":"card read"}}').encode()
    assert canonical_bytes(record.to_dict()) == expected
    assert record.hash == hashlib.sha256(expected).hexdigest()
    hanzi = make_record(1, "t", "citizen", "print", "受理通知书", GENESIS)
    assert "受理通知书".encode() in canonical_bytes(hanzi.to_dict())   # UTF-8, not \\u escapes


@pytest.mark.parametrize("field", FIELDS)
def test_edited_field_in_the_raw_file_is_found_at_its_seq(tmp_path: Path, field: str,
                                                          capsys: pytest.CaptureFixture) -> None:
    db = tmp_path / "audit.db"
    _filled(db, 6).close()
    _raw(db, f"UPDATE audit SET {field} = {field} || 'x' WHERE seq = 4")
    assert kiosk_main(["audit", "verify", "--db", str(db)]) == 1
    out = json.loads(capsys.readouterr().out)
    assert (out["ok"], out["first_bad_seq"], out["problem"]) == (False, 4, "hash")


def test_deleted_rows_are_found(tmp_path: Path) -> None:
    db = tmp_path / "audit.db"
    with _filled(db, 6) as log:
        _raw(db, "DELETE FROM audit WHERE seq = 3")
        result = log.verify()
        assert (result.first_bad_seq, result.problem) == (3, Problem.MISSING)
    db2 = tmp_path / "tail.db"
    with _filled(db2, 6) as log:
        _raw(db2, "DELETE FROM audit WHERE seq >= 5")
        result = log.verify()
        assert (result.first_bad_seq, result.problem) == (5, Problem.TRUNCATED)
        # Writing on after the cut leaves a visible gap rather than healing it.
        assert log.append("citizen", AuditAction.SESSION_END).seq == 7
        assert (log.verify().first_bad_seq, log.verify().problem) == (5, Problem.MISSING)


def test_swapped_seqs_are_found(tmp_path: Path) -> None:
    db = tmp_path / "audit.db"
    with _filled(db, 6) as log:
        _swap_seqs(db, 2, 5)
        result = log.verify()
    assert (result.ok, result.first_bad_seq, result.problem) == (False, 2, Problem.HASH)


def test_appended_forgery_and_wrong_types_are_found(tmp_path: Path) -> None:
    db = tmp_path / "audit.db"
    with _filled(db, 3) as log:
        last = log.records()[-1]
        forged = make_record(4, last.at, "technician", "maintenance", "cover opened", last.hash)
        _raw(db, "INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?, ?)", *forged.to_dict().values())
        assert (log.verify().first_bad_seq, log.verify().problem) == (4, Problem.EXTRA)
        _raw(db, "UPDATE audit SET subject = X'41' WHERE seq = 2")
        assert (log.verify().first_bad_seq, log.verify().problem) == (2, Problem.MALFORMED)


def test_cli_verify_intact_and_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    _filled(tmp_path / "audit.db", 3).close()
    assert kiosk_main(["audit", "verify", "--db", str(tmp_path / "audit.db")]) == 0
    assert json.loads(capsys.readouterr().out) == {"ok": True, "records": 3, "first_bad_seq": None,
                                                   "problem": None, "detail": ""}
    assert kiosk_main(["audit", "verify", "--db", str(tmp_path / "none.db")]) == 2
    assert not (tmp_path / "none.db").exists()


def test_shipping_cursor(tmp_path: Path) -> None:
    with _filled(tmp_path / "audit.db", 5) as log:
        assert [r["seq"] for r in log.pending_batch(3)] == [1, 2, 3]
        assert log.mark_shipped(3) == 3
        assert [r["seq"] for r in log.pending_batch(10)] == [4, 5]
        assert log.mark_shipped(1) == 3            # never backwards
        assert log.mark_shipped(99) == 5           # never past the head
        assert log.pending_batch() == []
        sent = []
        log.append("central", AuditAction.COMMAND, "c-0001 lock")
        assert log.ship(lambda kind, fields: sent.append((kind, fields))) == 1
        assert sent == [("audit", {"records": [log.records()[-1].to_dict()]})]

        def full(_kind, _fields):
            raise OSError("disk full")
        log.append("citizen", AuditAction.PRINT, "receipt")
        with pytest.raises(OSError):
            log.ship(full)
        assert [r["seq"] for r in log.pending_batch()] == [7]   # stays pending


def test_concurrent_appends_keep_one_chain(tmp_path: Path) -> None:
    with AuditLog(tmp_path / "audit.db") as log:
        def work(n: int) -> None:
            for i in range(20):
                log.append(f"worker{n}", AuditAction.PRINT, f"job {i}")
        threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        result = log.verify()
    assert result.ok and result.records == 80


# -- property: any single tamper of any chain is found, at the right place ----------------------------
TAMPERS = st.sampled_from(["edit", "rehash", "delete", "swap", "move"])


@settings(max_examples=150, deadline=None)
@given(n=st.integers(min_value=1, max_value=12), tamper=TAMPERS, data=st.data(),
       subjects=st.lists(st.text(max_size=20).filter(lambda s: not any(c.isdigit() for c in s)), max_size=12))
def test_any_single_tamper_is_detected(n: int, tamper: str, data: st.DataObject, subjects: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "audit.db"
        log = AuditLog(db, clock=_clock())
        for i in range(n):
            log.append("citizen", AuditAction.SESSION_START, subjects[i] if i < len(subjects) else "")
        seq = data.draw(st.integers(min_value=1, max_value=n), label="seq")
        expected = seq
        if tamper == "edit":
            field = data.draw(st.sampled_from(FIELDS), label="field")
            _raw(db, f"UPDATE audit SET {field} = {field} || '~' WHERE seq = ?", seq)
        elif tamper == "rehash":
            # A careful forger recomputes the edited record's hash: the next link (or the head) breaks.
            row = log.records()[seq - 1]
            forged = make_record(seq, row.at, "technician", row.action, row.subject + "~", row.prev)
            _raw(db, "UPDATE audit SET actor = ?, subject = ?, hash = ? WHERE seq = ?",
                 forged.actor, forged.subject, forged.hash, seq)
            expected = seq + 1 if seq < n else seq
        elif tamper == "delete":
            _raw(db, "DELETE FROM audit WHERE seq = ?", seq)
        elif tamper == "swap":
            if n == 1:
                return
            seq, other = sorted(data.draw(st.lists(st.integers(1, n), min_size=2, max_size=2, unique=True),
                                          label="pair"))
            expected = seq
            _swap_seqs(db, seq, other)
        else:   # move a record past the end
            _raw(db, "UPDATE audit SET seq = ? WHERE seq = ?", n + 5, seq)
        result = log.verify()
        log.close()
    assert not result.ok
    assert result.first_bad_seq == expected, result
