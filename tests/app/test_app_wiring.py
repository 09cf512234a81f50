"""The composition root's event wiring over port doubles: IO board events, central's commands, a new
catalog version, case notifications, and building the ports from a configuration."""
from __future__ import annotations

import pytest

from kiosk.adapters import ReceiptsAdapter
from kiosk.app import Kiosk, Ports
from kiosk.assemble import build_ports
from kiosk.config import load_config
from kiosk.ports import CardEvent
from tests.app.doubles import ALICE, FakeIo, FakePrinter, FakeReader, FakeSync


@pytest.fixture
def kiosk(sample_catalog, tmp_path):
    config = load_config(None, env={"KIOSK_DEVICE_DATA_DIR": str(tmp_path)})
    ports = Ports(sync=FakeSync(), idreader=FakeReader(), printer=FakePrinter(), receipts=ReceiptsAdapter(),
                  ioboard=FakeIo())
    return Kiosk(config, sample_catalog, ports)


def test_tamper_locks_and_reports(kiosk):
    kiosk.on_card_event(CardEvent("card_present", ALICE))
    kiosk.on_io_event("tamper", "open")
    assert kiosk.devices.locked and kiosk.sessions.current is None
    assert ("tamper", {"state": "open"}) in kiosk.ports.sync.events
    assert kiosk.ports.ioboard.lights[-1] == ("red", "blink")
    kiosk.on_card_event(CardEvent("card_present", ALICE))
    assert kiosk.sessions.current is None  # a locked terminal starts no session


def test_the_reader_is_attended_while_a_session_is_open(kiosk):
    """The ID-card reader is looked at often from the session's first tap (or card) to its reset, and
    seldom at rest; a second tap in the same session changes nothing."""
    reader = kiosk.ports.idreader
    kiosk.sessions.activity("touch")
    kiosk.sessions.activity("touch")
    assert reader.attended == [True]
    kiosk.sessions.end()
    assert reader.attended == [True, False]
    kiosk.on_card_event(CardEvent("card_present", ALICE))    # a card put down at the home screen
    assert reader.attended == [True, False, True]
    kiosk.on_io_event("tamper", "open")                       # a lock ends the session
    assert reader.attended == [True, False, True, False]


def test_help_button_and_presence(kiosk):
    kiosk.on_io_event("help", "pressed")
    assert kiosk.ports.sync.events[-1] == ("help.requested", {"source": "button"})
    assert kiosk.ports.ioboard.buzzes == ["double"]


def test_commands_from_central(kiosk):
    assert kiosk.on_command("lock", {"reason": "维护"}) == (True, "locked")
    assert kiosk.devices.locked == "维护"
    assert kiosk.on_command("unlock", {}) == (True, "unlocked")
    assert kiosk.on_command("print_test", {}) == (True, "printed")
    assert kiosk.ports.printer.printed[-1].title == "test_page"
    ok, detail = kiosk.on_command("self_destruct", {})
    assert not ok and "not supported" in detail


def test_new_catalog_version_is_swapped_in_and_a_bad_one_kept_out(kiosk, catalog_file):
    import json

    raw = json.loads(catalog_file.read_text("utf-8"))
    raw["version"] = 2
    kiosk.on_catalog(2, raw)
    assert kiosk.catalog.version == 2
    kiosk.on_catalog(3, {"version": 3, "items": "nope"})
    assert kiosk.catalog.version == 2


def test_card_reader_lost_and_back(kiosk):
    kiosk.on_card_event(CardEvent("reader_lost"))
    assert kiosk.devices.card_block()
    kiosk.on_card_event(CardEvent("reader_back"))
    assert kiosk.devices.card_block() is None


def test_build_ports_skips_what_is_not_configured(tmp_path):
    config = load_config(None, env={"KIOSK_SYNC_ENABLED": "false", "KIOSK_DEVICES_CAMERA": "sim:page",
                                    "KIOSK_DEVICES_PRINTER": "/dev/does-not-exist"})
    ports, engine = build_ports(config)
    assert engine is None and ports.sync is None and ports.idreader is None and ports.scanner is None
    assert ports.camera is not None and ports.printer is not None and ports.receipts is not None


def test_audit_trail_gets_every_action_and_no_identity(sample_catalog, tmp_path):
    trail: list[tuple[str, str, str]] = []
    config = load_config(None, env={"KIOSK_DEVICE_DATA_DIR": str(tmp_path)})
    sync = FakeSync()
    k = Kiosk(config, sample_catalog, Ports(sync=sync, idreader=FakeReader(), printer=FakePrinter(),
                                            receipts=ReceiptsAdapter(), ioboard=FakeIo()),
              audit=lambda actor, action, subject: trail.append((actor, action, subject)))
    k.on_card_event(CardEvent("card_present", ALICE))
    k.services.consult.print_checklist("511900-XK-0001", None)
    k.on_command("lock", {"reason": "维护"})
    k.on_io_event("tamper", "open")
    actions = [a for _, a, _ in trail]
    for expected in ("session.start", "card.read", "print", "cmd.executed", "maintenance", "session.end", "tamper"):
        assert expected in actions, (expected, actions)
    text = repr(trail)
    assert ALICE.id_number not in text and ALICE.name not in text and "张*" not in text


def test_a_failing_audit_store_does_not_stop_the_service(sample_catalog, tmp_path):
    def broken(*args):
        raise OSError("disk")
    config = load_config(None, env={"KIOSK_DEVICE_DATA_DIR": str(tmp_path)})
    k = Kiosk(config, sample_catalog, Ports(idreader=FakeReader()), audit=broken)
    k.on_card_event(CardEvent("card_present", ALICE))
    assert k.sessions.current is not None and k.sessions.current.card is ALICE


def test_status_light_follows_the_terminal_state(kiosk):
    """Idle green, in use yellow, offline yellow blinking, a device fault red, locked red blinking —
    and the board is told only when the light changes."""
    devices, lights = kiosk.devices, kiosk.ports.ioboard.lights
    devices.poll_printer()  # the printer double reports paper and cover fine
    devices.set_reader(True)
    devices.set_online(True)
    assert lights[-1] == ("green", "steady")
    devices.set_busy(True)
    assert lights[-1] == ("yellow", "steady")
    devices.set_online(False)
    assert lights[-1] == ("yellow", "blink")
    devices.set_reader(False)
    assert lights[-1] == ("red", "steady")
    devices.set_locked("维护")
    assert lights[-1] == ("red", "blink")
    devices.set_locked(None)
    devices.set_reader(True)
    devices.set_online(True)
    devices.set_busy(False)
    assert lights[-1] == ("green", "steady")
    count = len(lights)
    devices.set_online(True)
    devices.set_busy(False)
    assert len(lights) == count


def test_a_card_read_is_counted_before_the_page_hears_of_it(kiosk, monkeypatch):
    """The agent-mode consent screen re-reads the draft when ``card.present`` reaches the page: by then the
    read must already count for the resident's consent (SubmitService.presence)."""
    seen: list[tuple[str, int]] = []
    publish = kiosk.bus.publish

    def record(event):
        seen.append((event["type"], kiosk.services.submit.presence.reads))
        publish(event)

    monkeypatch.setattr(kiosk.bus, "publish", record)
    kiosk.on_card_event(CardEvent("card_present", ALICE))
    kiosk.on_card_event(CardEvent("card_removed"))
    kiosk.on_card_event(CardEvent("card_present", ALICE))
    assert [n for kind, n in seen if kind == "card.present"] == [1, 2]
