"""The fixed examples of docs/contract-addendum.md, "Updates", checked against both sides: the terminal's
readers (kiosk.update, edge_sync.fetch) and the central simulator's (signing, release, downblobs,
rollouts, update_events). Signatures are reproduced from the documented test key."""
from __future__ import annotations

import base64
import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from edge_sync.crypto import load_public_keys, verify_signed
from edge_sync.fetch import DownBlob, parse_chunk
from edge_sync.upload import StoredBlob
from kiosk.diagnostics import LogUploader
from kiosk.update.agent import InstallCommand, event_fields
from kiosk.update.bundle import check_signature
from kiosk.update.manifest import parse_manifest
from kiosk.update.state import Event, Result
from kiosk.update.status import UpdateStatus
from simulators.central import signing
from simulators.central.context import Incoming, Outgoing
from simulators.central.contract import COMMAND_NAMES, check_envelope, check_event
from simulators.central.downblobs import handle_blob_fetch, publish_blob
from simulators.central.rollouts import Rollouts

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "contract-addendum.md"
SEED = bytes.fromhex("18c04ac7e9c177d10f53ecfa5248ada9ee313e0234b52c3ca3331fed4d816932")
PUBLIC = "ECFt2RdynpWJpsOYK9fGpi6sng2kbPIa03/PdolTOXI="
ENVELOPE = {"v", "msg_id", "seq", "sent_at", "type"}
DEVICE = "KSK-511902-0007"


@pytest.fixture(scope="module")
def examples() -> dict[str, Any]:
    text = DOC.read_text("utf-8")
    found = {m.group(1): json.loads(m.group(2))
             for m in re.finditer(r"```json updates-example=(\S+)\n(.*?)```", text, re.DOTALL)}
    assert PUBLIC in text and SEED.hex() in text
    return found


@pytest.fixture(scope="module")
def ring(tmp_path_factory) -> signing.KeyRing:
    """Central's key ring holding the documented test key under both key ids."""
    folder = tmp_path_factory.mktemp("example-keys")
    pem = Ed25519PrivateKey.from_private_bytes(SEED).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    for key_id in ("upd-2026", "cmd-2026"):
        (folder / f"{key_id}.key").write_bytes(pem)
    return signing.KeyRing(folder).ensure("upd-2026", "cmd-2026")


def test_every_example_is_there(examples):
    assert set(examples) == {"update.manifest", "blob.fetch", "blob.sent", "blob.chunk", "update_install",
                             "update_rollback", "update.progress", "update.result", "logs.uploaded",
                             "health.update"}


def test_manifest_example(examples, ring):
    example = examples["update.manifest"]
    manifest = parse_manifest(example)
    check_signature(manifest, load_public_keys({"upd-2026": PUBLIC}))        # the terminal
    assert (str(manifest.version), str(manifest.min_version), manifest.firmware_version) == ("1.5.0", "1.4.0", "1.1.0")
    assert signing.verify(example, PUBLIC)                                    # central
    assert ring.sign({k: v for k, v in example.items() if k not in ("sig", "key_id")}, "upd-2026") == example
    assert ring.public_keys()["upd-2026"] == PUBLIC


@pytest.mark.parametrize("name", ["update_install", "update_rollback"])
def test_command_examples(examples, ring, name):
    example = examples[name]
    assert example["name"] == name and name in COMMAND_NAMES
    assert verify_signed(example, load_public_keys({"cmd-2026": PUBLIC})) == "cmd-2026"
    assert ring.sign({k: v for k, v in example.items() if k not in ("sig", "key_id")}, "cmd-2026") == example
    if name == "update_install":
        command = InstallCommand.parse(example["args"])
        assert (command.rollout_id, str(command.version), command.blob.count) == ("r-2026-11-24a", "1.5.0", 86)


def test_central_builds_install_commands_of_the_example_shape(examples, ring, bundles, tmp_path):
    sent: list[Outgoing] = []
    rollout = Rollouts(ring, tmp_path / "blobs").start(sent.append, bundles.bundle("0.2.0"), [DEVICE], "r-shape-1")
    (out,) = sent
    example = examples["update_install"]
    assert out.topic == f"gov/v1/down/{DEVICE}/cmd"
    assert set(out.payload) == set(example) and set(out.payload["args"]) == set(example["args"])
    assert set(out.payload["args"]["bundle"]) == set(example["args"]["bundle"])
    parsed = InstallCommand.parse(out.payload["args"])                       # the terminal reads it
    assert parsed.blob.blob_id == rollout.blob["blob_id"] and str(parsed.version) == "0.2.0"


@pytest.mark.parametrize("name, broken", [("update.progress", {"version": 1}), ("update.result", {"result": "maybe"}),
                                          ("logs.uploaded", {"blob": "x"})])
def test_event_examples_are_accepted_by_central(examples, name, broken):
    example = examples[name]
    assert check_envelope(example, DEVICE) is None and check_event(example) is None
    assert check_event({**example, **broken}) is not None


def test_the_terminal_sends_events_of_the_example_shapes(examples):
    progress = Event(3, "staging", "1.5.0", "2026-11-24T09:31:00+08:00", "", "r-1")
    result = Event(7, "installed", "1.5.0", "2026-11-24T09:33:38+08:00", "healthy", "r-1", Result.INSTALLED,
                   "1.4.2", "ok")
    for event, name in ((progress, "update.progress"), (result, "update.result")):
        kind, fields = event_fields(event, "1.5.0")
        assert kind == name and set(fields) == set(examples[name]) - ENVELOPE
        assert check_event({**fields, "type": kind}) is None
    sent: list[tuple[str, dict]] = []
    blob = examples["logs.uploaded"]["blob"]
    stored = StoredBlob(blob["id"], blob["size"], blob["sha256"], blob["mime"])
    LogUploader("", lambda data, mime, prefix: stored, lambda kind, fields: sent.append((kind, fields))).upload("c-1")
    ((kind, fields),) = sent
    assert kind == "logs.uploaded" and set(fields) == set(examples["logs.uploaded"]) - ENVELOPE


def test_blob_examples_both_sides(examples, tmp_path):
    data = bytes(range(256)) * 4
    source = tmp_path / "example.bin"
    source.write_bytes(data)
    desc = publish_blob(tmp_path / "blobs", source, 1024)
    chunk_props = examples["blob.chunk"]
    assert desc["blob_id"] == chunk_props["blob_id"]
    request = {**examples["blob.fetch"], "blob_id": desc["blob_id"], "indexes": [0]}
    out = handle_blob_fetch(tmp_path / "blobs", DEVICE, Incoming(f"gov/v1/up/{DEVICE}/request",
                                                                  json.dumps(request).encode(), {},
                                                                  f"gov/v1/down/{DEVICE}/reply", b"c" * 16, 30,
                                                                  time.monotonic()))
    chunk, reply = out
    assert chunk.topic == f"gov/v1/down/{DEVICE}/blob" and chunk.encode() == data
    assert dict(chunk.user or []) == chunk_props                             # central sends the example
    assert parse_chunk(DownBlob.parse(desc), data, chunk_props).data == data  # the terminal takes it
    assert set(reply.payload) == set(examples["blob.sent"]) and reply.payload["ok"] is True
    assert reply.correlation == b"c" * 16
    unknown = handle_blob_fetch(tmp_path / "blobs", DEVICE, Incoming(
        "t", json.dumps(examples["blob.fetch"]).encode(), {}, None, None, None, time.monotonic()))
    assert [o.payload.get("error") for o in unknown] == ["unknown_blob"]
    assert base64.b64decode(PUBLIC)


def test_health_example(examples):
    status = UpdateStatus("1.5.0", "1.4.2", "idle", None, "1.1.0", "installed", "1.5.0", "ok",
                          "2026-11-24T09:33:38+08:00")
    assert status.to_health() == examples["health.update"]
