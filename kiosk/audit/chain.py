"""The audit hash chain (全程留痕) without storage: a record's canonical bytes and hash, and the walk that
finds the first record that was edited, removed or moved."""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from enum import Enum
from typing import Any

GENESIS = "0" * 64
HASHED_FIELDS = ("seq", "at", "actor", "action", "subject", "prev")


@dataclass(frozen=True)
class Record:
    """One audit record as stored and as shipped in the ``audit`` event (contract §7)."""

    seq: int
    at: str
    actor: str
    action: str
    subject: str
    prev: str
    hash: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def canonical_bytes(fields: Mapping[str, Any]) -> bytes:
    """UTF-8 of the JSON object of the six hashed fields, keys sorted, no spaces, non-ASCII kept as is
    (the same canonical form as the contract's command signatures)."""
    body = {name: fields[name] for name in HASHED_FIELDS}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def record_hash(fields: Mapping[str, Any]) -> str:
    """Lower-case hex SHA-256 of :func:`canonical_bytes`."""
    return hashlib.sha256(canonical_bytes(fields)).hexdigest()


def make_record(seq: int, at: str, actor: str, action: str, subject: str, prev: str) -> Record:
    fields = {"seq": seq, "at": at, "actor": actor, "action": action, "subject": subject, "prev": prev}
    return Record(seq=seq, at=at, actor=actor, action=action, subject=subject, prev=prev, hash=record_hash(fields))


class Problem(str, Enum):
    """What :func:`verify_chain` found wrong at ``first_bad_seq``."""

    MISSING = "missing"          # a seq is absent: a record was removed (or seqs were renumbered)
    HASH = "hash"                # the record's fields do not give its stored hash: edited or moved
    PREV = "prev"                # the record does not point at its predecessor's hash
    TRUNCATED = "truncated"      # records after the last one present were removed
    EXTRA = "extra"              # records beyond the last one the log wrote: added behind its back
    MALFORMED = "malformed"      # a field has the wrong type (NULL, text in seq …)


@dataclass(frozen=True)
class VerifyResult:
    """``ok`` with ``records`` checked, or the first bad seq and what is wrong there."""

    ok: bool
    records: int
    first_bad_seq: int | None = None
    problem: Problem | None = None
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "records": self.records, "first_bad_seq": self.first_bad_seq,
                "problem": self.problem.value if self.problem else None, "detail": self.detail}


def verify_chain(rows: Iterable[Mapping[str, Any]], head: tuple[int, str] | None = None) -> VerifyResult:
    """Walks ``rows`` in storage order (ascending seq) from seq 1.

    ``head`` is the (seq, hash) the log last wrote, kept apart from the rows: it reveals records cut off
    the end, which the chain alone cannot show. Never raises on bad data: that is what it reports."""
    expected_seq, prev, count = 1, GENESIS, 0
    for row in rows:
        seq = row.get("seq")
        if not isinstance(seq, int) or not all(isinstance(row.get(n), str) for n in (*HASHED_FIELDS[1:], "hash")):
            return VerifyResult(False, count, seq if isinstance(seq, int) else expected_seq, Problem.MALFORMED,
                                "a field is missing or has the wrong type")
        if seq != expected_seq:
            # Rows come sorted by seq, so a larger seq means the expected one is gone.
            return VerifyResult(False, count, expected_seq, Problem.MISSING,
                                f"record {expected_seq} is missing (next present is {seq})")
        try:
            digest = record_hash(row)
        except UnicodeEncodeError:
            return VerifyResult(False, count, seq, Problem.MALFORMED, f"record {seq} is not valid UTF-8 text")
        if digest != row["hash"]:
            return VerifyResult(False, count, seq, Problem.HASH,
                                f"record {seq} does not match its hash: edited or moved")
        if row["prev"] != prev:
            return VerifyResult(False, count, seq, Problem.PREV,
                                f"record {seq} does not link to record {seq - 1}")
        prev, expected_seq, count = row["hash"], seq + 1, count + 1
    if head is not None:
        head_seq, head_hash = head
        if head_seq >= expected_seq:
            return VerifyResult(False, count, expected_seq, Problem.TRUNCATED,
                                f"records {expected_seq}..{head_seq} were removed from the end")
        if head_seq < expected_seq - 1:
            return VerifyResult(False, count, head_seq + 1, Problem.EXTRA,
                                f"records after {head_seq} were not written by the audit log")
        if head_seq > 0 and head_hash != prev:
            return VerifyResult(False, count, head_seq, Problem.HASH,
                                f"record {head_seq} is not the record the log wrote last")
    return VerifyResult(True, count)
