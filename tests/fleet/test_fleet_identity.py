"""Device identity lifecycle on a real mosquitto running the configuration generated from the device
registry: enrolment gives a terminal its rules; its certificate is renewed before expiry while it keeps
submitting (no reconnect needed), and its next connection presents the new one; a revoked terminal loses
its rights on the live connection at the broker's reload and is refused at the handshake afterwards."""
from __future__ import annotations

import signal
import time
from dataclasses import replace
from pathlib import Path

import pytest

from edge_sync import SyncConfig, SyncEngine
from kiosk.trust import load_cert, write_broker_config
from kiosk.trust.pem import write_cert
from kiosk.trust.registry import Registry, write_crl
from kiosk.trust.renewal import needs_renewal, renew
from simulators.central import store
from tests.edge_sync.conftest import sample_case
from tests.fleet.harness import wait_until
from tests.support.simproc import SimProcess
from tests.trust.tls_broker import DEVICE_A, DEVICE_B, SITES, TlsBroker, make_pki

pytestmark = pytest.mark.integration


def test_enrol_renew_without_downtime_and_revoke(tmp_path: Path, catalog_file: Path) -> None:
    pki = make_pki(tmp_path / "pki")
    ca = pki.ca
    # A's first certificate is about to expire (two hours left): renewal is due.
    short = ca.sign_device(_csr(pki, DEVICE_A), expected_id=DEVICE_A, days=2 / 24)
    write_cert(pki.devices[DEVICE_A].cert, short)
    registry = Registry(tmp_path / "registry.json")
    for device in (DEVICE_A, DEVICE_B):
        registry.enrol(device, SITES[device], load_cert(pki.devices[device].cert))
    registry.save()
    crl = write_crl(ca, registry.revoked_serials(), tmp_path / "crl.pem")

    broker = TlsBroker(pki, devices=registry.sites())
    broker.settings = replace(broker.settings, per_device=True, crl_file=crl)
    broker.files = write_broker_config(broker.settings, broker.dir)
    broker.start()
    central = SimProcess("central", "--broker", broker.url, "--db", str(tmp_path / "central.db"), "--keys",
                         str(tmp_path / "keys"), "--catalog", str(catalog_file), "--ca", str(pki.ca.cert_path),
                         "--cert", str(pki.central.cert), "--key", str(pki.central.key), ready_timeout=30)
    central.start()
    engines = {d: _engine(pki, d, tmp_path, broker.url).start() for d in (DEVICE_A, DEVICE_B)}
    db = str(tmp_path / "central.db")
    try:
        for engine in engines.values():
            assert engine.wait_online(20)
        a = engines[DEVICE_A]
        _submit_and_wait(a, 3)

        # Renewal before expiry, while connected: nothing drops, submissions go on.
        assert needs_renewal(pki.devices[DEVICE_A].cert)
        epoch = a.session.epoch
        old_serial = short.serial_number
        new = renew(pki.devices[DEVICE_A].key, pki.devices[DEVICE_A].cert,
                    lambda csr: ca.sign_device(csr, expected_id=DEVICE_A, days=365))
        registry.renewed(DEVICE_A, new)
        _submit_and_wait(a, 3)
        assert a.session.epoch == epoch and a.session.connected.is_set()
        assert not needs_renewal(pki.devices[DEVICE_A].cert)

        # The old certificate is withdrawn: A's next connection must present the new one.
        write_crl(ca, [old_serial], crl)
        broker.stop()
        broker.start()
        wait_until(lambda: a.session.epoch > epoch and a.session.connected.is_set(), 30, "A back with its new cert")
        _submit_and_wait(a, 3)

        # B is revoked: its rules go at the broker's reload, its certificate at the next handshake.
        b = engines[DEVICE_B]
        _submit_and_wait(b, 2)
        registry.revoke(DEVICE_B)
        registry.save()
        write_crl(ca, registry.revoked_serials() + [old_serial], crl)
        broker.settings = replace(broker.settings, devices=registry.sites())
        broker.files = write_broker_config(broker.settings, broker.dir)
        assert broker.proc is not None
        broker.proc.send_signal(signal.SIGHUP)
        time.sleep(1.0)
        assert b.session.connected.is_set()               # the live connection is still there ...
        refused = b.submit_case(sample_case(9))
        time.sleep(2.0)
        assert refused.case_id not in {c["case_id"] for c in store.device_cases(db, DEVICE_B)}   # ... powerless
        broker.stop()
        broker.start()
        time.sleep(4.0)
        assert not b.session.connected.is_set()           # refused at the handshake
        _submit_and_wait(a, 2)                            # while A goes on
        assert len(store.device_cases(db, DEVICE_B)) == 2
    finally:
        for engine in engines.values():
            engine.stop()
        central.stop()
        broker.cleanup()


def _csr(pki, device: str):
    from kiosk.trust.renewal import renewal_request
    return renewal_request(pki.devices[device].key, pki.devices[device].cert)


def _engine(pki, device: str, tmp_path: Path, url: str) -> SyncEngine:
    ident = pki.devices[device]
    return SyncEngine(SyncConfig(device_id=device, site_id=SITES[device], mqtt_url=url,
                                 data_dir=tmp_path / device, ca_file=str(pki.ca.cert_path), cert_file=str(ident.cert),
                                 key_file=str(ident.key), min_free_mb=1, reconnect_min_s=0.2, reconnect_max_s=1.0))


def _submit_and_wait(engine: SyncEngine, n: int) -> None:
    subs = [engine.submit_case(sample_case(i)) for i in range(n)]
    for sub in subs:
        outcome = engine.wait_case_ack(sub.case_id, 20)
        assert outcome is not None and outcome["result"] == "accepted"
