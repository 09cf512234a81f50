"""Accepted signing keys as configuration: what ``set_accepted_keys`` / ``read_key_tables`` refuse (and
that a refusal changes nothing), and the downlink JSON decoder's refusal of lone surrogates."""
from __future__ import annotations

import base64
import gzip
import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge_sync import SyncConfigError, SyncEngine
from edge_sync.config import read_key_tables
from edge_sync.downlink import Malformed, _gunzip_json, parse_json

GOOD = base64.b64encode(os.urandom(32)).decode()
OTHER = base64.b64encode(os.urandom(32)).decode()


@pytest.fixture
def idle_engine(make_config):
    """An engine that is never started (no broker needed): keys are swapped on its downlink all the same."""
    engine = SyncEngine(make_config("mqtt://127.0.0.1:1"))
    try:
        yield engine
    finally:
        engine.store.close()


@pytest.mark.parametrize("command_keys, catalog_keys, named", [
    ({"cmd-2027": base64.b64encode(b"x" * 31).decode()}, {}, "command_keys.cmd-2027"),
    ({"cmd-2027": GOOD + "!"}, {}, "command_keys.cmd-2027"),
    ({"cmd-2027": 12345}, {}, "command_keys.cmd-2027"),
    ({"cmd-2027": "５" * 44}, {}, "command_keys.cmd-2027"),         # non-ASCII digits
    ({"": GOOD}, {}, "key id ''"),
    ({"cmd 2027": GOOD}, {}, "key id 'cmd 2027'"),
    ({"c" * 65: GOOD}, {}, "key id"),
    ({7: GOOD}, {}, "key id '7'"),
    ({}, ["cat-2027", GOOD], "catalog_keys: expected a table"),
    ({"cmd-2027": GOOD}, {"cat-2027": base64.b64encode(b"x" * 33).decode()}, "catalog_keys.cat-2027"),
])
def test_a_bad_key_table_is_refused_and_nothing_changes(idle_engine, command_keys, catalog_keys, named):
    before = (idle_engine.accepted_key_ids(), idle_engine.downlink.command_keys, idle_engine.downlink.catalog_keys)
    with pytest.raises(SyncConfigError) as info:
        idle_engine.set_accepted_keys(command_keys, catalog_keys)
    assert named in str(info.value)
    after = (idle_engine.accepted_key_ids(), idle_engine.downlink.command_keys, idle_engine.downlink.catalog_keys)
    assert after[0] == before[0] and after[1] is before[1] and after[2] is before[2]


def test_accepted_keys_are_copied_not_shared(idle_engine):
    table = {"cmd-2027": GOOD}
    idle_engine.set_accepted_keys(table, {})
    table["cmd-evil"] = OTHER                 # the caller's later change must not widen what is accepted
    assert idle_engine.accepted_key_ids() == {"command_keys": ["cmd-2027"], "catalog_keys": []}
    assert set(idle_engine.downlink.command_keys) == {"cmd-2027"}
    with pytest.raises(TypeError):
        idle_engine.downlink.command_keys["cmd-evil"] = None     # read-only view


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(st.text(max_size=70), st.text(max_size=50) | st.binary(max_size=40).map(
    lambda b: base64.b64encode(b).decode()), max_size=3))
def test_any_key_table_is_taken_whole_or_refused_whole(idle_engine, table):
    before = idle_engine.accepted_key_ids()
    try:
        idle_engine.set_accepted_keys(table, {"cat-2026": GOOD})
    except SyncConfigError:
        assert idle_engine.accepted_key_ids() == before
    else:
        assert idle_engine.accepted_key_ids()["command_keys"] == sorted(table)
        assert all(len(base64.b64decode(v)) == 32 for v in table.values())


def test_read_key_tables_reads_like_a_restart(tmp_path):
    nested = tmp_path / "kiosk.toml"
    nested.write_text(f'[device]\nid = "KSK-511902-0007"\n[sync]\nack_timeout_s = "not checked here"\n'
                      f'[sync.command_keys]\n"cmd-2026" = "{GOOD}"\n"cmd-2027" = "{OTHER}"\n', encoding="utf-8")
    assert read_key_tables(nested, env={}) == ({"cmd-2026": GOOD, "cmd-2027": OTHER}, {})
    flat = tmp_path / "flat.toml"
    flat.write_text(f'catalog_keys = {{ "cat-2026" = "{GOOD}" }}\n', encoding="utf-8")
    assert read_key_tables(flat, env={}) == ({}, {"cat-2026": GOOD})
    env = {"KIOSK_SYNC_COMMAND_KEYS": json.dumps({"cmd-2030": OTHER})}
    assert read_key_tables(nested, env=env) == ({"cmd-2030": OTHER}, {})
    with pytest.raises(SyncConfigError, match="KIOSK_SYNC_CATALOG_KEYS"):
        read_key_tables(nested, env={"KIOSK_SYNC_CATALOG_KEYS": "{not json"})
    broken = tmp_path / "broken.toml"
    broken.write_bytes(b"[sync\n\xff")
    with pytest.raises(SyncConfigError, match="cannot read"):
        read_key_tables(broken, env={})


def test_the_config_refuses_a_malformed_key_id(make_config):
    with pytest.raises(SyncConfigError, match="key id"):
        make_config("mqtt://127.0.0.1:1883", command_keys={"cmd/2026": GOOD})


# -- lone surrogates in downlink JSON -------------------------------------------------------------------

@pytest.mark.parametrize("payload", [b'{"s":"\\ud800"}', b'{"s":["ok","\\udfff"]}', b'{"\\udbff":1}',
                                     b'{"a":{"b":"x\\uDC00y"}}', b'{"s":"\\ude00\\ud83d"}'])
def test_a_lone_surrogate_is_malformed(payload):
    with pytest.raises(Malformed, match="UnicodeEncodeError"):
        parse_json(payload)


def test_paired_surrogates_and_escaped_backslashes_are_fine():
    assert parse_json(b'{"s":"\\ud83d\\ude00"}') == {"s": "\U0001F600"}
    assert parse_json(b'{"s":"\\\\ud800"}') == {"s": "\\ud800"}


def test_a_catalog_with_a_lone_surrogate_is_malformed():
    with pytest.raises(Malformed):
        _gunzip_json(gzip.compress(b'{"items":[{"name":"\\ud800"}]}'))


@settings(max_examples=300, deadline=None)
@given(st.recursive(st.text(max_size=8), lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=8))
def test_parse_json_returns_encodable_objects_or_malformed(value):
    payload = json.dumps({"v": value}).encode()       # ASCII escapes: lone surrogates survive as \udxxx
    try:
        obj = parse_json(payload)
    except Malformed:
        with pytest.raises(UnicodeEncodeError):
            json.dumps(value, ensure_ascii=False).encode("utf-8")
    else:
        assert obj == {"v": value}
        json.dumps(obj, ensure_ascii=False).encode("utf-8")
