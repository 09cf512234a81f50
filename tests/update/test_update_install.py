"""Side-by-side installs with real virtual environments and a real service: refused bundles change nothing;
bundles whose service does not become healthy are switched back automatically; a good bundle is
installed, switched to, restarted and confirmed in its health window, and a technician rolls back.
The tests share the session's terminal: each starts from whatever version runs and installs newer ones."""
from __future__ import annotations

import json
import os
import sqlite3

import pytest

from kiosk.update.state import Phase, Result

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(300)]


def central_birth(db, device: str) -> dict:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        row = conn.execute("SELECT payload FROM devices WHERE device = ?", (device,)).fetchone()
    return json.loads(row[0]) if row else {}


def test_refused_bundles_change_nothing(running, bundles, tmp_path):
    from tests.update.conftest import rebundle

    current = running.state().current
    before = (current, running.state().previous, running.links(), running.layout.slot_names())
    unsigned = rebundle(bundles.bundle(running.next_version()), tmp_path / "unsigned.bundle",
                        lambda m: {k: v for k, v in m.items() if k != "sig"})
    for bundle, code in ((bundles.bundle("0.0.5"), "downgrade"), (unsigned, "unsigned"),
                         (bundles.bundle(current.version), "same_version")):
        done = running.update_cli("install", "--from", str(bundle))
        assert done.returncode == 2, (code, done.stderr)
        assert f"bundle refused ({code})" in done.stderr
    assert (running.state().current, running.state().previous, running.links(),
            running.layout.slot_names()) == before
    assert running.state().last.result is Result.REFUSED
    running.host.wait_version(current.version, 10)


@pytest.mark.parametrize("variant, symptom", [("offline", "sync is not connected"),
                                              ("crash", "the UI does not answer")])
def test_a_bundle_whose_service_is_not_healthy_is_switched_back(running, bundles, variant, symptom):
    running.write_config(health_window_s=6)
    first = running.state().current
    kept = set(running.layout.slot_names())
    bad = bundles.bundle(running.next_version(), variant)
    done = running.update_cli("install", "--from", str(bad))
    assert done.returncode == 1, done.stderr
    outcome = json.loads(done.stdout)
    assert (outcome["result"], outcome["code"]) == ("rolled_back", "unhealthy")
    assert symptom in outcome["detail"]
    status = running.host.wait_version(first.version, 30)
    assert status["online"] is True
    state = running.state()
    assert state.phase is Phase.IDLE and state.current == first and state.last.result is Result.ROLLED_BACK
    assert running.links() == (first.name, first.name)
    assert set(running.layout.slot_names()) == kept          # the bad slot is gone
    assert [e.stage for e in state.events][-2:] == ["reverting", "rolled_back"]


def test_good_update_is_confirmed_and_a_technician_can_roll_back(running, bundles, hall, tmp_path):
    first = running.state().current
    version = running.next_version()
    usb = tmp_path / "usb"                      # a technician's stick: the newest bundle on it is taken
    usb.mkdir()
    os.link(bundles.bundle(version), usb / f"gov-kiosk-{version}.bundle")
    os.link(bundles.bundle("0.0.5"), usb / "gov-kiosk-0.0.5.bundle")
    (usb / "notes.bundle").write_text("not a bundle")
    done = running.update_cli("install", "--from", str(usb))
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout)
    assert (outcome["result"], outcome["version"], outcome["from_version"]) == ("installed", version, first.version)
    status = running.host.wait_version(version, 30)
    assert status["online"] is True
    state = running.state()
    assert state.phase is Phase.IDLE and state.current.version == version and state.previous == first
    assert running.links() == (state.current.name, state.current.name)
    assert set(running.layout.slot_names()) == {state.current.name, first.name}
    # The new process announced its version to central in its birth message.
    assert central_birth(hall.db, running.device_id).get("sw") == version
    stages = [e.stage for e in state.events]
    assert stages[-4:] == ["staging", "switching", "restarting", "installed"]

    shown = json.loads(running.update_cli("status").stdout)
    assert (shown["version"], shown["previous"], shown["phase"], shown["last_result"]) == \
        (version, first.version, "idle", "installed")

    back = running.update_cli("rollback")
    assert back.returncode == 0, back.stderr
    assert json.loads(back.stdout)["result"] == "rolled_back"
    running.host.wait_version(first.version, 30)
    state = running.state()
    assert (state.current, state.previous.version) == (first, version)
    assert running.links() == (first.name, first.name)


def test_nothing_to_roll_back_to_is_said_plainly(make_terminal):
    terminal = make_terminal()
    nothing = terminal.update_cli("rollback", from_repo=True)
    assert nothing.returncode == 4 and "no previous version" in nothing.stderr
    shown = json.loads(terminal.update_cli("status", from_repo=True).stdout)
    assert (shown["phase"], shown["version"], shown["previous"]) == ("none", None, None)
