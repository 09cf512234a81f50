"""Accepted downlink signing keys: central's published ``.pub`` files become the terminal's config tables
(accepted by edge_sync's config), and a rotation window accepts commands signed by the old and the new
key, then only the new one — checked with edge_sync's own verifier and the central simulator's signer."""
from __future__ import annotations

import base64
import tomllib
from pathlib import Path

import pytest

from edge_sync import SyncConfig
from edge_sync.crypto import SignatureError, load_public_keys, verify_signed
from kiosk.cli.main import main as kiosk_main
from kiosk.trust import BadMaterial, plan_rotation, read_public_keys, toml_tables
from simulators.central.signing import KeyRing

COMMAND = {"type": "cmd", "v": 1, "cmd_id": "c-0001", "name": "lock", "args": {"reason": "维护"},
           "issued_at": "2026-11-24T09:00:00+08:00", "expires_at": "2026-11-24T09:05:00+08:00"}


@pytest.fixture(scope="module")
def ring(tmp_path_factory: pytest.TempPathFactory) -> KeyRing:
    return KeyRing(tmp_path_factory.mktemp("keys")).ensure("cmd-2026", "cat-2026", "cmd-2027")


def test_published_keys_become_config_tables_edge_sync_accepts(ring: KeyRing, tmp_path: Path) -> None:
    tables = read_public_keys(ring.directory)
    published = ring.public_keys()
    assert tables == {"command_keys": {k: published[k] for k in ("cmd-2026", "cmd-2027")},
                      "catalog_keys": {"cat-2026": published["cat-2026"]}}
    config_file = tmp_path / "kiosk.toml"
    config_file.write_text('[device]\nid = "KSK-511902-0007"\nsite_id = "511902-HALL-01"\n'
                           f'data_dir = "{tmp_path}"\n[sync]\nmqtt_url = "mqtts://127.0.0.1:8883"\n'
                           + toml_tables(tables), encoding="utf-8")
    config = SyncConfig.from_toml(config_file, env={})
    assert (config.command_keys, config.catalog_keys) == (tables["command_keys"], tables["catalog_keys"])


def test_rotation_window_accepts_old_and_new_then_only_new(ring: KeyRing) -> None:
    published = ring.public_keys()
    rotation = plan_rotation({"cmd-2026": published["cmd-2026"]}, "cmd-2027", published["cmd-2027"],
                             retire="cmd-2026")
    by_old, by_new = ring.sign(COMMAND, "cmd-2026"), ring.sign(COMMAND, "cmd-2027")
    during = load_public_keys(rotation.during)
    assert verify_signed(by_old, during) == "cmd-2026"
    assert verify_signed(by_new, during) == "cmd-2027"
    after = load_public_keys(rotation.after)
    assert verify_signed(by_new, after) == "cmd-2027"
    with pytest.raises(SignatureError):
        verify_signed(by_old, after)
    forged = {**by_new, "key_id": "cmd-2026"}        # new signature presented under the old id
    with pytest.raises(SignatureError):
        verify_signed(forged, during)


def test_rotation_plan_refuses_reuse_bad_keys_and_an_empty_set(ring: KeyRing) -> None:
    published = ring.public_keys()
    accepted = {"cmd-2026": published["cmd-2026"]}
    with pytest.raises(BadMaterial):
        plan_rotation(accepted, "cmd-2026", published["cmd-2027"])        # an id never names two keys
    with pytest.raises(BadMaterial):
        plan_rotation(accepted, "cmd-2028", base64.b64encode(b"\x00" * 31).decode())
    with pytest.raises(BadMaterial):
        plan_rotation(accepted, "cmd 2028", published["cmd-2027"])
    with pytest.raises(BadMaterial):
        plan_rotation({}, "cmd-2027", published["cmd-2027"], retire="cmd-2027")


def test_malformed_pub_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "cmd-2026.pub").write_text("not base64!\n")
    with pytest.raises(BadMaterial):
        read_public_keys(tmp_path)


def test_cli_prints_the_tables(ring: KeyRing, capsys: pytest.CaptureFixture) -> None:
    assert kiosk_main(["provision", "keys", "--keys", str(ring.directory)]) == 0
    doc = tomllib.loads(capsys.readouterr().out)
    assert doc["sync"] == read_public_keys(ring.directory)
    assert kiosk_main(["provision", "keys"]) == 1
