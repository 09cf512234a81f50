"""Identity data never enters the audit trail: the subject sanitiser, the log refusing it, and the raw
SQLite file holding no trace of a refused or masked number."""
from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.audit import AuditAction, AuditLog, IdentityInSubject, find_identity, sanitize_subject

ID_NUMBER = "51190219800101123X"          # shape of the samples: 18 symbols, check symbol X
PHONE = "13800000000"

CARRIERS = [f"case for {ID_NUMBER}", f"id:{ID_NUMBER.lower()}", "old id 511902800101123", f"tel {PHONE}",
            f"call +86 {PHONE}", "call 138-0000-0000", "call 138 0000 0000", PHONE, f"卡号{ID_NUMBER}。",
            "8613800000000", f"case 0724e178-8441-4832-9a1b-0c2d3e4f5a6b tel {PHONE}",
            f"{PHONE}0724e178-8441-4832-9a1b-0c2d3e4f5a6b"]
HARMLESS = ["card read", "case 9f0c2a4e-1b2c-4d5e-8f90-123456789abc", "query 7KQ2M9XDPA4TH6WRP",
            "printer test page", "cmd c-0001 lock", "ticket B027", "item 511900-XK-0007 S02",
            "case no 2026112400012345", "12345678901",   # 16 digits; 11 digits not starting 1[3-9]
            # a generated id whose hex groups look like a phone grouped 3-4-4, or hold 11 digits
            "case 0724e178-8441-4832-9a1b-0c2d3e4f5a6b", "msg 9f0c2a4e-1b2c-4d5e-8f90-a13800000000"]


@pytest.mark.parametrize("text", CARRIERS)
def test_identity_numbers_are_refused_or_masked(text: str) -> None:
    assert find_identity(text)
    with pytest.raises(IdentityInSubject) as err:
        sanitize_subject(text)
    assert ID_NUMBER not in str(err.value) and PHONE not in str(err.value)   # the error never repeats it
    masked = sanitize_subject(text, on_identity="mask")
    assert not find_identity(masked)
    assert "<id-number>" in masked or "<phone>" in masked


@pytest.mark.parametrize("text", HARMLESS)
def test_harmless_subjects_pass_unchanged(text: str) -> None:
    assert sanitize_subject(text) == text


def test_control_characters_and_length_are_bounded() -> None:
    assert sanitize_subject("a\nforged line\r\x00b") == "a forged line  b"
    assert len(sanitize_subject("案" * 5000)) == 512
    with pytest.raises(TypeError):
        sanitize_subject(b"bytes")  # type: ignore[arg-type]


def test_log_refuses_identity_and_keeps_none_on_disk(tmp_path: Path) -> None:
    db = tmp_path / "audit.db"
    with AuditLog(db) as log:
        log.card_read()
        with pytest.raises(IdentityInSubject):
            log.append("citizen", AuditAction.CASE_SUBMIT, f"for {ID_NUMBER}")
        with pytest.raises(IdentityInSubject):
            log.append(f"phone:{PHONE}", AuditAction.SESSION_START)
        masked = log.append("citizen", AuditAction.CASE_SUBMIT, f"for {ID_NUMBER} {PHONE}", on_identity="mask")
        with pytest.raises(ValueError):
            log.append("citizen", "Drop Table", "x")
        assert [r.subject for r in log.records()] == ["card read", masked.subject]
        assert log.verify().ok
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    for secret in (ID_NUMBER, PHONE, "0219800101", "800000000"):
        assert secret.encode() not in raw


digits = st.text(alphabet="0123456789", min_size=17, max_size=17)


@settings(max_examples=200, deadline=None)
@given(prefix=st.text(max_size=20), body=digits, check=st.sampled_from("0123456789Xx"),
       suffix=st.text(max_size=20))
def test_any_embedded_id_number_is_caught(prefix: str, body: str, check: str, suffix: str) -> None:
    text = f"{prefix} {body}{check} {suffix}"
    with pytest.raises(IdentityInSubject):
        sanitize_subject(text)
    assert f" {body}{check} " not in sanitize_subject(text, on_identity="mask")


@settings(max_examples=200, deadline=None)
@given(prefix=st.text(max_size=20), second=st.sampled_from("3456789"),
       rest=st.text(alphabet="0123456789", min_size=9, max_size=9), sep=st.sampled_from(["", " ", "-"]),
       suffix=st.text(max_size=20))
def test_any_embedded_mobile_number_is_caught(prefix: str, second: str, rest: str, sep: str, suffix: str) -> None:
    phone = f"1{second}{rest[0]}{sep}{rest[1:5]}{sep}{rest[5:]}"
    text = f"{prefix} {phone} {suffix}"
    with pytest.raises(IdentityInSubject):
        sanitize_subject(text)
    assert f" {phone} " not in sanitize_subject(text, on_identity="mask")


@given(st.uuids())
def test_a_generated_id_is_never_taken_for_a_number_and_survives_masking(uuid) -> None:
    text = f"case {uuid} tel {PHONE}"
    assert find_identity(f"case {uuid}") == []
    assert sanitize_subject(text, on_identity="mask") == f"case {uuid} tel <phone>"
