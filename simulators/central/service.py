"""The running central simulator: one MQTT 5 client on shared subscriptions, one worker thread that owns
the database and handles messages in batches (one transaction per batch, acks only after commit, the
broker's PUBACK only after that), case progress ticks and the catalog publication."""
from __future__ import annotations

import logging
import os
import queue
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlparse

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from simulators.central import store
from simulators.central.catalog import MANIFEST_TOPIC, Catalog, build_publication, part_topic
from simulators.central.context import Context, Incoming, Outgoing, real_now
from simulators.central.contract import SHARE_GROUP, UP_KINDS, UP_TOPIC_RE, CaseStatus
from simulators.central.downblobs import handle_blob_fetch, is_blob_fetch
from simulators.central.handlers import handle_blob, handle_case, handle_event, handle_state
from simulators.central.notify import due_notifies, force_status
from simulators.central.requests import handle_request
from simulators.central.signing import CATALOG_KEY
from simulators.link import emit

if TYPE_CHECKING:
    from simulators.central.rollouts import Rollouts

log = logging.getLogger("central")

BATCH = 500          # messages per transaction: one commit for many acks
TICK_SECONDS = 0.25  # how often case progress is looked at (real seconds)
BUSY_RETRIES = 50    # × 0.2 s on top of SQLite's own 30 s busy timeout


def is_busy(exc: sqlite3.OperationalError) -> bool:
    """The other instance holds the write lock (worth waiting for), as opposed to a real fault."""
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def parse_broker(url: str) -> tuple[str, int, bool]:
    """(host, port, tls) from ``mqtt://host:port``, ``mqtts://host:port`` or ``host:port``.
    Raises ValueError on anything else."""
    parsed = urlparse(url if "://" in url else f"mqtt://{url}")
    if parsed.scheme not in ("mqtt", "mqtts", "tcp", "ssl") or not parsed.hostname:
        raise ValueError(f"bad broker URL {url!r}: expected mqtt://host:port")
    tls = parsed.scheme in ("mqtts", "ssl")
    return parsed.hostname, parsed.port or (8883 if tls else 1883), tls


@dataclass(frozen=True)
class TlsFiles:
    """Files for ``mqtts://``: the CA that signed the broker's certificate (None: the system CAs) and
    central's own client certificate and key (None: no client certificate). A broker with
    ``require_certificate`` needs the pair; its ACL then knows central by the certificate's CN."""

    ca: str | None = None
    cert: str | None = None
    key: str | None = None

    def __post_init__(self) -> None:
        if (self.cert is None) != (self.key is None):
            raise ValueError("--cert and --key go together (central's TLS client certificate)")

    @property
    def empty(self) -> bool:
        return self.ca is None and self.cert is None

    def check_for(self, tls: bool) -> None:
        """Raises ValueError when files are given for a plain ``mqtt://`` broker (they would be ignored
        silently, and central would talk in clear to a broker meant to be reached over TLS)."""
        if not tls and not self.empty:
            raise ValueError("--ca/--cert/--key need an mqtts:// broker URL")

    def apply(self, client: mqtt.Client) -> None:
        """Turns TLS on for ``client``. Raises OSError (ssl.SSLError, FileNotFoundError) when a file is
        missing or not a certificate/key, before any connection is tried."""
        for option, path in (("--ca", self.ca), ("--cert", self.cert), ("--key", self.key)):
            if path is not None and not os.path.isfile(path):
                raise FileNotFoundError(f"{option} {path}: no such file")
        client.tls_set(ca_certs=self.ca, certfile=self.cert, keyfile=self.key)


class CentralService:
    def __init__(self, ctx: Context, broker_url: str, db_path: str, client_id: str | None = None,
                 tls_files: TlsFiles | None = None) -> None:
        self.ctx = ctx
        self.broker_url = broker_url
        self.db_path = db_path
        self.tls_files = tls_files or TlsFiles()
        self.persistent = client_id is not None
        self.client_id = client_id or f"central-sim-{os.getpid()}-{secrets.token_hex(3)}"
        self.stopping = threading.Event()
        self.subscribed = threading.Event()
        self._inbox: queue.Queue[tuple] = queue.Queue()
        self._held: list[tuple] = []
        self._generation = 0  # connection counter: a PUBACK may only go out on the connection it belongs to
        self._worker: threading.Thread | None = None
        self._next_tick = 0.0
        self._emits: list[dict] = []
        self.stats = {"handled": 0, "published": 0, "notifies": 0}
        self.rollouts: Rollouts | None = None   # set by the command line (simulators/central/rollouts.py)
        self.client = self._make_client()

    # ---- MQTT ---------------------------------------------------------------------------------------
    def _make_client(self) -> mqtt.Client:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=self.client_id, protocol=mqtt.MQTTv5,
                             manual_ack=True)
        client.max_inflight_messages_set(1000)  # acks flow at thousands per second; 20 would throttle them
        client.max_queued_messages_set(0)
        client.reconnect_delay_set(0.2, 5)
        client.on_connect = self._on_connect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        client.on_disconnect = self._on_disconnect
        return client

    def start(self, ready_timeout: float = 15.0) -> None:
        """Connects, subscribes, publishes the catalog and starts the worker. Raises TimeoutError when
        the broker did not grant the subscriptions in time, OSError when it cannot be reached or a TLS
        file is unusable, ValueError when TLS files are given for a plain ``mqtt://`` URL."""
        host, port, tls = parse_broker(self.broker_url)
        self.tls_files.check_for(tls)
        if tls:
            self.tls_files.apply(self.client)
        props = Properties(PacketTypes.CONNECT)
        if self.persistent:
            props.SessionExpiryInterval = 86400  # a named instance keeps its queue across restarts
        self._worker = threading.Thread(target=self._work, name="central-worker", daemon=True)
        self._worker.start()
        self.client.connect(host, port, keepalive=30, clean_start=not self.persistent, properties=props)
        self.client.loop_start()
        if not self.subscribed.wait(ready_timeout):
            raise TimeoutError("broker did not grant central's subscriptions")
        self.publish_catalog(self.ctx.catalog, wait=True)

    def stop(self) -> None:
        self.stopping.set()
        if self._worker is not None:
            self._worker.join(10)
        self.client.disconnect()
        self.client.loop_stop()

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.error("broker refused central: %s", reason_code)
            return
        self._generation += 1
        log.info("connected to %s as %s", self.broker_url, self.client_id)
        client.subscribe([(f"$share/{SHARE_GROUP}/gov/v1/up/+/{kind}", SubscribeOptions(qos=1))
                          for kind in UP_KINDS])

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        if any(code.is_failure for code in reason_codes):
            log.error("subscriptions refused: %s", reason_codes)
            return
        if self.subscribed.is_set():
            self.publish_catalog(self.ctx.catalog, wait=False)  # after a broker restart without persistence
        self.subscribed.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        if not self.stopping.is_set():
            log.warning("lost the broker (%s); reconnecting", reason_code)

    def _on_message(self, client, userdata, message: mqtt.MQTTMessage) -> None:
        props = message.properties
        user = dict(getattr(props, "UserProperty", []) or [])
        incoming = Incoming(message.topic, message.payload, user, getattr(props, "ResponseTopic", None),
                            getattr(props, "CorrelationData", None),
                            getattr(props, "MessageExpiryInterval", None), time.monotonic())
        self._inbox.put(("msg", incoming, message.mid, message.qos, self._generation))

    def publish(self, out: Outgoing) -> None:
        copies = self.ctx.controls.ack_copies() if out.is_ack else 1
        self.stats["published"] += copies
        props = None
        if out.correlation is not None or out.user:
            props = Properties(PacketTypes.PUBLISH)
            if out.correlation is not None:
                props.CorrelationData = out.correlation
            if out.user:
                props.UserProperty = out.user
        data = out.encode()
        for _ in range(copies):
            self.client.publish(out.topic, data, qos=1, retain=out.retain, properties=props)

    def publish_catalog(self, catalog: Catalog, wait: bool) -> None:
        """Retained parts first, then the signed manifest, so a kiosk never sees a manifest whose parts
        are not there yet."""
        published_at = catalog.data.get("published_at") if isinstance(catalog.data.get("published_at"), str) \
            else real_now()
        parts, manifest = build_publication(catalog, published_at)
        infos = [self.client.publish(part_topic(catalog.version, n), part, qos=1, retain=True)
                 for n, part in enumerate(parts)]
        signed = self.ctx.keys.sign(manifest, CATALOG_KEY)
        infos.append(self.client.publish(MANIFEST_TOPIC, Outgoing("", signed).encode(), qos=1, retain=True))
        if wait:
            for info in infos:
                info.wait_for_publish(10)
        self.ctx.catalog = catalog
        log.info("catalog version %d published in %d parts", catalog.version, len(parts))

    # ---- worker -------------------------------------------------------------------------------------
    def call(self, fn: Callable[[sqlite3.Connection], str | None], timeout: float = 15.0) -> str | None:
        """Runs ``fn(conn)`` on the worker thread (which owns the database) and returns its result."""
        done = threading.Event()
        box: list = [None]

        def run(conn: sqlite3.Connection) -> None:
            try:
                box[0] = fn(conn)
            except Exception as exc:  # a bad command must not stop central
                box[0] = f"{type(exc).__name__}: {exc}"
            done.set()

        self._inbox.put(("call", run))
        if not done.wait(timeout):
            return "timed out waiting for the worker"
        return box[0]

    def _work(self) -> None:
        conn = store.connect(self.db_path)
        try:
            while not self.stopping.is_set():
                try:
                    self._work_once(conn)
                except Exception:  # never let one bad turn silence central; the log says what happened
                    log.exception("worker turn failed")
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
        finally:
            conn.close()

    def _work_once(self, conn: sqlite3.Connection) -> None:
        self._held.extend(self._take_batch(conn))
        if self._held and not self.ctx.controls.paused:
            batch, self._held = self._held, []
            self._process(conn, batch)
        if time.monotonic() >= self._next_tick:
            self._next_tick = time.monotonic() + TICK_SECONDS
            self._tick(conn)

    def _take_batch(self, conn: sqlite3.Connection) -> list[tuple]:
        """Up to BATCH messages; control calls run as they come (also while paused)."""
        batch: list[tuple] = []
        timeout = TICK_SECONDS
        while len(batch) < BATCH:
            try:
                item = self._inbox.get(timeout=timeout) if not batch else self._inbox.get_nowait()
            except queue.Empty:
                break
            if item[0] == "call":
                item[1](conn)
                continue
            batch.append(item)
            timeout = 0
        return batch

    def _process(self, conn: sqlite3.Connection, batch: list[tuple]) -> None:
        for attempt in range(BUSY_RETRIES + 1):
            outgoing: list[Outgoing] = []
            self._emits = []
            try:
                with store.Transaction(conn):
                    for _, incoming, _, _, _ in batch:
                        outgoing.extend(self._dispatch_safely(conn, incoming))
                break
            except sqlite3.OperationalError as exc:  # locked beyond busy_timeout by the other instance
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if attempt == BUSY_RETRIES:
                    # nothing acked, nothing PUBACKed: the kiosks re-send after their ack timeout
                    log.error("database unusable (%s); %d messages left unanswered", exc, len(batch))
                    return
                log.warning("database busy (%s); retrying the batch", exc)
                time.sleep(0.2)
        self.stats["handled"] += len(batch)
        for out in outgoing:
            self.publish(out)
        for line in self._emits:
            emit(line)
        self._emits = []
        for _, _, mid, qos, generation in batch:
            if qos > 0 and generation == self._generation:
                self.client.ack(mid, qos)

    def _dispatch_safely(self, conn: sqlite3.Connection, incoming: Incoming) -> list[Outgoing]:
        """Handles one message inside a savepoint: whatever a malformed message does, it neither stops
        central nor leaves half its writes behind."""
        conn.execute("SAVEPOINT one")
        try:
            out = self._dispatch(conn, incoming)
            conn.execute("RELEASE one")
            return out
        except sqlite3.OperationalError as exc:
            if is_busy(exc):
                raise  # the whole batch is tried again
            log.exception("handler failed on %s; message dropped", incoming.topic)
            conn.execute("ROLLBACK TO one")
            conn.execute("RELEASE one")
            return []
        except Exception:
            log.exception("handler failed on %s; message dropped", incoming.topic)
            conn.execute("ROLLBACK TO one")
            conn.execute("RELEASE one")
            return []

    def _dispatch(self, conn: sqlite3.Connection, incoming: Incoming) -> list[Outgoing]:
        match = UP_TOPIC_RE.match(incoming.topic)
        if match is None:
            return []
        device, kind = match.groups()
        if kind == "case":
            return handle_case(self.ctx, conn, device, incoming)
        if kind == "blob":
            return handle_blob(conn, device, incoming)
        if kind == "event":
            answers = handle_event(self.ctx, conn, device, incoming)
            if self.rollouts is not None:
                self._emits.extend(self.rollouts.observe(device, incoming.payload))
            return answers
        if kind == "request":
            if is_blob_fetch(incoming):
                return handle_blob_fetch(self.ctx.bundles, device, incoming)
            return handle_request(self.ctx, conn, device, incoming)
        if kind == "state":
            change = handle_state(conn, device, incoming)
            if change is not None:
                self._emits.append({"event": "device", **change})  # printed once committed
        return []

    def _tick(self, conn: sqlite3.Connection) -> None:
        try:
            with store.Transaction(conn):
                notifies = due_notifies(self.ctx, conn)
        except sqlite3.OperationalError as exc:
            log.warning("progress tick skipped: %s", exc)
            return
        self.stats["notifies"] += len(notifies)
        for out in notifies:
            self.publish(out)
        if notifies:
            self._next_tick = 0.0  # more may be due: look again at once

    def held_count(self) -> int:
        """Messages received but not handled yet (held while paused)."""
        return len(self._held)

    def tick_soon(self) -> None:
        """Look at case progress at once (after ``advance``)."""
        self._next_tick = 0.0
        self._inbox.put(("call", lambda conn: None))  # wakes the worker

    # ---- stdin commands -----------------------------------------------------------------------------
    def force(self, case_ref: str, status: str) -> str | None:
        if status not in {s.value for s in CaseStatus}:
            return f"unknown status {status!r}"

        def run(conn: sqlite3.Connection) -> str | None:
            with store.Transaction(conn):
                out = force_status(self.ctx, conn, case_ref, status)
            if out is None:
                return f"no case {case_ref!r}"
            self.publish(out)
            return None

        return self.call(run)
