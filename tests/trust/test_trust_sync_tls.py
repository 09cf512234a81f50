"""A terminal works end to end over TLS with its provisioned certificate: the real edge_sync engine submits
a case through the generated broker configuration and gets central's ack; its audit records travel as an
``audit`` event and still verify at central. Central here is a minimal raw-paho acker with the central identity,
so that the audit records it receives can be checked in the test; ``test_trust_central_tls.py`` runs the
same path against the real central simulator."""
from __future__ import annotations

import json
import queue
from datetime import datetime
from pathlib import Path

import pytest

from edge_sync import SyncConfig, SyncEngine
from kiosk.audit import AuditAction, AuditLog, verify_chain
from tests.trust.tls_broker import DEVICE_A, SITES, WAIT, Probe, TlsBroker

pytestmark = pytest.mark.integration


class TlsAcker(Probe):
    """Central on raw paho over TLS: acks every case and event on the device's ack topic, keeps events."""

    def __init__(self, broker: TlsBroker) -> None:
        super().__init__(broker, "central", broker.pki.central)
        self.events: queue.Queue[dict] = queue.Queue()
        self.client.on_message = self._answer

    def _answer(self, _client, _ud, msg) -> None:
        device, kind = msg.topic.split("/")[3:5]
        if kind not in ("case", "event"):
            return
        body = json.loads(msg.payload)
        detail = {"case_no": "TLS-0001", "promised_by": "2026-12-09", "status": "received"} if kind == "case" else {}
        now = datetime.now().astimezone().isoformat(timespec="seconds")
        ack = {"type": "ack", "v": 1, "ref": body["msg_id"], "result": "accepted", "at": now,
               "server_time": now, "detail": detail}
        self.client.publish(f"gov/v1/down/{device}/ack", json.dumps(ack).encode(), qos=1)
        if kind == "event":
            self.events.put(body)


def _case() -> dict:
    now = datetime.now().astimezone().isoformat(timespec="seconds")
    return {"item": {"code": "511900-XK-0007", "situation": "S02", "catalog": 42}, "channel": "self",
            "applicant": {"name": "测试", "id_type": "resident", "id_no": "TLS-TEST", "phone": ""},
            "materials": [], "pickup": {"method": "window", "detail": ""},
            "consent": {"version": "2026-01", "at": now}, "test": True}


def test_terminal_submits_a_case_over_tls_and_ships_its_audit_trail(tls_broker: TlsBroker, tmp_path: Path) -> None:
    device = tls_broker.pki.devices[DEVICE_A]
    config = SyncConfig(device_id=DEVICE_A, site_id=SITES[DEVICE_A], mqtt_url=tls_broker.url,
                        data_dir=tmp_path / "sync", ca_file=str(tls_broker.pki.ca.cert_path),
                        cert_file=str(device.cert), key_file=str(device.key))
    audit = AuditLog(tmp_path / "audit.db")
    with TlsAcker(tls_broker) as central:
        assert central.connect()
        for kind in ("case", "event"):
            assert not any(c.is_failure for c in central.subscribe(f"$share/central/gov/v1/up/+/{kind}"))
        engine = SyncEngine(config).start()
        try:
            audit.append("citizen", AuditAction.SESSION_START)
            audit.card_read()
            submitted = engine.submit_case(_case())
            audit.append("citizen", AuditAction.CASE_SUBMIT, submitted.case_id)
            outcome = engine.wait_case_ack(submitted.case_id, WAIT * 3)
            assert outcome is not None and outcome.get("result") == "accepted", (
                f"no ack over TLS: {tls_broker.log.read_text()[-1500:]}")
            assert outcome["case_no"] == "TLS-0001"

            assert audit.ship(engine.send_event) == 3
            event = central.events.get(timeout=WAIT * 3)
        finally:
            engine.stop()
            audit.close()
    assert event["type"] == "audit"
    assert [r["action"] for r in event["records"]] == ["session.start", "card.read", "case.submit"]
    # Central can check the chain it received with the same rule the terminal uses.
    assert verify_chain(event["records"]).ok
