"""Central's commands (contract §8) in the application: reload_config (signing keys through the sync
engine, session timeouts), set_config (schema-checked, persisted, applied), purge_cache, upload_logs and
reboot (never during a commit), each outcome as the (ok, detail) edge_sync sends back as ``cmd.result``."""
from __future__ import annotations

import base64
import json
import logging
import threading

import pytest

from edge_sync import SyncConfig, SyncEngine
from kiosk.adapters import ReceiptsAdapter
from kiosk.app import Kiosk, Ports
from kiosk.commands import REBOOT_EXIT_CODE
from kiosk.config import OVERRIDE_FILE, load_config
from kiosk.ports import CardEvent
from kiosk.services import ServiceError
from tests.app.doubles import ALICE, FakePrinter, FakeReader, FakeSync
from tests.app.harness import KioskThread
from tests.support.net import free_port

KEY_A = base64.b64encode(bytes(range(32))).decode()
KEY_B = base64.b64encode(bytes(range(1, 33))).decode()


def write_toml(path, reset_after: float, command_keys: dict[str, str]) -> None:
    keys = "".join(f'"{k}" = "{v}"\n' for k, v in command_keys.items())
    path.write_text(f"[session]\nreset_after_s = {reset_after}\n\n[sync]\nenabled = true\n"
                    f"[sync.command_keys]\n{keys}[sync.catalog_keys]\n\"cat-2026\" = \"{KEY_A}\"\n", "utf-8")


@pytest.fixture
def setup(sample_catalog, tmp_path, monkeypatch):
    for var in ("KIOSK_SYNC_COMMAND_KEYS", "KIOSK_SYNC_CATALOG_KEYS", "KIOSK_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    data = tmp_path / "data"
    data.mkdir()
    toml = tmp_path / "kiosk.toml"
    write_toml(toml, 60, {"cmd-2026": KEY_A})
    env = {"KIOSK_DEVICE_DATA_DIR": str(data)}
    # The real sync engine on a store of its own, never started (no broker needed): the commands change
    # its accepted keys and its case-view cache through the same methods as on a terminal.
    engine = SyncEngine(SyncConfig(device_id="KSK-511902-0007", site_id="511902-HALL-01",
                                   mqtt_url="mqtt://127.0.0.1:1", data_dir=tmp_path / "sync", min_free_mb=1,
                                   command_keys={"cmd-2026": KEY_A}, catalog_keys={"cat-2026": KEY_A}))

    def make(with_engine: bool = True) -> Kiosk:
        return Kiosk(load_config(toml, env=env), sample_catalog,
                     Ports(sync=FakeSync(), sync_control=engine if with_engine else None, idreader=FakeReader(),
                           printer=FakePrinter(), receipts=ReceiptsAdapter()),
                     reload=lambda: load_config(toml, env=env))
    try:
        yield make, toml, data, env, engine
    finally:
        engine.store.close()


def test_reload_config_rotates_keys_and_applies_timeouts(setup):
    make, toml, _, _, engine = setup
    kiosk = make()
    assert kiosk.sessions.timeouts.reset_after_s == 60
    write_toml(toml, 90, {"cmd-2026": KEY_A, "cmd-2027": KEY_B})  # rotation window: old and new
    ok, detail = kiosk.on_command("reload_config", {})
    assert ok and "cmd-2027" in detail, detail
    assert engine.accepted_key_ids() == {"command_keys": ["cmd-2026", "cmd-2027"], "catalog_keys": ["cat-2026"]}
    assert kiosk.sessions.timeouts.reset_after_s == 90 and kiosk.config.get("session", "reset_after_s") == 90


def test_reload_config_changes_nothing_when_the_file_or_a_key_is_bad(setup):
    make, toml, _, _, engine = setup
    kiosk = make()
    toml.write_text("[session]\nreset_after_s = 'soon'\n", "utf-8")
    ok, detail = kiosk.on_command("reload_config", {})
    assert not ok and "session.reset_after_s" in detail
    write_toml(toml, 90, {"cmd-2027": base64.b64encode(b"short").decode()})
    ok, detail = kiosk.on_command("reload_config", {})
    assert not ok and "config not reloaded" in detail and "command_keys.cmd-2027" in detail
    assert engine.accepted_key_ids() == {"command_keys": ["cmd-2026"], "catalog_keys": ["cat-2026"]}
    assert kiosk.sessions.timeouts.reset_after_s == 60


def test_reload_config_without_a_sync_engine_says_so(setup):
    make, toml, _, _, _ = setup
    kiosk = make(with_engine=False)
    write_toml(toml, 120, {"cmd-2026": KEY_A})
    ok, detail = kiosk.on_command("reload_config", {})
    assert ok and "no sync engine" in detail and kiosk.sessions.timeouts.reset_after_s == 120


def test_set_config_is_checked_persisted_and_applied(setup):
    make, toml, data, env, _ = setup
    kiosk = make()
    assert kiosk.on_command("set_config", {"key": "session.reset_after_s", "value": 75}) == \
        (True, "session.reset_after_s set")
    assert kiosk.sessions.timeouts.reset_after_s == 75.0
    assert kiosk.on_command("set_config", {"key": "device.hotline", "value": "0817-12345"})[0]
    assert kiosk.services.ctx.settings.hotline == "0817-12345"
    assert json.loads((data / OVERRIDE_FILE).read_text("utf-8")) == {"session.reset_after_s": 75.0,
                                                                     "device.hotline": "0817-12345"}
    again = load_config(toml, env=env)  # what a restart reads: the file, then the override
    assert again.get("session", "reset_after_s") == 75.0 and again.get("device", "hotline") == "0817-12345"
    env_wins = load_config(toml, env={**env, "KIOSK_SESSION_RESET_AFTER_S": "99"})
    assert env_wins.get("session", "reset_after_s") == 99.0


@pytest.mark.parametrize("args,reason", [
    ({"key": "session.nope", "value": 1}, "not a key central may set"),
    ({"key": "device.id", "value": "KSK-000000-0001"}, "not a key central may set"),
    ({"key": "web.host", "value": "0.0.0.0"}, "not a key central may set"),
    ({"key": "session.reset_after_s", "value": "soon"}, "has type str"),
    ({"key": "session.reset_after_s", "value": 1e999}, "out of range"),
    ({"key": "session.reset_after_s", "value": 20}, "is not before"),
    ({"key": "device.hotline", "value": "x" * 5000}, "does not match"),
    ({"key": "device.mode", "value": "party"}, "not allowed"),
    ({"key": "session.reset_after_s"}, "args.value is missing"),
    ({"value": 3}, "args.key is missing"),
])
def test_set_config_refuses_with_the_reason(setup, args, reason):
    make, _, data, _, _ = setup
    kiosk = make()
    ok, detail = kiosk.on_command("set_config", args)
    assert not ok and reason in detail and len(detail) <= 301, detail
    assert not (data / OVERRIDE_FILE).exists() and kiosk.sessions.timeouts.reset_after_s == 60


def test_purge_cache_empties_the_engines_case_view_cache(setup):
    make, _, _, _, engine = setup
    kiosk = make()
    for code in ("Q1", "Q2"):
        engine.downlink.put_view(f"q:{code}", {"status": "受理"})
    assert kiosk.on_command("purge_cache", {}) == (True, "case-view cache purged: 2 deleted")
    assert engine.downlink.cached_view("q:Q1") is None and engine.downlink.cached_view("q:Q2") is None
    assert kiosk.on_command("purge_cache", {}) == (True, "case-view cache purged: 0 deleted")
    ok, detail = make(with_engine=False).on_command("purge_cache", {})
    assert not ok and "no sync engine" in detail


def test_upload_logs_sends_recent_lines_without_identity(setup):
    make, _, _, _, _ = setup
    kiosk = make()
    logger = logging.getLogger("kiosk.test_commands")
    logger.addHandler(kiosk.recent_log)
    logger.setLevel(logging.INFO)
    try:
        for i in range(5):
            logger.info("line %d", i)
        logger.warning("oops: holder %s phone %s\x1b[2J", ALICE.id_number, "13800000000")
    finally:
        logger.removeHandler(kiosk.recent_log)
    ok, detail = kiosk.on_command("upload_logs", {"lines": 3})
    assert ok and detail["count"] == 3 and len(detail["lines"]) == 3
    assert detail["lines"][0].endswith("line 3") and "oops" in detail["lines"][-1]
    text = json.dumps(detail, ensure_ascii=False)
    assert ALICE.id_number not in text and "13800000000" not in text and "\x1b" not in text
    assert make().on_command("upload_logs", {"lines": "all"}) == (True, {"lines": [], "count": 0})


def test_reboot_ends_the_session_and_exits_for_systemd_never_during_a_commit(setup):
    make, _, _, _, _ = setup
    runner = KioskThread(make, free_port()).start()
    try:
        kiosk = runner.kiosk
        assert kiosk is not None
        exited: list[int] = []
        done = threading.Event()

        def on_exit(code: int) -> None:
            exited.append(code)
            done.set()
        kiosk.on_exit = on_exit
        runner.call(lambda: kiosk.on_card_event(CardEvent("card_present", ALICE)))
        with kiosk.services.submit.gate.commit():  # a submission is being committed
            ok, detail = kiosk.on_command("reboot", {}, cmd_id="c-9")
            assert not ok and "being committed" in detail
        assert kiosk.sessions.current is not None and kiosk.exit_code is None
        assert kiosk.on_command("reboot", {}, cmd_id="c-10") == (True, "rebooting")
        assert kiosk.sessions.current is None and kiosk.devices.locked
        assert done.wait(10) and exited == [REBOOT_EXIT_CODE]
        with pytest.raises(ServiceError) as info:
            kiosk.services.committer.commit()
        assert info.value.code == "paused"
        assert kiosk.on_command("reboot", {}) == (True, "reboot already under way")
    finally:
        runner.stop()


def test_reboot_is_refused_when_nobody_would_restart_the_application(setup):
    make, _, _, _, _ = setup
    kiosk = make()  # not served, no on_exit: exiting would leave the terminal dead
    kiosk.on_card_event(CardEvent("card_present", ALICE))
    ok, detail = kiosk.on_command("reboot", {})
    assert not ok and "not possible" in detail
    assert kiosk.sessions.current is not None and not kiosk.devices.locked and kiosk.exit_code is None
