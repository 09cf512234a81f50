"""A bare paho client that plays a kiosk from the contract's text alone, to drive the central simulator
in tests: publishes up messages and collects everything central sends down to its device."""
from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import paho.mqtt.client as mqtt
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CHECK = CROCKFORD + "*~$=U"
TZ = timezone(timedelta(hours=8))


def mint_query_code() -> str:
    """16 random Crockford symbols + the mod-37 check symbol (contract §10), written here from the text."""
    body = "".join(secrets.choice(CROCKFORD) for _ in range(16))
    value = 0
    for ch in body:
        value = value * 32 + CROCKFORD.index(ch)
    return body + CHECK[value % 37]


def now_iso() -> str:
    return datetime.now(TZ).replace(microsecond=0).isoformat()


def verify(obj: dict, public_b64: str) -> bool:
    """Ed25519 over the canonical JSON without sig (§8), written from the contract's text."""
    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_b64))
    try:
        body = {k: v for k, v in obj.items() if k != "sig"}
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        key.verify(base64.b64decode(obj["sig"]), canonical)
        return True
    except InvalidSignature:
        return False


class Down:
    """One message central sent to the device."""

    def __init__(self, message: mqtt.MQTTMessage) -> None:
        self.topic = message.topic
        self.kind = message.topic.rsplit("/", 1)[-1]
        self.raw = message.payload
        self.correlation = getattr(message.properties, "CorrelationData", None)
        try:
            self.json: Any = json.loads(message.payload)
        except ValueError:
            self.json = None

    def __repr__(self) -> str:
        return f"Down({self.topic}, {self.json})"


class FakeKiosk:
    def __init__(self, broker_url: str, device: str = "KSK-511902-0007", site: str = "511902-HALL-01") -> None:
        self.device, self.site = device, site
        host, port = broker_url.split("//")[1].split(":")
        self.received: list[Down] = []
        self._acks = 0
        self._cond = threading.Condition()
        self._seq: dict[str, int] = {}
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"{device}-{uuid.uuid4().hex[:6]}",
                                  protocol=mqtt.MQTTv5)
        self.client.max_inflight_messages_set(200)
        subscribed = threading.Event()
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *a: subscribed.set()
        self.client.on_connect = lambda c, *a: c.subscribe(f"gov/v1/down/{device}/#", qos=1)
        self.client.connect(host, int(port))
        self.client.loop_start()
        if not subscribed.wait(10):
            self.close()
            raise TimeoutError("fake kiosk could not subscribe")

    def _on_message(self, client, userdata, message) -> None:
        down = Down(message)
        with self._cond:
            self.received.append(down)
            self._acks += down.kind == "ack"
            self._cond.notify_all()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    # ---- waiting ------------------------------------------------------------------------------------
    def wait(self, predicate: Callable[[Down], bool], timeout: float = 10.0, start: int = 0) -> Down:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for down in self.received[start:]:
                    if predicate(down):
                        return down
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"nothing matched within {timeout} s; got {self.received[-5:]}")
                self._cond.wait(remaining)

    def wait_until(self, condition: Callable[[], bool], timeout: float = 10.0) -> None:
        """Waits until ``condition()`` (about everything received so far) holds; TimeoutError otherwise."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not condition():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"condition not met within {timeout} s; got {self.received[-5:]}")
                self._cond.wait(min(remaining, 0.2))

    def acks(self, ref: str) -> list[dict]:
        with self._cond:
            return [d.json for d in self.received if d.kind == "ack" and d.json and d.json.get("ref") == ref]

    def wait_ack(self, ref: str, timeout: float = 10.0) -> dict:
        return self.wait(lambda d: d.kind == "ack" and d.json.get("ref") == ref, timeout).json

    # ---- sending ------------------------------------------------------------------------------------
    def publish(self, kind: str, payload: Any, properties: Properties | None = None, device: str | None = None,
                retain: bool = False, wait: bool = True) -> None:
        data = payload if isinstance(payload, (bytes, bytearray)) else \
            json.dumps(payload, ensure_ascii=False).encode("utf-8")
        info = self.client.publish(f"gov/v1/up/{device or self.device}/{kind}", data, qos=1,
                                   properties=properties, retain=retain)
        if wait:
            info.wait_for_publish(10)

    def ack_count(self) -> int:
        return self._acks

    def envelope(self, kind: str, type_: str, **fields: Any) -> dict:
        self._seq[kind] = self._seq.get(kind, 0) + 1
        return {"type": type_, "v": 1, "msg_id": str(uuid.uuid4()), "seq": self._seq[kind], "sent_at": now_iso(),
                "device": self.device, **fields}

    def case(self, applicant: dict | None = None, materials: list | None = None, **over: Any) -> dict:
        body = self.envelope("case", "case.submit", case_id=str(uuid.uuid4()), query_code=mint_query_code(),
                             site=self.site, created_at=now_iso(),
                             item={"code": "511900-XK-0001", "situation": "S02", "catalog": 1}, channel="self",
                             applicant=applicant or {"name": "张伟", "id_type": "resident",
                                                     "id_no": "511902198806120319", "phone": "13800000000"},
                             agent=None, materials=materials if materials is not None else
                             [{"code": "M01", "source": "paper"}, {"code": "M02", "source": "shared"}],
                             pickup={"method": "window", "detail": ""},
                             consent={"version": "2026-01", "at": now_iso()}, test=False)
        body.update(over)
        return body

    def send_case(self, case: dict) -> dict:
        self.publish("case", case)
        return case

    def send_chunk(self, blob_id: str, data: bytes, index: int, count: int, size: int, sha: str,
                   msg_id: str | None = None) -> str:
        msg_id = msg_id or str(uuid.uuid4())
        props = Properties(PacketTypes.PUBLISH)
        props.UserProperty = [("blob_id", blob_id), ("index", str(index)), ("count", str(count)),
                              ("size", str(size)), ("sha256", sha), ("mime", "application/pdf"),
                              ("msg_id", msg_id)]
        self.publish("blob", data, properties=props)
        return msg_id

    def send_blob(self, blob_id: str, data: bytes, chunk: int = 65536, only: list[int] | None = None,
                  sha: str | None = None) -> list[str]:
        """Sends the chunks of ``data`` (or only the given indexes); returns their msg_ids."""
        sha = sha or hashlib.sha256(data).hexdigest()
        count = max(1, -(-len(data) // chunk))
        ids = []
        for index in range(count):
            if only is None or index in only:
                ids.append(self.send_chunk(blob_id, data[index * chunk:(index + 1) * chunk], index, count,
                                           len(data), sha))
        return ids

    def request(self, type_: str, timeout: float = 10.0, expiry: int = 30, **fields: Any) -> dict:
        correlation = os.urandom(16)
        props = Properties(PacketTypes.PUBLISH)
        props.ResponseTopic = f"gov/v1/down/{self.device}/reply"
        props.CorrelationData = correlation
        props.MessageExpiryInterval = expiry
        self.publish("request", self.envelope("request", type_, **fields), properties=props)
        return self.wait(lambda d: d.kind == "reply" and d.correlation == correlation, timeout).json
