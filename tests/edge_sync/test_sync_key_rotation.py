"""Rotation of central's signing keys without restarting the engine, over a real mosquitto with the
in-test central peer: refused before the swap, old and new accepted during the window, the retired key
refused after; a catalog signed by the new key installs (also one that arrived before the swap)."""
from __future__ import annotations

import json
import threading
from itertools import count
from typing import Any

import pytest

from tests.edge_sync.conftest import DEVICE, Signer, wait_until
from tests.edge_sync.publication import iso, publication, publish_catalog

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

CMD_TOPIC = f"gov/v1/down/{DEVICE}/cmd"
_ids = count(1)


def _command(signer: Signer, cmd_id: str | None = None) -> dict[str, Any]:
    return signer.sign({"type": "cmd", "v": 1, "cmd_id": cmd_id or f"c-rot-{next(_ids)}", "name": "lock",
                        "args": {"reason": "维护"}, "issued_at": iso(), "expires_at": iso(300)})


def _results(peer) -> list[dict[str, Any]]:
    with peer.lock:
        return [e for e in peer.events if e.get("type") == "cmd.result"]


def _send(peer, cmd: dict[str, Any]) -> dict[str, Any]:
    """Publishes one command; central's next ``cmd.result`` for it."""
    seen = len([r for r in _results(peer) if r["cmd_id"] == cmd["cmd_id"]])
    peer.publish(CMD_TOPIC, json.dumps(cmd, ensure_ascii=False).encode())

    def new_result() -> dict[str, Any] | None:
        results = [r for r in _results(peer) if r["cmd_id"] == cmd["cmd_id"]][seen:]
        return results[0] if results else None
    return wait_until(new_result, 15, f"cmd.result of {cmd['cmd_id']}")


def _publish_catalog(peer, signer: Signer, version: int, note: str) -> dict[str, Any]:
    catalog = {"version": version, "note": note, "items": [{"code": "511900-XK-0001", "name": "示例事项"}]}
    publish_catalog(peer, *publication(signer, catalog, version, part_size=64))
    return catalog


def _started(make_engine, url: str, **overrides: Any):
    engine = make_engine(url, start=False, **overrides)
    ran: list[str] = []
    installed: list[tuple[int, dict]] = []

    def on_command(cmd: dict[str, Any]) -> tuple[bool, Any]:
        ran.append(cmd["cmd_id"])
        return True, "done"
    engine.on_command = on_command
    engine.on_catalog = lambda version, catalog: installed.append((version, catalog))
    engine.start()
    assert engine.wait_online(10)
    return engine, ran, installed


def test_command_key_rotation_window_then_retirement(broker, peer, make_engine, cmd_signer, cat_signer):
    engine, ran, _ = _started(make_engine, broker.url)
    epoch = engine.session.epoch
    old, new = cmd_signer, Signer("cmd-2027")
    catalog_keys = {cat_signer.key_id: cat_signer.public_b64}

    early = _command(new)
    result = _send(peer, early)
    assert result["ok"] is False and "unknown key id" in result["detail"] and ran == []

    # Window: both keys. The command refused before is not burnt: central may send it again.
    engine.set_accepted_keys({old.key_id: old.public_b64, new.key_id: new.public_b64}, catalog_keys)
    assert engine.accepted_key_ids()["command_keys"] == ["cmd-2026", "cmd-2027"]
    again = _send(peer, early)
    assert (again["ok"], again["detail"], ran) == (True, "done", [early["cmd_id"]])
    for signer in (old, new):
        cmd = _command(signer)
        assert _send(peer, cmd)["ok"] is True and ran[-1] == cmd["cmd_id"]

    # Retirement: the old key alone is refused, with the reason; the new key still works.
    engine.set_accepted_keys({new.key_id: new.public_b64}, catalog_keys)
    stale = _command(old)
    result = _send(peer, stale)
    assert result["ok"] is False and "unknown key id 'cmd-2026'" in result["detail"]
    assert stale["cmd_id"] not in ran
    assert _send(peer, _command(new))["ok"] is True
    assert len(ran) == 4
    # All on one connection of one running engine: no restart, no reconnect.
    assert engine.session.epoch == epoch and engine.status()["engine_running"] is True


def test_catalog_key_rotation_installs_new_key_catalogs_without_restart(broker, peer, make_engine, cmd_signer,
                                                                         cat_signer):
    engine, _, installed = _started(make_engine, broker.url)
    epoch = engine.session.epoch
    old, new = cat_signer, Signer("cat-2027")
    command_keys = {cmd_signer.key_id: cmd_signer.public_b64}
    _publish_catalog(peer, old, 60, "old key")
    wait_until(lambda: installed, 10, "v60 installed")

    # Central switches before this terminal has the new key: refused, but kept.
    v61 = _publish_catalog(peer, new, 61, "new key, published before the swap")
    wait_until(lambda: engine.store.get("catalog.held"), 10, "v61 manifest held")
    assert engine.current_catalog()[0] == 60
    engine.set_accepted_keys(command_keys, {old.key_id: old.public_b64, new.key_id: new.public_b64})
    wait_until(lambda: len(installed) == 2, 10, "v61 installed after the swap")
    assert installed[1] == (61, v61) and engine.store.get("catalog.held") is None

    v62 = _publish_catalog(peer, new, 62, "new key, after the swap")
    wait_until(lambda: len(installed) == 3, 10, "v62 installed")
    assert installed[2] == (62, v62)

    engine.set_accepted_keys(command_keys, {new.key_id: new.public_b64})
    dropped = engine.downlink.dropped
    _publish_catalog(peer, old, 63, "retired key")
    wait_until(lambda: engine.downlink.dropped > dropped, 10, "v63 manifest refused")
    v64 = _publish_catalog(peer, new, 64, "new key again")
    wait_until(lambda: len(installed) == 4, 10, "v64 installed")
    assert [v for v, _ in installed] == [60, 61, 62, 64] and installed[3][1] == v64
    assert engine.current_catalog() == (64, v64) and engine.store.get("catalog.held") is None
    assert engine.session.epoch == epoch


def test_a_held_manifest_installs_when_a_restart_brings_the_key(broker, peer, make_engine, cmd_signer, cat_signer):
    """The retained manifest is not sent again on the kept session: the held copy serves after a restart too."""
    engine, _, _ = _started(make_engine, broker.url)
    new = Signer("cat-2027")
    catalog = _publish_catalog(peer, new, 70, "new key")
    wait_until(lambda: engine.store.get("catalog.held"), 10, "v70 manifest held")
    engine.stop()
    keys = {cat_signer.key_id: cat_signer.public_b64, new.key_id: new.public_b64}
    again, _, installed = _started(make_engine, broker.url, catalog_keys=keys)
    wait_until(lambda: installed, 10, "v70 installed at start")
    assert installed == [(70, catalog)] and again.current_catalog() == (70, catalog)


def test_reload_keys_from_the_toml_file(broker, peer, make_engine, cmd_signer, cat_signer, tmp_path):
    engine, ran, _ = _started(make_engine, broker.url)
    new = Signer("cmd-2027")
    config = tmp_path / "kiosk.toml"
    config.write_text(f'[device]\nid = "{DEVICE}"\n\n[sync.command_keys]\n"{new.key_id}" = "{new.public_b64}"\n'
                      f'\n[sync.catalog_keys]\n"{cat_signer.key_id}" = "{cat_signer.public_b64}"\n',
                      encoding="utf-8")
    engine.reload_keys_from(config)
    assert engine.accepted_key_ids() == {"command_keys": ["cmd-2027"], "catalog_keys": ["cat-2026"]}
    assert _send(peer, _command(new))["ok"] is True
    assert _send(peer, _command(cmd_signer))["ok"] is False

    from edge_sync import SyncConfigError
    config.write_text('[sync.command_keys]\n"cmd-2028" = "c2hvcnQ="\n', encoding="utf-8")
    with pytest.raises(SyncConfigError, match="cmd-2028"):
        engine.reload_keys_from(config)
    with pytest.raises(SyncConfigError, match="cannot read"):
        engine.reload_keys_from(tmp_path / "absent.toml")
    assert engine.accepted_key_ids()["command_keys"] == ["cmd-2027"]
    assert _send(peer, _command(new))["ok"] is True and len(ran) == 2


def test_swaps_racing_with_verification_never_leave_a_gap(broker, peer, make_engine, cmd_signer, cat_signer):
    """Swapping between two sets that both hold the signing key, as fast as possible while commands are
    verified on the network thread: every command is accepted (no moment with a half-built or empty set)."""
    engine, ran, _ = _started(make_engine, broker.url)
    extra = [Signer(f"cmd-x{i}") for i in range(2)]
    sets = [{cmd_signer.key_id: cmd_signer.public_b64, s.key_id: s.public_b64} for s in extra]
    catalog_keys = {cat_signer.key_id: cat_signer.public_b64}
    stop = threading.Event()
    swaps = count()

    def swapper() -> None:
        while not stop.is_set():
            engine.set_accepted_keys(sets[next(swaps) % 2], catalog_keys)

    threads = [threading.Thread(target=swapper, daemon=True) for _ in range(2)]
    for thread in threads:
        thread.start()
    try:
        commands = [_command(cmd_signer) for _ in range(40)]
        swaps_before = next(swaps)
        for cmd in commands:
            peer.publish(CMD_TOPIC, json.dumps(cmd, ensure_ascii=False).encode())
        wait_until(lambda: len(_results(peer)) >= len(commands), 30, "40 results")
        swaps_during = next(swaps) - swaps_before
    finally:
        stop.set()
        for thread in threads:
            thread.join(10)
    assert not any(t.is_alive() for t in threads)
    assert [r["ok"] for r in _results(peer)] == [True] * 40 and len(ran) == 40
    assert swaps_during > 1
    assert engine.accepted_key_ids()["command_keys"][0] == "cmd-2026"
