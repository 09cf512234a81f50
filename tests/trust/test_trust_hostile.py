"""Hostile input to the trust and audit parsers: random bytes as certificate requests, random JSON as the
devices map, random rows and garbage files as the audit log. Each gets a clear error; nothing crashes and
no input widens the ACL."""
from __future__ import annotations

import json
import re
import sqlite3
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.audit import AuditAction, AuditLog, VerifyResult, sanitize_subject, verify_chain
from kiosk.cli.main import main as kiosk_main
from kiosk.trust import BadMaterial, BrokerSettings, TrustError, acl_text, load_csr, load_devices

# Every line the ACL generator may write: comments, the fixed rule, and per-device site lines.
ACL_LINE = re.compile(r"^(#.*|pattern (read|write) gov/v1/(up|down)/%u/#|pattern read gov/v1/catalog/#"
                      r"|pattern read gov/v1/central/state/\+"
                      r"|user (central|[A-Z]{3}-[0-9]{6}-[0-9]{4})"
                      r"|topic (read|write|readwrite) (\$share/central/)?gov/v1/(up|down|catalog|site|central)/#"
                      r"|topic write gov/v1/up/[A-Z]{3}-[0-9]{6}-[0-9]{4}/#"
                      r"|topic read gov/v1/down/[A-Z]{3}-[0-9]{6}-[0-9]{4}/#|topic read gov/v1/central/state/\+"
                      r"|topic read gov/v1/site/[A-Za-z0-9_.-]{1,64}/#|)$")
FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FAST
@given(data=st.binary(max_size=600) | st.builds(lambda b: b"-----BEGIN CERTIFICATE REQUEST-----\n" + b,
                                                  st.binary(max_size=400)))
def test_random_bytes_as_a_certificate_request(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "x.csr"
    path.write_bytes(data)
    with pytest.raises(BadMaterial):
        load_csr(path)


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=30),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=20), inner,
                                                                                         max_size=4), max_leaves=12)
device_maps = st.dictionaries(st.from_regex(r"[A-Z]{3}-[0-9]{6}-[0-9]{4}", fullmatch=True) | st.text(max_size=20),
                              st.text(max_size=70) | st.from_regex(r"[A-Za-z0-9_.-]{1,64}", fullmatch=True),
                              max_size=4)


@FAST
@given(doc=json_values | device_maps)
def test_random_devices_files_never_widen_the_acl(tmp_path: Path, doc: object) -> None:
    path = tmp_path / "devices.json"
    path.write_text(json.dumps(doc))
    try:
        devices = load_devices(path)
        BrokerSettings(port=1, ca_file=path, cert_file=path, key_file=path, devices=devices)
    except TrustError:
        return
    for per_device in (False, True):      # pattern rules, or one block per registered device
        for line in acl_text(devices, per_device=per_device).splitlines():
            assert ACL_LINE.fullmatch(line), line


rows = st.lists(st.fixed_dictionaries({}, optional={
    "seq": st.integers(-2, 30) | st.none() | st.text(max_size=3) | st.booleans(),
    **{name: st.text(max_size=70) | st.none() | st.integers() | st.binary(max_size=4)
       for name in ("at", "actor", "action", "subject", "prev", "hash")}}), max_size=8)


@settings(max_examples=300, deadline=None)
@given(rows=rows, head=st.none() | st.tuples(st.integers(-1, 40), st.text(max_size=64)))
def test_verify_never_raises_on_garbage_rows(rows: list, head) -> None:
    result = verify_chain(rows, head)
    assert isinstance(result, VerifyResult)
    assert result.ok == (result.problem is None)


@pytest.mark.parametrize("content", [b"", b"not a database at all", b"SQLite format 3\x00" + b"\xff" * 2000])
def test_cli_on_garbage_files_reports_and_exits_nonzero(tmp_path: Path, content: bytes,
                                                        capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "audit.db"
    path.write_bytes(content)
    code = kiosk_main(["audit", "verify", "--db", str(path)])
    out = json.loads(capsys.readouterr().out)
    # An empty file is an empty SQLite database: no audit table, which is as bad as a broken file.
    assert code == 1 and out["ok"] is False and out["error"]


def test_non_utf8_text_written_behind_the_log_is_reported_not_raised(tmp_path: Path) -> None:
    db = tmp_path / "audit.db"
    with AuditLog(db) as log:
        log.append("citizen", AuditAction.SESSION_START, "s")
        log.append("citizen", AuditAction.SESSION_END, "s")
        raw = sqlite3.connect(db)
        with raw:
            raw.execute("UPDATE audit SET subject = CAST(X'FFFE41' AS TEXT) WHERE seq = 2")
        raw.close()
        result = log.verify()
    assert result.problem is not None, result
    assert (result.ok, result.first_bad_seq, result.problem.value) == (False, 2, "malformed")


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=600))
def test_sanitised_text_always_fits_one_utf8_line(text: str) -> None:
    clean = sanitize_subject(text, on_identity="mask")
    assert len(clean) <= 512 and "\n" not in clean and "\r" not in clean
    clean.encode("utf-8")


def test_any_sanitised_subject_can_be_appended_and_verified() -> None:
    with tempfile.TemporaryDirectory() as tmp, AuditLog(Path(tmp) / "a.db") as log:
        for text in ("\ud800 lone surrogate", "\x00\x1b[2J", "案" * 700, "'; DROP TABLE audit; --"):
            log.append("citizen", AuditAction.PRINT, text, on_identity="mask")
        assert log.verify().ok and log.records()[-1].subject == "'; DROP TABLE audit; --"
