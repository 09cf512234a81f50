"""The update's pure parts: the health judgement, versions, the journal's JSON, the service's request read
by the root installer (outside bytes), the agent's report of the journal and its answers to commands."""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge_sync.fetch import DownBlob
from kiosk.config import load_config
from kiosk.update import state as journal
from kiosk.update.agent import UpdateAgent
from kiosk.update.health import Snapshot, problems, snapshot_of
from kiosk.update.request import Request, read_request, write_request
from kiosk.update.settings import UpdateSettings
from kiosk.update.state import Action, Outcome, Phase, Result, SlotRef, Target, Trial, UpdateState
from kiosk.update.versions import BadVersion, Version
from tests.support.wait import wait_until

BEFORE = Snapshot(True, "boot-1", "1.4.0", True, {"printer": True, "idcard": False, "ioboard": True}, "1.0.0")


@pytest.mark.parametrize("now, found", [
    (Snapshot(True, "boot-2", "1.5.0", True, {"printer": True, "idcard": False, "ioboard": True}, "1.1.0"), []),
    (Snapshot(False, problem="the UI does not answer (URLError)"), ["the UI does not answer (URLError)"]),
    (Snapshot(True, "boot-1", "1.5.0", True, {"printer": True, "ioboard": True}, "1.1.0"),
     ["still the process from before the switch"]),
    (Snapshot(True, "boot-2", "1.4.0", True, {"printer": True, "ioboard": True}, "1.1.0"),
     ["runs version '1.4.0', expected 1.5.0"]),
    (Snapshot(True, "boot-2", "1.5.0", False, {"printer": True, "ioboard": True}, "1.1.0"),
     ["sync is not connected (it was before)"]),
    (Snapshot(True, "boot-2", "1.5.0", True, {"printer": False, "ioboard": True}, "1.1.0"),
     ["printer worked before and does not now"]),
    (Snapshot(True, "boot-2", "1.5.0", True, {"printer": True, "ioboard": True}, "1.0.0"),
     ["IO board firmware '1.0.0', the slot brings 1.1.0"]),
])
def test_health_judgement(now, found):
    assert problems(BEFORE, now, "1.5.0", "1.1.0") == found


def test_what_did_not_work_before_is_not_required_after():
    offline_before = Snapshot(True, "b1", "1.4.0", False, {"idcard": False})
    assert problems(offline_before, Snapshot(True, "b2", "1.5.0", False, {"idcard": False}), "1.5.0", None) == []


def test_snapshot_of_the_service_status():
    status = {"boot": "abc", "version": "1.5.0", "online": True, "idcard": "ok", "scanner": "missing",
              "camera": "absent", "printer": {"installed": True, "online": True, "error": None},
              "update": {"ioboard": {"configured": True, "connected": True, "firmware": "1.1.0"}}}
    snap = snapshot_of(status)
    assert snap.devices == {"printer": True, "idcard": True, "scanner": False, "ioboard": True}
    assert (snap.version, snap.firmware, snap.online) == ("1.5.0", "1.1.0", True)
    assert Snapshot.from_json(snap.to_json()) == snap


@given(st.lists(st.integers(0, 99999), min_size=2, max_size=4), st.lists(st.integers(0, 99999), min_size=2, max_size=4))
def test_versions_compare_as_numbers(a, b):
    va, vb = Version.parse(".".join(map(str, a))), Version.parse(".".join(map(str, b)))
    pad = lambda xs: tuple(xs + [0] * (4 - len(xs)))  # noqa: E731
    assert (va < vb) == (pad(a) < pad(b)) and (va == vb) == (pad(a) == pad(b) and va.text == vb.text)


@pytest.mark.parametrize("text", ["1", "1.02", "v1.2", "1.2.3.4.5", "", "1..2", " 1.2", 12])
def test_malformed_versions(text):
    with pytest.raises(BadVersion):
        Version.parse(text)


def test_journal_round_trip_and_garbage(tmp_path):
    slot = SlotRef("0003-1.5.0", "1.5.0", "1.1.0")
    state = UpdateState(seq=4, phase=Phase.TRIAL, current=SlotRef("0002-1.4.0", "1.4.0"), previous=None,
                        target=Target(Action.INSTALL, slot, "/x/b.bundle", "r-1"),
                        trial=Trial(1.5, 60.0, BEFORE.to_json(), 2),
                        last=Outcome(Result.REFUSED, "1.3.0", "1.4.0", "downgrade", "older", "t", None),
                        slots_made=3, requests=("c-1",)).with_event("restarting", "1.5.0", "x")
    journal.save(tmp_path / "state.json", state)
    assert journal.load(tmp_path / "state.json") == state
    assert state.events[-1].rollout_id == "r-1" and state.seq == 5
    (tmp_path / "state.json").write_text('{"v": 1, "seq": "x"}')
    with pytest.raises(ValueError, match="not a journal"):
        journal.load(tmp_path / "state.json")
    assert journal.load(tmp_path / "none.json") is None


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=30),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner,
                                                                                  max_size=5), max_leaves=10)


@settings(max_examples=300, deadline=None)
@given(st.one_of(JSON, st.fixed_dictionaries({"id": st.text(max_size=20), "action": st.sampled_from(["install",
                                             "rollback", "x"]), "bundle": st.one_of(st.none(), st.text(max_size=40)),
                                             "rollout_id": st.one_of(st.none(), st.text(max_size=20))})))
def test_the_installer_reads_the_service_request_with_suspicion(tmp_path_factory, raw):
    path = tmp_path_factory.mktemp("req") / "request.json"
    path.write_text(json.dumps(raw), "utf-8")
    try:
        request = read_request(path)
    except ValueError:
        return
    assert request is not None and request.action in (Action.INSTALL, Action.ROLLBACK)
    if request.bundle is not None:   # a file of the bundles folder, never a path out of it
        assert "/" not in request.bundle and "\0" not in request.bundle and request.bundle.endswith(".bundle")
        assert (Path("/spool/bundles") / request.bundle).parent == Path("/spool/bundles")


class Sink:
    """Records what the agent hands to edge_sync (the SyncEngine methods it uses)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def send_event(self, type_: str, fields: Mapping[str, Any]) -> str:
        self.events.append((type_, dict(fields)))
        return str(len(self.events))

    def fetch_blob(self, blob: DownBlob, dest: Path, progress: Callable[[int, int], None] | None = None,
                   stop: threading.Event | None = None) -> Path:
        raise AssertionError("no download expected here")


@pytest.fixture
def agent(tmp_path) -> tuple[UpdateAgent, Sink, UpdateSettings]:
    config = tmp_path / "kiosk.toml"
    config.write_text(f'[device]\ndata_dir = "{tmp_path / "data"}"\n[update]\nroot = "{tmp_path / "root"}"\n', "utf-8")
    settings = UpdateSettings.from_config(load_config(config, env={}), env={})
    sink = Sink()
    return UpdateAgent(settings, sink, "1.4.0"), sink, settings


def test_at_rest_the_journal_is_looked_at_seldom_and_a_request_looks_at_once(agent):
    """Nothing under way: the reporter's next look is half a minute away, so a transition the installer
    records meanwhile waits; a request the agent writes (here a rollback) makes it look at once."""
    service, sink, settings = agent
    settings.layout.root.mkdir(parents=True)
    base = UpdateState(current=SlotRef("0002-1.4.0", "1.4.0"), previous=SlotRef("0001-1.3.0", "1.3.0"))
    state = base.with_event("installed", "1.4.0", result=Result.INSTALLED)
    journal.save(settings.layout.journal, state)
    service.start()
    try:
        wait_until(lambda: len(sink.events) == 1, 10, "the first look")
        journal.save(settings.layout.journal, state.with_event("refused", "1.5.0", result=Result.REFUSED))
        time.sleep(1.5)
        assert len(sink.events) == 1                                # a look every second would have seen it
        assert service.on_rollback({"rollout_id": "r-2"}, "c-2")[0]
        wait_until(lambda: len(sink.events) == 2, 10, "the look after the request")
        assert sink.events[-1][1]["result"] == "refused"
    finally:
        service.stop()


def test_the_agent_reports_each_transition_once(agent):
    service, sink, settings = agent
    settings.layout.root.mkdir(parents=True)
    settings.spool.mkdir(parents=True)
    old = UpdateState(current=SlotRef("0001-1.3.0", "1.3.0")).with_event("installed", "1.3.0", result=Result.INSTALLED)
    journal.save(settings.layout.journal, old)
    assert service.report_once() == 1 and service.report_once() == 0      # the last operation, once
    target = Target(Action.INSTALL, SlotRef("0002-1.4.0", "1.4.0"), None, "r-9")
    state = replace_events(old, target)
    journal.save(settings.layout.journal, state)
    assert service.report_once() == 3
    kinds = [(k, f.get("stage") or f.get("result")) for k, f in sink.events]
    assert kinds == [("update.result", "installed"), ("update.progress", "staging"), ("update.progress", "switching"),
                     ("update.result", "installed")]
    assert sink.events[-1][1]["rollout_id"] == "r-9" and sink.events[-1][1]["running"] == "1.4.0"


def replace_events(state: UpdateState, target: Target) -> UpdateState:
    from dataclasses import replace

    state = replace(state, target=target).with_event("staging", "1.4.0").with_event("switching", "1.4.0")
    return replace(state, target=None).with_event("installed", "1.4.0", result=Result.INSTALLED, rollout_id="r-9")


def test_the_agent_refuses_what_it_cannot_do(agent):
    service, sink, settings = agent
    blob = {"blob_id": "upd-1", "size": 10, "sha256": "0" * 64, "chunk_size": 1024}
    assert service.on_install({"rollout_id": "r-1", "version": "1.3.0", "bundle": blob}, "c-1") == \
        (False, "refused: 1.3.0 is not newer than the running 1.4.0")
    ok, detail = service.on_install({"rollout_id": "r 1", "version": "1.5.0", "bundle": blob}, "c-2")
    assert not ok and "rollout_id" in detail
    ok, detail = service.on_install({"rollout_id": "r-1", "version": "1.5.0", "bundle": {**blob, "size": -1}}, "c-3")
    assert not ok and "blob.size" in detail
    assert service.on_rollback({}, "c-4") == (False, "refused: no previous version is kept on this terminal")
    assert sink.events == [] and not settings.request.exists()
    write_request(settings.request, Request("c-5", Action.ROLLBACK, None, None))
    assert read_request(settings.request) == Request("c-5", Action.ROLLBACK, None, None)


def test_the_units_run_commands_that_exist(capsys):
    """kiosk.service runs the current slot, kiosk-update.service the good one with ``update resume``, and
    the path unit watches the request the service writes."""
    from kiosk.cli.main import main
    from kiosk.update.settings import UpdateSettings as Settings

    units = Path(__file__).resolve().parents[2] / "kiosk" / "systemd"
    lines = {name: (units / name).read_text("utf-8").splitlines()
             for name in ("kiosk.service", "kiosk-update.service", "kiosk-update.path")}

    def value(unit: str, key: str) -> str:
        (found,) = [line.split("=", 1)[1] for line in lines[unit] if line.startswith(key + "=")]
        return found
    service, updater = value("kiosk.service", "ExecStart").split(), value("kiosk-update.service", "ExecStart").split()
    assert service[0] == "/opt/kiosk/current/venv/bin/kiosk" and service[1] == "run"
    assert updater[0] == "/opt/kiosk/good/venv/bin/kiosk" and updater[1:3] == ["update", "resume"]
    with pytest.raises(SystemExit) as shown:
        main([*updater[1:], "--help"])
    assert shown.value.code == 0 and "resume" in capsys.readouterr().out
    defaults = Settings.from_config(load_config(None, env={}), env={})
    assert value("kiosk-update.path", "PathExists") == str(defaults.request)
    assert str(defaults.layout.root) == "/opt/kiosk" and defaults.restart == ("systemctl", "restart", "kiosk.service")
