"""The generated broker configuration against a real mosquitto: TLS with client certificates and the
contract's authorisation rule (§1). "Never arrives" is proven without sleeping: a marker published after
the forbidden message arrives first, and mosquitto routes messages in the order it accepted them."""
from __future__ import annotations

import pytest
from paho.mqtt.reasoncodes import ReasonCode

from tests.trust.tls_broker import DEVICE_A, DEVICE_B, SITES, Probe, TlsBroker

pytestmark = pytest.mark.integration

NOT_AUTHORIZED = 0x87


def _central(broker: TlsBroker) -> Probe:
    probe = Probe(broker, "central", broker.pki.central)
    assert probe.connect()
    return probe


def _device(broker: TlsBroker, device_id: str, client_id: str | None = None) -> Probe:
    probe = Probe(broker, client_id or device_id, broker.pki.devices[device_id])
    assert probe.connect(), f"{device_id} could not connect: {broker.log.read_text()[-1500:]}"
    return probe


def _granted(codes: list[ReasonCode]) -> bool:
    return all(not code.is_failure for code in codes)


def _next_topic(probe: Probe) -> str | None:
    msg = probe.next_message()
    return msg.topic if msg is not None else None


def test_terminal_publishes_under_its_own_up_and_reads_its_own_down(tls_broker: TlsBroker) -> None:
    with _central(tls_broker) as central, _device(tls_broker, DEVICE_A) as a:
        assert _granted(central.subscribe("$share/central/gov/v1/up/+/case"))
        assert _granted(a.subscribe(f"gov/v1/down/{DEVICE_A}/#"))
        assert a.publish(f"gov/v1/up/{DEVICE_A}/case", b'{"type":"case.submit"}').value == 0
        msg = central.next_message()
        assert msg is not None and msg.topic == f"gov/v1/up/{DEVICE_A}/case"
        central.publish(f"gov/v1/down/{DEVICE_A}/ack", b'{"type":"ack"}')
        msg = a.next_message()
        assert msg is not None and (msg.topic, msg.payload) == (f"gov/v1/down/{DEVICE_A}/ack", b'{"type":"ack"}')


@pytest.mark.parametrize("kind", ["no certificate", "certificate from another CA", "plain MQTT"])
def test_client_without_a_trusted_certificate_is_refused(tls_broker: TlsBroker, kind: str) -> None:
    identity = tls_broker.pki.rogue if kind == "certificate from another CA" else None
    probe = Probe(tls_broker, DEVICE_A, identity, tls=kind != "plain MQTT")
    try:
        assert not probe.connect()
        # Refused at the TLS or MQTT layer (the link is closed), not merely slow to answer.
        assert probe.outcome in ("error", "closed", "refused")
    finally:
        probe.close()


def test_terminal_cannot_publish_as_another_and_central_never_sees_it(tls_broker: TlsBroker) -> None:
    with _central(tls_broker) as central, _device(tls_broker, DEVICE_A) as a:
        assert _granted(central.subscribe("$share/central/gov/v1/up/+/case"))
        assert _granted(central.subscribe("gov/v1/up/#"))
        # mosquitto 2 answers a denied QoS 1 publish of an MQTT 5 client with PUBACK 0x87 (not authorized).
        assert a.publish(f"gov/v1/up/{DEVICE_B}/case", b"forged").value == NOT_AUTHORIZED
        assert a.publish(f"gov/v1/up/{DEVICE_B}/state", b"forged").value == NOT_AUTHORIZED
        assert a.publish(f"gov/v1/up/{DEVICE_A}/case", b"marker").value == 0
        # Both subscriptions see the marker; nothing forged precedes it on either.
        assert [_next_topic(central), _next_topic(central)] == [f"gov/v1/up/{DEVICE_A}/case"] * 2
        assert central.next_message(timeout=0.2) is None


def test_terminal_cannot_write_downlink_or_catalog(tls_broker: TlsBroker) -> None:
    with _device(tls_broker, DEVICE_A) as a, _device(tls_broker, DEVICE_B) as b, _central(tls_broker) as central:
        assert _granted(b.subscribe(f"gov/v1/down/{DEVICE_B}/#"))
        assert _granted(b.subscribe("gov/v1/catalog/#"))
        assert a.publish(f"gov/v1/down/{DEVICE_B}/cmd", b'{"type":"cmd","name":"unlock"}').value == NOT_AUTHORIZED
        assert a.publish("gov/v1/catalog/manifest", b"{}").value == NOT_AUTHORIZED
        assert a.publish(f"gov/v1/site/{SITES[DEVICE_B]}/notice", b"{}").value == NOT_AUTHORIZED
        central.publish(f"gov/v1/down/{DEVICE_B}/notify", b"marker")
        assert _next_topic(b) == f"gov/v1/down/{DEVICE_B}/notify"


def test_terminal_cannot_read_another_terminals_downlink(tls_broker: TlsBroker) -> None:
    with _central(tls_broker) as central, _device(tls_broker, DEVICE_A) as a:
        # mosquitto 2.0 grants the subscription and filters on delivery; 2.1 may refuse it with 0x87.
        a.subscribe(f"gov/v1/down/{DEVICE_B}/#")
        assert _granted(a.subscribe(f"gov/v1/down/{DEVICE_A}/#"))
        assert central.publish(f"gov/v1/down/{DEVICE_B}/reply", b"secret").value == 0
        assert central.publish(f"gov/v1/down/{DEVICE_A}/reply", b"marker").value == 0
        assert _next_topic(a) == f"gov/v1/down/{DEVICE_A}/reply"


def test_terminal_wildcard_subscriptions_receive_nothing_of_others(tls_broker: TlsBroker) -> None:
    with _central(tls_broker) as central, _device(tls_broker, DEVICE_A) as a, \
            _device(tls_broker, DEVICE_B) as b:
        for topic in ("gov/v1/up/#", "#", "gov/v1/+/+/#"):
            a.subscribe(topic)
        assert b.publish(f"gov/v1/up/{DEVICE_B}/case", b"b's case").value == 0
        assert central.publish(f"gov/v1/down/{DEVICE_A}/ack", b"marker").value == 0
        # '#' and 'gov/v1/+/+/#' both match A's own downlink: the marker comes twice, nothing else.
        assert [_next_topic(a), _next_topic(a)] == [f"gov/v1/down/{DEVICE_A}/ack"] * 2
        assert a.next_message(timeout=0.2) is None


def test_terminal_reads_the_catalog_and_its_own_site_only(tls_broker: TlsBroker) -> None:
    with _central(tls_broker) as central, _device(tls_broker, DEVICE_A) as a:
        a.subscribe("gov/v1/catalog/#")
        a.subscribe(f"gov/v1/site/{SITES[DEVICE_A]}/#")
        a.subscribe(f"gov/v1/site/{SITES[DEVICE_B]}/#")
        central.publish("gov/v1/catalog/manifest", b"{}")
        central.publish(f"gov/v1/site/{SITES[DEVICE_B]}/notice", b"other site")
        central.publish(f"gov/v1/site/{SITES[DEVICE_A]}/notice", b"own site")
        assert [_next_topic(a), _next_topic(a)] == ["gov/v1/catalog/manifest",
                                                     f"gov/v1/site/{SITES[DEVICE_A]}/notice"]


def test_terminal_cannot_take_over_another_terminals_session(tls_broker: TlsBroker) -> None:
    with _central(tls_broker) as central, _device(tls_broker, DEVICE_B) as b:
        assert _granted(b.subscribe(f"gov/v1/down/{DEVICE_B}/#"))
        # A's certificate with B's client id: the broker replaces the client id with the CN (A).
        with _device(tls_broker, DEVICE_A, client_id=DEVICE_B) as impostor:
            impostor.subscribe(f"gov/v1/down/{DEVICE_B}/#")
            assert _granted(impostor.subscribe(f"gov/v1/down/{DEVICE_A}/#"))
            assert central.publish(f"gov/v1/down/{DEVICE_B}/cmd", b"for B").value == 0
            assert central.publish(f"gov/v1/down/{DEVICE_A}/cmd", b"marker").value == 0
            msg = b.next_message()
            assert msg is not None and msg.payload == b"for B"
            assert not b.disconnected.is_set()
            assert _next_topic(impostor) == f"gov/v1/down/{DEVICE_A}/cmd"
