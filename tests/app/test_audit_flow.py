"""The audit trail (全程留痕) of a whole morning's flows over port doubles, in a real ``kiosk.audit.AuditLog``:
the expected actions in order, an intact chain, and no identity data in any record."""
from __future__ import annotations

import hashlib

import pytest

from kiosk.adapters import ReceiptsAdapter
from kiosk.app import Kiosk, Ports
from kiosk.audit import AuditLog, find_identity
from kiosk.config import load_config
from kiosk.ports import CardEvent
from kiosk.session import EndReason
from tests.app.doubles import ALICE, BOB, FakeCamera, FakePrinter, FakeReader, FakeSync, fixed_wall_clock
from tests.app.test_submit_service import ITEM, fill


@pytest.fixture
def audited(sample_catalog, tmp_path):
    env = {"KIOSK_DEVICE_DATA_DIR": str(tmp_path),
           "KIOSK_WEB_MAINTENANCE_PIN_SHA256": hashlib.sha256(b"246810").hexdigest()}
    trail = AuditLog(tmp_path / "audit.db")
    sync = FakeSync()
    kiosk = Kiosk(load_config(None, env=env), sample_catalog,
                  Ports(sync=sync, idreader=FakeReader(), printer=FakePrinter(), receipts=ReceiptsAdapter(),
                        camera=FakeCamera()),
                  wall_clock=fixed_wall_clock(),
                  audit=lambda actor, action, subject: trail.append(actor, action, subject, on_identity="mask"))
    kiosk.devices.poll_printer()
    yield kiosk, trail, sync
    trail.close()


def test_a_morning_of_flows_leaves_the_expected_trail(audited):
    kiosk, trail, sync = audited
    # A citizen: card, checklist, submission with its notice, done.
    kiosk.on_card_event(CardEvent("card_present", ALICE))
    kiosk.services.consult.print_checklist(ITEM, None)
    fill(_World(kiosk))
    query_code = kiosk.services.committer.commit()["notice"]["query_code"]
    case_id = sync.cases[0][0]["case_id"]
    kiosk.on_card_event(CardEvent("card_removed"))
    kiosk.sessions.end(EndReason.FINISHED)
    # A village agent logs in with their card and PIN, then the session times out.
    sync.replies["agent.login"] = {"ok": True, "name": "李四", "token": "t", "villages": ["示例村"],
                                   "expires_at": "2026-11-24T23:59:59+08:00"}
    kiosk.on_card_event(CardEvent("card_present", BOB))
    kiosk.services.agent.login("0031", "123456")
    kiosk.sessions.end(EndReason.TIMEOUT)
    # The technician, central's commands, the tamper switch.
    kiosk.sessions.activity("touch")
    kiosk.services.maintenance.login("246810")
    kiosk.services.maintenance.print_test()
    kiosk.sessions.end(EndReason.FINISHED)
    kiosk.on_command("lock", {"reason": "维护"}, cmd_id="c-0001")
    kiosk.on_command("unlock", {}, cmd_id="c-0002")
    kiosk.on_command("set_config", {"key": "device.nope", "value": 1}, cmd_id="c-0003")
    kiosk.on_io_event("tamper", "open")

    records = trail.records()
    assert [(r.actor, r.action) for r in records] == [
        ("kiosk", "session.start"), ("citizen", "card.read"), ("kiosk", "print"), ("citizen", "case.submit"),
        ("kiosk", "print"), ("kiosk", "session.end"),
        ("kiosk", "session.start"), ("citizen", "card.read"), ("agent:AG-0031", "agent.login"),
        ("agent:AG-0031", "agent.logout"), ("kiosk", "session.end"),
        ("kiosk", "session.start"), ("technician", "maintenance"), ("technician", "print"), ("kiosk", "session.end"),
        ("kiosk", "maintenance"), ("central", "cmd.executed"), ("kiosk", "maintenance"), ("central", "cmd.executed"),
        # Safety before writes: the tamper lock is taken (and recorded) before the tamper itself is recorded.
        ("central", "cmd.executed"), ("kiosk", "maintenance"), ("kiosk", "tamper"),
    ]
    subjects: dict[str, list[str]] = {r.action: [] for r in records}
    for r in records:
        subjects[r.action].append(r.subject)
    assert subjects["card.read"] == ["card read", "card read"]
    assert subjects["case.submit"] == [case_id]
    assert f"notice {query_code}" in subjects["print"] and f"checklist {ITEM}" in subjects["print"]
    assert subjects["cmd.executed"] == ["c-0001 lock: ok", "c-0002 unlock: ok", "c-0003 set_config: refused"]
    assert subjects["session.end"] == ["finished", "timeout", "finished"]
    assert subjects["maintenance"] == ["login", "lock: 维护", "unlock", "lock: 机箱被打开"]
    assert trail.verify().ok and trail.verify().records == len(records)
    text = repr([r.to_dict() for r in records])
    for secret in (ALICE.id_number, ALICE.name, ALICE.address, BOB.id_number, BOB.name, "13800000000",
                   "138 0000 0000", "张*", "李*"):
        assert secret not in text, secret
    assert all(not find_identity(r.subject) and not find_identity(r.actor) for r in records)


class _World:
    """What tests.app.test_submit_service.fill needs from its fixture."""

    def __init__(self, kiosk: Kiosk) -> None:
        self.services = kiosk.services
