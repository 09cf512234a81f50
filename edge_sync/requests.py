"""Requests to central (§6): Response Topic + 16-byte Correlation Data, 30 s Message Expiry; the
caller waits at most its own timeout, late replies are dropped."""
from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable, Mapping
from typing import Any

from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from edge_sync.outbox import new_msg_id, now_iso
from edge_sync.service_models import REQUEST_TYPES as SERVICE_REQUEST_TYPES
from edge_sync.session import Session

log = logging.getLogger("edge_sync.requests")

REQUEST_TYPES = ("case.query", "case.list", "pickup.verify", "queue.take", "agent.login", "materials.shared",
                 "blob.fetch", *SERVICE_REQUEST_TYPES)  # the addendum's (docs/contract-addendum.md)


class _Waiter:
    __slots__ = ("event", "reply")

    def __init__(self) -> None:
        self.event = threading.Event()
        self.reply: dict[str, Any] | None = None


class Requests:
    """Correlates replies with waiting callers; nothing here is stored (requests are not durable)."""

    def __init__(self, session: Session, device_id: str, next_seq: Callable[[], int], expiry_s: int = 30) -> None:
        self.session = session
        self._next_seq = next_seq
        self.reply_topic = f"gov/v1/down/{device_id}/reply"
        self.expiry_s = expiry_s
        self._waiting: dict[bytes, _Waiter] = {}
        self._lock = threading.Lock()

    def call(self, type_: str, fields: Mapping[str, Any], timeout: float) -> dict[str, Any] | None:
        """Sends the request and waits up to ``timeout`` s; the reply dict, or None (offline/no answer).

        Raises ValueError for a request type the contract does not know."""
        if type_ not in REQUEST_TYPES:
            raise ValueError(f"unknown request type {type_!r}")
        if not self.session.connected.is_set():
            return None
        correlation = os.urandom(16)
        props = Properties(PacketTypes.PUBLISH)
        props.ResponseTopic = self.reply_topic
        props.CorrelationData = correlation
        props.MessageExpiryInterval = self.expiry_s
        body = {**fields, "type": type_, "v": 1, "msg_id": new_msg_id(), "seq": self._next_seq(),
                "sent_at": now_iso()}
        waiter = _Waiter()
        with self._lock:
            self._waiting[correlation] = waiter
        try:
            payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
            if self.session.publish("request", payload, properties=props) is None:
                return None
            waiter.event.wait(max(0.0, timeout))
            return waiter.reply
        finally:
            with self._lock:
                self._waiting.pop(correlation, None)

    def take_reply(self, correlation: bytes | None, payload: dict[str, Any]) -> bool:
        """Hands a reply to its caller; False when nobody waits for it any more (late: dropped)."""
        if not correlation:
            return False
        with self._lock:
            waiter = self._waiting.get(bytes(correlation))
        if waiter is None:
            return False
        waiter.reply = payload
        waiter.event.set()
        return True
