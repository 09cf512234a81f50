"""The MQTT 5 session of the device (paho-mqtt 2): persistent session, will and birth carrying the
persisted epoch, TLS with a client certificate, jittered exponential reconnect, broker limits."""
from __future__ import annotations

import json
import logging
import random
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from edge_sync.config import SyncConfig
from edge_sync.fleet import OLD_CATALOG_FILTER, fleet_filters
from edge_sync.store import Store
from edge_sync.supervise import Supervisor, Worker, lower_thread_priority

log = logging.getLogger("edge_sync.session")

SESSION_EXPIRY_S = 604800
WILL_DELAY_S = 5
CONTRACT_MAX_PAYLOAD = 262144
CONNECTED_BEAT_S = 5.0  # well inside the stall limit below
STALL_MARGIN_S = 60.0   # beyond the longest backoff wait: a connection attempt (TCP + TLS + CONNACK)
# Room for the fixed header, topic, packet id and the blob chunk's user properties.
PUBLISH_OVERHEAD = 1024


@dataclass
class Limits:
    """What the broker's CONNACK allows for this connection."""

    max_packet: int | None = None
    receive_maximum: int = 65535

    def max_payload(self) -> int:
        if self.max_packet is None:
            return CONTRACT_MAX_PAYLOAD
        return max(0, min(CONTRACT_MAX_PAYLOAD, self.max_packet - PUBLISH_OVERHEAD))


class _Client(mqtt.Client):
    """paho's client whose network thread (``loop_start``) waits up to ``loop_wait_s`` for traffic instead
    of paho's fixed second: a publish, subscribe or disconnect from another thread wakes it at once
    through paho's own socket pair, so the wait only bounds how late a keepalive ping may go out."""

    loop_wait_s = 1.0

    def _thread_main(self) -> None:  # what loop_start runs, with the longer wait; below the process's priority
        lower_thread_priority()
        try:
            self.loop_forever(timeout=self.loop_wait_s, retry_first_connection=True)
        finally:
            self._thread = None


def loop_wait(keepalive_s: int) -> float:
    """The network thread's longest wait: a quarter of the keepalive (a ping then goes out by 1.25 ×
    keepalive, well before the broker's 1.5 × limit), never under paho's own second."""
    return max(1.0, keepalive_s / 4)


class Session:
    """Keeps one connection up from a supervised worker (``sync-connection``): an error while
    connecting — a store that cannot write the epoch, a certificate file missing during renewal — is
    retried with backoff and counted, never the end of the connection. A fresh paho client per
    connection so that nothing of a dead connection is re-sent behind the outbox's back.

    Callbacks run on paho's network thread: ``on_up(limits)`` after CONNACK, ``on_down()``,
    ``on_message(msg)``, ``on_published(mid)``; ``birth()`` returns the birth fields."""

    def __init__(self, cfg: SyncConfig, store: Store, *, on_up: Callable[[Limits], None],
                 on_down: Callable[[], None], on_message: Callable[[mqtt.MQTTMessage], None],
                 on_published: Callable[[int], None], birth: Callable[[], dict[str, Any]]) -> None:
        self.cfg = cfg
        self.store = store
        self._on_up, self._on_down, self._on_message = on_up, on_down, on_message
        self._on_published, self._birth = on_published, birth
        self.prefix = f"gov/v1/up/{cfg.device_id}"
        self.limits = Limits()
        self.epoch = int(store.get("epoch", 0))
        self.connected = threading.Event()
        self.subscribed = threading.Event()   # SUBACK seen on the current connection
        self._down = threading.Event()
        self._stop = threading.Event()
        self._client: mqtt.Client | None = None
        self._worker: Worker | None = None
        self._last_error = ""
        self._cap = 1
        self._had_connack = False
        self._unpubacked = 0
        self._count_lock = threading.Lock()
        self.extra_filters: Callable[[], list[str]] = list   # further downlink filters on every connection

    # -- lifecycle --------------------------------------------------------------------------------
    def start(self, supervisor: Supervisor) -> None:
        self._stop.clear()
        # The longest quiet stretch of the loop is one backoff wait between connection attempts.
        self._worker = supervisor.spawn("sync-connection", self._supervise,
                                        stall_after_s=self.cfg.reconnect_max_s + STALL_MARGIN_S)

    def stop(self, timeout: float = 5.0) -> None:
        """Says goodbye (retained offline state), disconnects cleanly and joins the threads."""
        self._stop.set()
        client = self._client
        if client is not None and self.connected.is_set():
            try:
                info = client.publish(f"{self.prefix}/state", self._state(False), qos=1, retain=True)
                info.wait_for_publish(timeout=min(1.0, timeout))
            except (RuntimeError, ValueError, OSError):
                pass
            client.disconnect()
        self._down.set()
        if self._worker is not None:
            self._worker.stopping.set()
            self._worker.join(timeout)

    def publish(self, topic_suffix: str, payload: bytes, *, retain: bool = False,
                properties: Properties | None = None) -> int | None:
        """QoS 1 publish under ``gov/v1/up/{device}/``; returns the paho mid, or None when offline."""
        client = self._client
        if client is None or not self.connected.is_set():
            return None
        info = client.publish(f"{self.prefix}/{topic_suffix}", payload, qos=1, retain=retain, properties=properties)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            return None
        with self._count_lock:
            self._unpubacked += 1
        return info.mid

    def subscribe(self, filters: list[str]) -> None:
        """QoS 1 subscriptions now (retained messages come with them); on later connections they come
        from ``extra_filters``. Nothing happens while offline."""
        client = self._client
        if filters and client is not None and self.connected.is_set():
            client.subscribe([(f, SubscribeOptions(qos=1)) for f in filters])

    def unsubscribe(self, filters: list[str]) -> None:
        client = self._client
        if filters and client is not None and self.connected.is_set():
            client.unsubscribe(filters)

    def room(self) -> int:
        """How many more QoS 1 publishes the broker's Receive Maximum allows right now."""
        if not self.connected.is_set():
            return 0
        with self._count_lock:
            return self._cap - self._unpubacked

    # -- supervisor -------------------------------------------------------------------------------
    def _supervise(self, worker: Worker) -> None:
        delay = self.cfg.reconnect_min_s
        while not self._stop.is_set():
            worker.beat()
            started = time.monotonic()
            up = self._run_one_connection(worker)
            if self._stop.is_set():
                break
            if up and time.monotonic() - started > 30:
                delay = self.cfg.reconnect_min_s     # a connection that lived: start the backoff again
            # Jitter spreads a hall's kiosks out after a broker restart.
            self._stop.wait(random.uniform(delay / 2, delay))
            delay = min(self.cfg.reconnect_max_s, delay * 2)

    def _run_one_connection(self, worker: Worker) -> bool:
        """One connection from CONNECT to its end; True when the broker accepted it. Errors other than
        the network's (store, certificate files) propagate to the supervisor, after cleaning up."""
        self.epoch = self.store.bump_epoch()   # may raise (disk full): nothing is connected yet
        client = self._new_client()   # the will carries the epoch; TLS reads the certificate files now
        host, port, _ = self.cfg.broker
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = SESSION_EXPIRY_S
        props.ReceiveMaximum = 65535
        self._down.clear()
        self._had_connack = False
        try:
            client.connect(host, port, keepalive=self.cfg.keepalive_s, clean_start=False, properties=props)
        except (OSError, ssl.SSLError, ValueError) as exc:
            self._log_error(f"cannot connect to {host}:{port}: {exc}")
            return False
        self._client = client
        client.loop_start()
        try:
            deadline = time.monotonic() + 15
            # Connected, only a lost connection or stop() (both set _down) needs this thread: beat seldom.
            while not self._stop.is_set() and not self._down.wait(CONNECTED_BEAT_S if self.connected.is_set()
                                                                  else 0.2):
                worker.beat(healthy=self.connected.is_set())
                if not self.connected.is_set() and time.monotonic() > deadline:
                    self._log_error("no CONNACK within 15 s")
                    client.disconnect()
                    break
            return self._had_connack
        finally:
            # Also when stopping (stop() disconnected a connected client already): a disconnect wakes the
            # network thread, which would otherwise finish its wait before loop_stop() returns.
            client.disconnect()
            client.loop_stop()
            self.subscribed.clear()
            if self.connected.is_set():
                self.connected.clear()
                self._safe(self._on_down)

    def _new_client(self) -> mqtt.Client:
        client = _Client(mqtt.CallbackAPIVersion.VERSION2, client_id=self.cfg.device_id,
                         protocol=mqtt.MQTTv5, reconnect_on_failure=False)
        client.loop_wait_s = loop_wait(self.cfg.keepalive_s)
        _, _, tls = self.cfg.broker
        if tls:
            client.tls_set(ca_certs=self.cfg.ca_file or None, certfile=self.cfg.cert_file or None,
                           keyfile=self.cfg.key_file or None, tls_version=ssl.PROTOCOL_TLS_CLIENT)
        will = Properties(PacketTypes.WILLMESSAGE)
        will.WillDelayInterval = WILL_DELAY_S
        client.will_set(f"{self.prefix}/state", self._state(False), qos=1, retain=True, properties=will)
        client.max_queued_messages_set(0)
        client.max_inflight_messages_set(0)
        client.on_connect = self._handle_connect
        client.on_disconnect = self._handle_disconnect
        client.on_message = self._handle_message
        client.on_publish = self._handle_publish
        client.on_subscribe = lambda *_args: self.subscribed.set()
        return client

    def _state(self, online: bool) -> bytes:
        body: dict[str, Any] = {"type": "state", "v": 1, "online": online, "epoch": self.epoch}
        if online:
            body.update(self._birth())
        return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()

    # -- paho callbacks (network thread) ------------------------------------------------------------
    def _handle_connect(self, client: mqtt.Client, _ud: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            self._log_error(f"broker refused the connection: {reason}")
            self._down.set()
            return
        limits = Limits()
        if props is not None:
            limits.max_packet = getattr(props, "MaximumPacketSize", None)
            limits.receive_maximum = getattr(props, "ReceiveMaximum", 65535)
        self.limits = limits
        self._had_connack = True
        # paho cannot change its in-flight cap once connected: the cap is kept here (see room()).
        self._cap = max(1, min(limits.receive_maximum - 8, self.cfg.receive_maximum))
        with self._count_lock:
            self._unpubacked = 0
        dev, site = self.cfg.device_id, self.cfg.site_id
        client.subscribe([(f"gov/v1/down/{dev}/#", SubscribeOptions(qos=1)), *fleet_filters(),
                          *[(f, SubscribeOptions(qos=1)) for f in self.extra_filters()],
                          (f"gov/v1/site/{site}/#", SubscribeOptions(qos=1))])
        # A session from before the addendum still holds the catalog wildcard: it would bring every
        # version's parts. Parts are fetched per version now (Downlink.wanted_filters).
        client.unsubscribe(OLD_CATALOG_FILTER)
        client.publish(f"{self.prefix}/state", self._state(True), qos=1, retain=True)
        if self._last_error:
            log.info("connected to the broker again (epoch %d)", self.epoch)
            self._last_error = ""
        self.connected.set()
        self._safe(self._on_up, limits)

    def _handle_disconnect(self, _c: mqtt.Client, _ud: Any, _flags: Any, reason: Any, _p: Any) -> None:
        self.subscribed.clear()
        if self.connected.is_set():
            self.connected.clear()
            if not self._stop.is_set():
                self._log_error(f"connection lost: {reason}")
            self._safe(self._on_down)
        self._down.set()

    def _handle_message(self, _c: mqtt.Client, _ud: Any, msg: mqtt.MQTTMessage) -> None:
        self._safe(self._on_message, msg)

    def _handle_publish(self, _c: mqtt.Client, _ud: Any, mid: int, _rc: Any, _p: Any) -> None:
        with self._count_lock:
            self._unpubacked = max(0, self._unpubacked - 1)
        self._safe(self._on_published, mid)

    def _log_error(self, text: str) -> None:
        # Once per outage, not once per retry.
        if text.split(":")[0] != self._last_error.split(":")[0]:
            log.warning("%s", text)
        self._last_error = text

    @staticmethod
    def _safe(fn: Callable[..., Any], *args: Any) -> None:
        try:
            fn(*args)
        except Exception:
            log.exception("edge_sync handler failed")
