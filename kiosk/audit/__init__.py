"""Tamper-evident audit trail (全程留痕) of every action on the terminal: a SHA-256 hash chain in SQLite,
checked by ``kiosk audit verify`` and shipped to central as ``audit`` events."""
from kiosk.audit.chain import GENESIS, Problem, Record, VerifyResult, canonical_bytes, record_hash, verify_chain
from kiosk.audit.log import CARD_READ_SUBJECT, AuditAction, AuditLog
from kiosk.audit.privacy import IdentityInSubject, OnIdentity, find_identity, sanitize_subject

__all__ = ["CARD_READ_SUBJECT", "GENESIS", "AuditAction", "AuditLog", "IdentityInSubject", "OnIdentity",
           "Problem", "Record", "VerifyResult", "canonical_bytes", "find_identity", "record_hash",
           "sanitize_subject", "verify_chain"]
