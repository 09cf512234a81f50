"""The real central simulator on the TLS broker that ``kiosk broker-config`` generates: ``kiosk-sim central``
with its service certificate (CN ``central``) acks a case the real edge_sync engine submits over mqtts with
its device certificate; terminal B cannot put a case into central's database under terminal A's id; the
``cmd`` sub-action signs and delivers a command over TLS, and a certificate that is not central's is refused."""
from __future__ import annotations

import json
import subprocess
import sys
import uuid
from datetime import datetime
from pathlib import Path

import pytest

from edge_sync import SyncConfig, SyncEngine, mint_query_code
from simulators.central import store
from tests.support.simproc import SimProcess
from tests.trust.tls_broker import DEVICE_A, DEVICE_B, SITES, WAIT, Identity, Probe, TlsBroker

pytestmark = pytest.mark.integration

NOT_AUTHORIZED = 0x87
ITEM = {"code": "511900-XK-0001", "situation": "S02", "catalog": 1}   # in shared/data/catalog-sample.json


def _tls_options(broker: TlsBroker, identity: Identity) -> list[str]:
    return ["--ca", str(broker.pki.ca.cert_path), "--cert", str(identity.cert), "--key", str(identity.key)]


@pytest.fixture
def central(tls_broker: TlsBroker, tmp_path: Path, catalog_file: Path):
    """``kiosk-sim central`` as a subprocess with the central service certificate; always stopped."""
    sim = SimProcess("central", "--broker", tls_broker.url, "--db", str(tmp_path / "central.db"),
                     "--keys", str(tmp_path / "keys"), "--catalog", str(catalog_file),
                     *_tls_options(tls_broker, tls_broker.pki.central), ready_timeout=WAIT * 3)
    with sim:
        yield sim


def _now() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


def _case_fields() -> dict:
    """The §4 fields the application gives edge_sync (it adds the envelope, device, site, ids)."""
    return {"item": ITEM, "channel": "self",
            "applicant": {"name": "测试", "id_type": "resident", "id_no": "511902198806120319", "phone": ""},
            "agent": None, "materials": [{"code": "M01", "source": "paper"}],
            "pickup": {"method": "window", "detail": ""}, "consent": {"version": "2026-01", "at": _now()},
            "test": False}


def _envelope(device: str, seq: int) -> dict:
    """A complete, valid ``case.submit`` from ``device``: had it reached central, central would keep it."""
    return {"type": "case.submit", "v": 1, "msg_id": str(uuid.uuid4()), "seq": seq, "sent_at": _now(),
            "device": device, "case_id": str(uuid.uuid4()), "query_code": mint_query_code(),
            "site": SITES[device], "created_at": _now(), **_case_fields()}


def test_terminal_gets_the_real_centrals_ack_and_another_terminal_cannot_submit_as_it(
        tls_broker: TlsBroker, central: SimProcess, tmp_path: Path) -> None:
    db = central.ready["db"]
    assert central.ready["broker"] == tls_broker.url
    device = tls_broker.pki.devices[DEVICE_A]
    config = SyncConfig(device_id=DEVICE_A, site_id=SITES[DEVICE_A], mqtt_url=tls_broker.url,
                        data_dir=tmp_path / "sync-a", ca_file=str(tls_broker.pki.ca.cert_path),
                        cert_file=str(device.cert), key_file=str(device.key))
    engine = SyncEngine(config).start()
    try:
        submitted = engine.submit_case(_case_fields())
        outcome = engine.wait_case_ack(submitted.case_id, WAIT * 3)
    finally:
        engine.stop()
    assert outcome is not None and outcome.get("result") == "accepted", (
        f"no ack from central over TLS: {outcome}; broker: {tls_broker.log.read_text()[-1500:]}; "
        f"central: {''.join(central.stderr_lines)[-1500:]}")
    assert outcome["case_no"] and outcome["status"] == "received"
    kept = store.device_cases(db, DEVICE_A)
    assert [(c["case_id"], c["case_no"]) for c in kept] == [(submitted.case_id, outcome["case_no"])]

    # Terminal B, with its own certificate, publishes a valid case of A's on A's topic.
    forged = _envelope(DEVICE_A, seq=999)
    own = _envelope(DEVICE_B, seq=1)
    with Probe(tls_broker, DEVICE_B, tls_broker.pki.devices[DEVICE_B]) as b:
        assert b.connect(), f"B could not connect: {tls_broker.log.read_text()[-1500:]}"
        assert not any(code.is_failure for code in b.subscribe(f"gov/v1/down/{DEVICE_B}/ack"))
        reason = b.publish(f"gov/v1/up/{DEVICE_A}/case", json.dumps(forged, ensure_ascii=False).encode())
        assert reason.value == NOT_AUTHORIZED
        # B's own case goes through after it: central has handled everything the broker passed on before.
        assert b.publish(f"gov/v1/up/{DEVICE_B}/case", json.dumps(own, ensure_ascii=False).encode()).value == 0
        ack = b.next_message(timeout=WAIT * 3)
    assert ack is not None, "central never acked B's own case"
    ack_body = json.loads(ack.payload)
    assert (ack_body["ref"], ack_body["result"]) == (own["msg_id"], "accepted")

    assert [c["case_id"] for c in store.device_cases(db, DEVICE_B)] == [own["case_id"]]
    assert [c["case_id"] for c in store.device_cases(db, DEVICE_A)] == [submitted.case_id]
    assert store.rows(db, "SELECT msg_id FROM messages WHERE msg_id = ?", (forged["msg_id"],)) == []
    assert store.rows(db, "SELECT case_id FROM cases WHERE case_id = ? OR query_code = ?",
                      (forged["case_id"], forged["query_code"])) == []


def _cmd(broker: TlsBroker, identity: Identity, keys: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "simulators", "central", "cmd", "print_test", "--device", DEVICE_A,
                           "--broker", broker.url, "--keys", str(keys), *_tls_options(broker, identity)],
                          capture_output=True, text=True, timeout=WAIT * 4)


def test_cmd_sub_action_delivers_over_tls_and_only_with_centrals_certificate(
        tls_broker: TlsBroker, tmp_path: Path) -> None:
    with Probe(tls_broker, DEVICE_A, tls_broker.pki.devices[DEVICE_A]) as a:
        assert a.connect()
        assert not any(code.is_failure for code in a.subscribe(f"gov/v1/down/{DEVICE_A}/cmd"))

        done = _cmd(tls_broker, tls_broker.pki.central, tmp_path / "keys")
        assert done.returncode == 0, done.stderr
        sent = json.loads(done.stdout.strip().splitlines()[-1])
        msg = a.next_message()
        assert msg is not None and msg.topic == f"gov/v1/down/{DEVICE_A}/cmd"
        received = json.loads(msg.payload)
        assert (received["cmd_id"], received["name"], received["key_id"]) == (sent["cmd_id"], "print_test", "cmd-2026")
        assert received["sig"]

        # A terminal's certificate is trusted by the broker, but its CN may not write anyone's downlink.
        refused = _cmd(tls_broker, tls_broker.pki.devices[DEVICE_B], tmp_path / "keys")
        assert refused.returncode == 1 and "refused" in refused.stderr, refused.stderr


@pytest.mark.parametrize("options, message", [
    (["--broker", "mqtt://127.0.0.1:1883", "--ca", "ca.crt"], "need an mqtts://"),
    (["--broker", "mqtts://127.0.0.1:8883", "--cert", "central.crt"], "go together"),
])
def test_tls_options_that_cannot_work_are_refused_before_connecting(tmp_path: Path, options: list[str],
                                                                     message: str) -> None:
    done = subprocess.run([sys.executable, "-m", "simulators", "central", "--keys", str(tmp_path / "keys"),
                           *options], capture_output=True, text=True, timeout=WAIT * 3, stdin=subprocess.DEVNULL)
    assert done.returncode == 2 and message in done.stderr, done.stderr
