"""Test helpers: a development PKI made with kiosk.trust, a real mosquitto run with the generated TLS + ACL
configuration, and a small paho MQTT 5 probe client that reports CONNACK, SUBACK and PUBACK outcomes."""
from __future__ import annotations

import getpass
import os
import queue
import ssl
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Self

import paho.mqtt.client as mqtt
from paho.mqtt.reasoncodes import ReasonCode

from kiosk.trust import BrokerSettings, DeviceFiles, LocalCA, provision_device, write_broker_config
from tests.support.broker import Broker

DEVICE_A = "KSK-511902-0007"
DEVICE_B = "KSK-511902-0008"
SITES = {DEVICE_A: "511902-HALL-01", DEVICE_B: "511903-VILLAGE-02"}
WAIT = 10.0   # generous: the machine is shared


@dataclass(frozen=True)
class Identity:
    cert: Path
    key: Path


@dataclass(frozen=True)
class Pki:
    root: Path
    ca: LocalCA
    server: Identity
    devices: dict[str, Identity]
    central: Identity
    rogue: Identity          # a device certificate with A's CN from a CA the broker does not trust


def _signed(files: DeviceFiles) -> Identity:
    assert files.cert is not None, f"{files.device_id} is provisioned but not signed"
    return Identity(files.cert, files.key)


def make_pki(root: Path) -> Pki:
    ca = LocalCA.create(root / "ca")
    server = ca.issue_server(root / "ca")
    devices = {}
    for device_id in SITES:
        devices[device_id] = _signed(ca.sign_provisioned(provision_device(device_id, root / device_id)))
    central = ca.issue_service("central", root / "central")
    rogue_ca = LocalCA.create(root / "rogue-ca")
    rogue = _signed(rogue_ca.sign_provisioned(provision_device(DEVICE_A, root / "rogue")))
    return Pki(root, ca, Identity(server.cert, server.key), devices, Identity(central.cert, central.key), rogue)


class TlsBroker(Broker):
    """mosquitto with the configuration ``kiosk broker-config`` writes; always ``stop()`` it."""

    def __init__(self, pki: Pki, devices: dict[str, str] | None = None) -> None:
        super().__init__()
        self.pki = pki
        # Started as root, mosquitto would switch to user `mosquitto`, who cannot read our 0600 key.
        run_as = getpass.getuser() if os.geteuid() == 0 else None
        self.settings = BrokerSettings(port=self.port, ca_file=pki.ca.cert_path, cert_file=pki.server.cert,
                                       key_file=pki.server.key, devices=dict(SITES if devices is None else devices),
                                       data_dir=self.dir, run_as=run_as)
        self.files = write_broker_config(self.settings, self.dir)

    @property
    def url(self) -> str:
        return f"mqtts://127.0.0.1:{self.port}"

    def write_conf(self) -> Path:
        return self.files.conf


class Probe:
    """One MQTT 5 client over TLS that records what the broker answered. Use as a context manager."""

    def __init__(self, broker: TlsBroker, client_id: str, identity: Identity | None, tls: bool = True) -> None:
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        if tls:
            self.client.tls_set(ca_certs=str(broker.pki.ca.cert_path),
                                certfile=str(identity.cert) if identity else None,
                                keyfile=str(identity.key) if identity else None,
                                tls_version=ssl.PROTOCOL_TLS_CLIENT)
        self.broker = broker
        self.messages: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self.connack: queue.Queue[ReasonCode | None] = queue.Queue()
        self.disconnected = threading.Event()
        self._acks: dict[int, queue.Queue[list[ReasonCode]]] = {}
        self._lock = threading.Lock()
        self.client.on_connect = lambda _c, _u, _f, reason, _p: self.connack.put(reason)
        self.client.on_disconnect = self._on_disconnect
        self.outcome = ""     # after connect(): accepted, refused (CONNACK), closed, error or timeout
        self.client.on_message = lambda _c, _u, msg: self.messages.put(msg)
        self.client.on_subscribe = lambda _c, _u, mid, codes, _p: self._ack(mid).put(list(codes))
        self.client.on_publish = lambda _c, _u, mid, code, _p: self._ack(mid).put([code])

    def _on_disconnect(self, *_args: object) -> None:
        self.disconnected.set()
        self.connack.put(None)   # wakes connect() when the broker closed the link before any CONNACK

    def _ack(self, mid: int) -> queue.Queue[list[ReasonCode]]:
        with self._lock:
            return self._acks.setdefault(mid, queue.Queue())

    def connect(self) -> bool:
        """True when the broker accepted the connection (CONNACK success) within the wait."""
        try:
            self.client.connect("127.0.0.1", self.broker.port, keepalive=30)
        except (OSError, ssl.SSLError):
            self.outcome = "error"
            return False
        self.client.loop_start()
        try:
            reason = self.connack.get(timeout=WAIT)
        except queue.Empty:
            self.outcome = "timeout"
            return False
        self.outcome = "closed" if reason is None else "refused" if reason.is_failure else "accepted"
        return self.outcome == "accepted"

    def subscribe(self, topic: str) -> list[ReasonCode]:
        """The SUBACK reason codes."""
        rc, mid = self.client.subscribe(topic, qos=1)
        assert mid is not None, f"SUBSCRIBE not sent: {rc}"
        return self._ack(mid).get(timeout=WAIT)

    def publish(self, topic: str, payload: bytes) -> ReasonCode:
        """The PUBACK reason code (QoS 1)."""
        info = self.client.publish(topic, payload, qos=1)
        return self._ack(info.mid).get(timeout=WAIT)[0]

    def next_message(self, timeout: float = WAIT) -> mqtt.MQTTMessage | None:
        try:
            return self.messages.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
