"""Hostile MQTT downlink payloads into ``edge_sync.downlink.Downlink.handle(topic, payload, correlation)``:
random bytes, JSON-ish objects with wrong types, huge numbers, deep nesting, invalid UTF-8, lone surrogates,
bad and foreign signatures, replayed and expired commands, tampered and bomb catalog parts. Each bad message
is dropped (or refused with a ``cmd.result``) and logged once as a warning — never through the handler's
internal-error path — and the good message sent after it is still handled."""
from __future__ import annotations

import base64
import gzip
import hashlib
import json
import logging
import os
from datetime import UTC, datetime, timedelta
from itertools import count as counter
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge_sync.clock import Clock
from edge_sync.crypto import DeviceKey, canonical_json
from edge_sync.downlink import Downlink
from edge_sync.store import Store
from tests.hostile.bounded import count, within

pytestmark = pytest.mark.timeout(180)

DEVICE = "KSK-511902-0099"
DOWN = f"gov/v1/down/{DEVICE}/"
TOPICS = [DOWN + k for k in ("ack", "reply", "notify", "cmd", "x", "")] + [
    "gov/v1/catalog/manifest", "gov/v1/catalog/5/part/0", "gov/v1/catalog/999999999/part/99999",
    "gov/v1/site/511902-HALL-01/notice", "gov/v1/down/KSK-OTHER/cmd", "gov/v1/catalog/manifest/x", "#", ""]


class Signer:
    """Central's side of one Ed25519 key (as the contract signs: canonical JSON without ``sig``)."""

    def __init__(self, key_id: str) -> None:
        self.key_id = key_id
        self.private = Ed25519PrivateKey.generate()
        self.public_b64 = base64.b64encode(self.private.public_key().public_bytes(Encoding.Raw,
                                                                                   PublicFormat.Raw)).decode()

    def sign(self, obj: dict[str, Any]) -> dict[str, Any]:
        body = {**{k: v for k, v in obj.items() if k != "sig"}, "key_id": self.key_id}
        return {**body, "sig": base64.b64encode(self.private.sign(canonical_json(body))).decode()}


CMD, CAT, ROGUE = Signer("cmd-2026"), Signer("cat-2026"), Signer("cmd-2026")


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class Harness:
    """One Downlink on a temporary store, with recording callbacks."""

    def __init__(self, path) -> None:
        self.store = Store(path / "sync.db")
        self.acks: list = []
        self.events: list[tuple[str, dict]] = []
        self.commands: list[dict] = []
        self.catalogs: list[tuple[int, dict]] = []
        self.downlink = Downlink(DEVICE, self.store, DeviceKey(os.urandom(32)), Clock(self.store, 5.0),
                                 {CMD.key_id: CMD.public_b64}, {CAT.key_id: CAT.public_b64},
                                 put_ack=self.acks.append, take_reply=lambda corr, obj: False,
                                 send_event=lambda t, f: self.events.append((t, f)))
        self.downlink.on_command = self._run_command
        self.downlink.on_catalog = lambda v, c: self.catalogs.append((v, c))
        self.log = Records()
        logging.getLogger("edge_sync.downlink").addHandler(self.log)
        self.ids = counter(1)

    def _run_command(self, cmd: dict[str, Any]) -> tuple[bool, Any]:
        self.commands.append(cmd)
        return True, "done"

    def close(self) -> None:
        logging.getLogger("edge_sync.downlink").removeHandler(self.log)
        self.store.close()

    def feed(self, topic: str, payload: bytes) -> list[logging.LogRecord]:
        """Handle one message; the warnings and errors it logged."""
        start = len(self.log.records)
        within(10, self.downlink.handle, topic, payload, b"\x00" * 16)
        return [r for r in self.log.records[start:] if r.levelno >= logging.WARNING]

    def command(self, signer: Signer = CMD, expires_in: float = 300, **extra: Any) -> dict[str, Any]:
        now = datetime.now(UTC)
        body = {"type": "cmd", "v": 1, "cmd_id": f"c-{next(self.ids)}-{os.urandom(4).hex()}", "name": "lock",
                "args": {"reason": "维护"}, "issued_at": now.isoformat(),
                "expires_at": (now + timedelta(seconds=expires_in)).isoformat(), **extra}
        return signer.sign(body)

    def assert_still_works(self) -> None:
        """Nothing lost: a good signed command after the hostile message runs and is reported."""
        cmd = self.command()
        assert self.feed(DOWN + "cmd", json.dumps(cmd).encode()) == []
        assert self.commands and self.commands[-1]["cmd_id"] == cmd["cmd_id"]
        assert self.events[-1] == ("cmd.result", {"cmd_id": cmd["cmd_id"], "ok": True, "detail": "done"})


@pytest.fixture(scope="module")
def harness(tmp_path_factory):
    h = Harness(tmp_path_factory.mktemp("downlink"))
    yield h
    h.close()


def assert_logged_once(records: list[logging.LogRecord], dropped_before: int, harness: Harness) -> None:
    internal = [r for r in records if r.exc_info or "internal error" in r.getMessage()]
    assert internal == [], internal[0].getMessage() if internal else ""
    assert len(records) <= 1, [r.getMessage() for r in records]
    if harness.downlink.dropped > dropped_before:
        assert len(records) == 1


# Lone surrogates included: valid JSON escapes that cannot be encoded as UTF-8.
TEXT = st.text(max_size=30)
JSON = st.recursive(st.none() | st.booleans() | st.integers(-(10 ** 30), 10 ** 30) | st.floats() | TEXT,
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=5),
                    max_leaves=15)
FIELDS = st.fixed_dictionaries({}, optional={
    "type": st.sampled_from(["ack", "cmd", "notify", "catalog.manifest", "case.status"]) | JSON,
    "v": JSON, "ref": JSON, "result": st.sampled_from(["accepted", "stored", "?"]) | JSON, "detail": JSON,
    "cmd_id": JSON, "name": st.sampled_from(["lock", "purge_cache", "reboot"]) | JSON, "args": JSON,
    "expires_at": st.sampled_from(["2999-01-01T00:00:00+08:00", "2000-01-01T00:00:00Z", "2999-01-01"]) | JSON,
    "sig": st.sampled_from(["", "!!", base64.b64encode(b"x" * 64).decode()]) | JSON,
    "key_id": st.sampled_from(["cmd-2026", "cat-2026", ""]) | JSON, "version": JSON, "parts": JSON,
    "size": JSON, "sha256": JSON, "case_id": JSON, "query_code": JSON, "status": JSON, "case": JSON,
    "server_time": JSON})


def as_payload(obj: Any) -> bytes:
    return json.dumps(obj, allow_nan=True).encode()


payloads = (st.binary(max_size=300) | FIELDS.map(as_payload) | JSON.map(as_payload)
            | st.sampled_from([b"", b"\xff\xfe", b"\xc0\xaf{}", b"[" * 100000, b'{"a":' * 50000,
                               b'{"type":"cmd","cmd_id":"\\ud800"}', b'{"type":"reply","x":"\\udfff"}',
                               b'{"type":"ack","ref":"r","result":"accepted","server_time":"\\ud800"}',
                               b'{"type":"catalog.manifest","version":1e999}', b"1e999999", b"-" * 10000,
                               b'{"type":"cmd","expires_at":"9999-12-31T23:59:59+14:00","cmd_id":"a","name":"x"}',
                               ("{\"type\":\"notify\",\"query_code\":\"" + "Z" * 200000 + "\"}").encode()]))


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(st.sampled_from(TOPICS), payloads)
def test_random_payloads_on_every_topic_are_dropped_once(harness, topic, payload):
    count("downlink.random")
    dropped = harness.downlink.dropped
    assert_logged_once(harness.feed(topic, payload), dropped, harness)


def test_the_handler_still_works_after_the_random_payloads(harness):
    count("downlink.recovery")
    harness.assert_still_works()


@pytest.mark.parametrize("payload", [
    b'{"type":"notify","case_id":"c1","status":"\\ud800"}',
    b'{"type":"notify","query_code":"\\udfff","case":{"x":1}}',
    b'{"type":"notify","case_id":"c1","case":{"note":"\\ud83d"}}',
])
def test_notify_with_a_lone_surrogate_is_malformed_not_an_internal_error(harness, payload):
    count("downlink.surrogate")
    dropped = harness.downlink.dropped
    assert_logged_once(harness.feed(DOWN + "notify", payload), dropped, harness)


# -- commands: signatures, expiry, replay -----------------------------------------------------------------

def refused(harness: Harness, cmd: dict[str, Any], why: str) -> None:
    before = len(harness.commands)
    records = harness.feed(DOWN + "cmd", json.dumps(cmd).encode())
    count("downlink.commands")
    assert len(harness.commands) == before, f"a {why} command ran"
    assert len(records) == 1 and "refused" in records[0].getMessage()
    assert harness.events[-1][0] == "cmd.result" and harness.events[-1][1]["ok"] is False
    harness.assert_still_works()


def test_forged_tampered_expired_and_replayed_commands_are_refused(harness):
    refused(harness, harness.command(signer=ROGUE), "forged (same key id, other key)")
    refused(harness, {**harness.command(), "args": {"reason": "x"}}, "tampered args")
    refused(harness, {**harness.command(), "name": "purge_cache"}, "tampered name")
    refused(harness, {**harness.command(), "key_id": "cat-2026"}, "catalog-key")
    refused(harness, {k: v for k, v in harness.command().items() if k != "sig"}, "unsigned")
    refused(harness, {**harness.command(), "sig": "not base64!"}, "garbled signature")
    refused(harness, harness.command(expires_in=-1), "expired")
    refused(harness, harness.command(expires_at="2999-01-01T00:00:00"), "offset-less expiry")
    refused(harness, harness.command(expires_at="tomorrow"), "unparseable expiry")
    refused(harness, CAT.sign({**harness.command(), "key_id": "cat-2026"}), "catalog-signed")
    good = harness.command()
    harness.feed(DOWN + "cmd", json.dumps(good).encode())
    refused(harness, good, "replayed")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(st.sampled_from(["cmd_id", "name", "args", "expires_at", "type", "v", "issued_at"]),
                       JSON, min_size=1, max_size=3))
def test_any_field_changed_after_signing_is_refused(harness, changes):
    cmd = harness.command()
    tampered = {**cmd, **changes}
    try:
        if canonical_json(tampered) == canonical_json(cmd):
            return
    except UnicodeEncodeError:  # a lone surrogate: certainly not the signed bytes
        pass
    before = len(harness.commands)
    count("downlink.tampered_command")
    records = harness.feed(DOWN + "cmd", json.dumps(tampered, allow_nan=True).encode())
    assert len(harness.commands) == before and len(records) <= 1
    assert not [r for r in records if r.exc_info]


# -- catalog: tampered parts, bombs, bad signatures ---------------------------------------------------------

def publication(version: int, blob: bytes, parts: int = 3, signer: Signer = CAT) -> tuple[dict, list[bytes]]:
    size = -(-len(blob) // parts)
    chunks = [blob[i * size:(i + 1) * size] for i in range(parts)]
    manifest = signer.sign({"type": "catalog.manifest", "v": 1, "version": version, "parts": parts,
                            "size": len(blob), "sha256": hashlib.sha256(blob).hexdigest(), "encoding": "gzip"})
    return manifest, chunks


def publish(harness: Harness, version: int, manifest: dict, chunks: list[bytes]) -> list[logging.LogRecord]:
    records = harness.feed("gov/v1/catalog/manifest", json.dumps(manifest).encode())
    for n, chunk in enumerate(chunks):
        records += harness.feed(f"gov/v1/catalog/{version}/part/{n}", chunk)
    return records


CATALOG = {"version": 0, "items": [{"code": "511900-XK-0001", "name": "示例事项"}]}


def test_tampered_bomb_and_forged_catalogs_are_not_installed_and_a_good_one_is(harness):
    count("downlink.catalog", 6)
    good_blob = gzip.compress(json.dumps(CATALOG).encode())
    # Tampered part: the set does not match the signed hash; the installed catalog stays.
    manifest, chunks = publication(10, good_blob)
    publish(harness, 10, manifest, [chunks[0], b"\x00" + chunks[1][1:], chunks[2]])
    assert harness.catalogs == []
    # Forged manifest (rogue key) and a manifest whose signed fields were changed afterwards.
    for bad in (publication(11, good_blob, signer=Signer("cat-2026"))[0],
                {**publication(12, good_blob)[0], "size": 1}):
        records = harness.feed("gov/v1/catalog/manifest", json.dumps(bad).encode())
        assert len(records) == 1 and not records[0].exc_info
    # Signed, hash-correct, but a gzip bomb (> 64 MiB inflated) and gzip of a JSON list.
    bomb = gzip.compress(b" " * (65 * 1024 * 1024), compresslevel=9)
    for version, blob in ((13, bomb), (14, gzip.compress(b"[1,2,3]")), (15, b"not gzip at all")):
        manifest, chunks = publication(version, blob)
        records = publish(harness, version, manifest, chunks)
        assert not [r for r in records if r.exc_info], [r.getMessage() for r in records]
    assert harness.catalogs == []
    # The re-published good part completes version 10 ... and a newer good version installs too.
    harness.feed("gov/v1/catalog/10/part/1", chunks_of(good_blob)[1])
    manifest, chunks = publication(16, good_blob)
    publish(harness, 16, manifest, chunks)
    assert [v for v, _ in harness.catalogs][-1] == 16
    assert harness.catalogs[-1][1] == CATALOG
    harness.assert_still_works()


def chunks_of(blob: bytes) -> list[bytes]:
    return publication(0, blob)[1]
