"""The broker configuration ``kiosk broker-config`` writes for production, on a real mosquitto over TLS:
a 2 000-case burst reaches one (paused) central whole — with mosquitto's default queue limits, which the
old configuration kept, half of it is dropped at the broker — and the contract's largest chunk fits while
a bigger packet is refused."""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from edge_sync import SyncConfig, SyncEngine
from edge_sync.session import CONTRACT_MAX_PAYLOAD
from tests.edge_sync.conftest import sample_case
from tests.fleet.harness import command, stats, wait_until
from tests.support.simproc import SimProcess
from tests.trust.tls_broker import DEVICE_A, DEVICE_B, SITES, Probe, TlsBroker, make_pki

pytestmark = pytest.mark.integration

BURST = 1000          # per terminal: 2 000 in all
FLEET_LINES = ("max_inflight_messages", "max_queued_messages", "max_queued_bytes", "max_packet_size")


class OldLimitsBroker(TlsBroker):
    """The same configuration without the fleet limits: mosquitto's defaults (20 in flight, 1 000 queued)."""

    def write_conf(self) -> Path:
        conf = self.files.conf
        conf.write_text("".join(line for line in conf.read_text().splitlines(keepends=True)
                                if not line.startswith(FLEET_LINES)))
        return conf


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(Path(tmp_path_factory.mktemp("pki")))


def _burst(broker: TlsBroker, tmp_path: Path, catalog_file: Path) -> tuple[int, int]:
    """(messages the paused central holds, cases acked after it resumed) for a burst of 2 × BURST."""
    pki = broker.pki
    central = SimProcess("central", "--broker", broker.url, "--db", str(tmp_path / "central.db"), "--keys",
                         str(tmp_path / "keys"), "--catalog", str(catalog_file), "--ca", str(pki.ca.cert_path),
                         "--cert", str(pki.central.cert), "--key", str(pki.central.key), ready_timeout=30)
    central.start()
    engines = []
    try:
        for device in (DEVICE_A, DEVICE_B):
            ident = pki.devices[device]
            engine = SyncEngine(SyncConfig(device_id=device, site_id=SITES[device], mqtt_url=broker.url,
                                           data_dir=tmp_path / device, ca_file=str(pki.ca.cert_path),
                                           cert_file=str(ident.cert), key_file=str(ident.key), min_free_mb=1,
                                           ack_timeout_s=300.0))
            for i in range(BURST):
                engine.submit_case(sample_case(i))
            engines.append(engine)
        command(central, "pause")
        for engine in engines:
            engine.start()
        wait_until(lambda: all(e.drain.stats["sent"] == BURST and e.session.room() == e.session._cap
                               for e in engines), 60, "the whole burst handed to the broker")
        held = _settled(lambda: stats(central)["held"])
        command(central, "resume")
        wait_until(lambda: stats(central)["held"] == 0, 30, "central worked off what it got")
        # Acks of what central got; what the broker dropped would wait for the 300 s ack timeout.
        outbox = lambda: sum(int(e.store.scalar("SELECT COUNT(*) FROM outbox")) for e in engines)  # noqa: E731
        if held == 2 * BURST:
            wait_until(lambda: outbox() == 0, 60, "every case acked")
        else:
            _settled(outbox, quiet=3.0)
        return held, 2 * BURST - outbox()
    finally:
        for engine in engines:
            if engine._running:
                engine.stop()
        central.stop()


def _settled(read, quiet: float = 1.0, timeout: float = 30.0) -> int:
    """A count once it stopped changing for ``quiet`` seconds (what the broker delivers has arrived)."""
    value, since, deadline = read(), time.monotonic(), time.monotonic() + timeout
    while time.monotonic() - since < quiet and time.monotonic() < deadline:
        time.sleep(0.1)
        now = read()
        if now != value:
            value, since = now, time.monotonic()
    return value


def test_a_2000_case_burst_reaches_one_central_whole(pki, tmp_path, catalog_file):
    broker = TlsBroker(pki)
    broker.start()
    try:
        held, acked = _burst(broker, tmp_path, catalog_file)
    finally:
        broker.cleanup()
    assert held == 2 * BURST and acked == 2 * BURST


def test_with_mosquittos_default_limits_the_same_burst_loses_messages(pki, tmp_path, catalog_file):
    broker = OldLimitsBroker(pki)
    broker.start()
    try:
        held, acked = _burst(broker, tmp_path, catalog_file)
    finally:
        broker.cleanup()
    assert held < 2 * BURST and acked < 2 * BURST      # dropped at the broker: only a re-send could save them


def test_the_largest_chunk_fits_and_a_bigger_packet_is_refused(pki, tmp_path):
    broker = TlsBroker(pki)
    broker.start()
    try:
        ident = pki.devices[DEVICE_A]
        engine = SyncEngine(SyncConfig(device_id=DEVICE_A, site_id=SITES[DEVICE_A], mqtt_url=broker.url,
                                       data_dir=tmp_path / "a", ca_file=str(pki.ca.cert_path),
                                       cert_file=str(ident.cert), key_file=str(ident.key), min_free_mb=1)).start()
        try:
            assert engine.wait_online(20)
            assert engine.session.limits.max_payload() == CONTRACT_MAX_PAYLOAD     # from CONNACK
        finally:
            engine.stop()
        from edge_sync.blobs import chunk_properties
        props = chunk_properties("b-big", 0, 1, CONTRACT_MAX_PAYLOAD, "0" * 64, "application/pdf", "f" * 32 + ".0")
        with Probe(broker, DEVICE_A, pki.devices[DEVICE_A]) as probe:
            assert probe.connect()
            info = probe.client.publish(f"gov/v1/up/{DEVICE_A}/blob", os.urandom(CONTRACT_MAX_PAYLOAD), qos=1,
                                        properties=props)
            assert probe._ack(info.mid).get(timeout=20)[0] < 0x80           # PUBACK success
            probe.client.publish(f"gov/v1/up/{DEVICE_A}/blob", os.urandom(CONTRACT_MAX_PAYLOAD + 16_384), qos=1)
            assert probe.disconnected.wait(20)                              # over max_packet_size: cut off
        conf = broker.files.conf.read_text()
        assert "persistence true" in conf and "max_packet_size 270336" in conf
    finally:
        broker.cleanup()
