"""The running central simulator: one MQTT 5 client on shared subscriptions, one worker thread that owns
the database and handles messages in batches (one transaction per batch, acks only after commit, the
broker's PUBACK only after that), case progress ticks and the catalog publication."""
from __future__ import annotations

import json
import logging
import os
import queue
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from simulators.central import catalog_pub, store
from simulators.central.broker import TlsFiles, parse_broker
from simulators.central.catalog import MANIFEST_TOPIC, Catalog, part_topic
from simulators.central.context import Context, Incoming, Outgoing, real_now
from simulators.central.contract import SHARE_GROUP, UP_KINDS, UP_TOPIC_RE, CaseStatus
from simulators.central.downblobs import handle_blob_fetch, is_blob_fetch
from simulators.central.flow import FlowControl, MissingGrace, kind_of
from simulators.central.handlers import handle_blob, handle_case, handle_event, handle_state
from simulators.central.notify import due_notifies, force_status
from simulators.central.presence import Announcer
from simulators.central.requests import handle_request
from simulators.central.sequencer import Sequencer
from simulators.central.signing import CATALOG_KEY
from simulators.link import emit

if TYPE_CHECKING:
    from simulators.central.rollouts import Rollouts

log = logging.getLogger("central")

BATCH = 500          # messages per transaction: one commit for many acks
TICK_SECONDS = 0.25  # how often case progress is looked at (real seconds)
BUSY_RETRIES = 50    # × 0.2 s on top of SQLite's own 30 s busy timeout
RETAINED_GRACE_S = 0.5  # after SUBACK, how long the broker's retained manifest may take to arrive
PARKED_POLL_S = 0.05    # how often an instance looks for cases parked for the devices it owns


def is_busy(exc: sqlite3.OperationalError) -> bool:
    """The other instance holds the write lock (worth waiting for), as opposed to a real fault."""
    text = str(exc).lower()
    return "locked" in text or "busy" in text


class CentralService:
    def __init__(self, ctx: Context, broker_url: str, db_path: str, client_id: str | None = None,
                 tls_files: TlsFiles | None = None, instance: str | None = None, busy_after_s: float = 10.0,
                 registry: dict[str, dict] | None = None) -> None:
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
        # Fleet (contract addendum): retained online state, busy answers, device order, missing grace.
        self.announcer = Announcer(instance or (client_id if client_id else f"central-{os.getpid()}"))
        self.flow = FlowControl(busy_after_s)
        self.sequencer = Sequencer(self.announcer.instance)
        self._next_drain = 0.0
        self.grace = MissingGrace()
        self.registry = registry or {}
        self._retained_manifest: dict | None = None
        self.catalog_publications = 0
        self.rollouts: Rollouts | None = None   # set by the command line (simulators/central/rollouts.py)
        self.client = self._make_client()

    # ---- MQTT ---------------------------------------------------------------------------------------
    def _make_client(self) -> mqtt.Client:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=self.client_id, protocol=mqtt.MQTTv5,
                             manual_ack=True)
        client.max_inflight_messages_set(1000)  # acks flow at thousands per second; 20 would throttle them
        client.max_queued_messages_set(0)
        # Central is one client, not a fleet: it comes back at once after a broker restart.
        client.reconnect_delay_set(0.2, 1)  # type: ignore[arg-type]  # paho's stub says int; it sleeps floats
        self.announcer.next_epoch()
        client.will_set(self.announcer.topic, self.announcer.payload(False), qos=1, retain=True)
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
        if self.registry:
            self.call(lambda conn: self._load_registry(conn))
        self.client.connect(host, port, keepalive=30, clean_start=not self.persistent, properties=props)
        self.client.loop_start()
        if not self.subscribed.wait(ready_timeout):
            raise TimeoutError("broker did not grant central's subscriptions")
        time.sleep(RETAINED_GRACE_S)
        self.publish_catalog(self.ctx.catalog, wait=True)
        self._announce(online=True)
        self.sequencer.announced(time.monotonic())

    def _leave(self, conn) -> None:
        """A clean stop hands this instance's devices to the others at once (not after LIVE_S)."""
        with store.Transaction(conn):
            self.sequencer.leave(conn)

    def _load_registry(self, conn) -> None:
        with store.Transaction(conn):
            store.load_registry(conn, self.registry)

    def stop(self) -> None:
        self.call(self._leave, timeout=5)
        self.stopping.set()
        if self._worker is not None:
            self._worker.join(10)
        try:
            self._announce(online=False).wait_for_publish(2)
        except (RuntimeError, ValueError, OSError):
            pass
        self.client.disconnect()
        self.client.loop_stop()

    def _announce(self, online: bool) -> mqtt.MQTTMessageInfo:
        return self.client.publish(self.announcer.topic, self.announcer.payload(online), qos=1, retain=True)

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.error("broker refused central: %s", reason_code)
            return
        self._generation += 1
        log.info("connected to %s as %s", self.broker_url, self.client_id)
        self._retained_manifest = None
        client.subscribe([(f"$share/{SHARE_GROUP}/gov/v1/up/+/{kind}", SubscribeOptions(qos=1))
                          for kind in UP_KINDS] + [(MANIFEST_TOPIC, SubscribeOptions(qos=1))])

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        if any(code.is_failure for code in reason_codes):
            log.error("subscriptions refused: %s", reason_codes)
            return
        if self.subscribed.is_set():
            # Back after a reconnect: say so at once (terminals re-send what the broker dropped while
            # nobody consumed), then publish the catalog only if the broker lost it.
            self._announce(online=True)
            self.sequencer.announced(time.monotonic())
            threading.Thread(target=self._after_resubscribe, name="central-resubscribed", daemon=True).start()
        self.subscribed.set()

    def _after_resubscribe(self) -> None:
        time.sleep(RETAINED_GRACE_S)
        try:
            self.publish_catalog(self.ctx.catalog, wait=False)
        except Exception:
            log.exception("catalog check after reconnect failed")

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        # The next connection is a new epoch, with a will that says so.
        self.sequencer.unannounced()
        self.announcer.next_epoch()
        client.will_set(self.announcer.topic, self.announcer.payload(False), qos=1, retain=True)
        if not self.stopping.is_set():
            log.warning("lost the broker (%s); reconnecting", reason_code)

    def _on_message(self, client, userdata, message: mqtt.MQTTMessage) -> None:
        if message.topic == MANIFEST_TOPIC:
            self._retained_manifest = _manifest_or_none(bytes(message.payload))
            if message.qos > 0:
                client.ack(message.mid, message.qos)
            return
        props = message.properties
        user = dict(getattr(props, "UserProperty", []) or [])
        incoming = Incoming(message.topic, bytes(message.payload), user, getattr(props, "ResponseTopic", None),
                            getattr(props, "CorrelationData", None),
                            getattr(props, "MessageExpiryInterval", None), time.monotonic(),
                            self._inbox.qsize() + len(self._held))
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
        """Publishes ``catalog`` unless the broker holds it already or another instance claimed it
        (catalog_pub): retained parts first, then the signed manifest, so a kiosk never sees a manifest
        whose parts are not there yet; then the retained parts of older versions are cleared."""
        stamp = catalog.data.get("published_at")
        published_at = stamp if isinstance(stamp, str) else real_now()
        pub = catalog_pub.publication(catalog, published_at)
        retained = self._retained_manifest
        decision: list = [False, []]

        def decide(conn) -> None:
            with store.Transaction(conn):
                decision[0] = catalog_pub.claim(conn, pub, self.announcer.instance, retained)
                decision[1] = catalog_pub.stale_parts(conn, pub.version) if decision[0] else []

        error = self.call(decide)
        if error is not None:
            raise RuntimeError(f"catalog publication not decided: {error}")
        self.ctx.catalog = catalog
        if not decision[0]:
            log.info("catalog version %d already published: nothing sent", catalog.version)
            return
        infos = [self.client.publish(part_topic(catalog.version, n), part, qos=1, retain=True)
                 for n, part in enumerate(pub.parts)]
        signed = self.ctx.keys.sign(pub.manifest, CATALOG_KEY)
        infos.append(self.client.publish(MANIFEST_TOPIC, Outgoing("", signed).encode(), qos=1, retain=True))
        infos += [self.client.publish(topic, b"", qos=1, retain=True) for topic in decision[1]]
        if wait:
            for info in infos:
                info.wait_for_publish(10)
        self.catalog_publications += 1
        log.info("catalog version %d published in %d parts (%d old parts cleared)", catalog.version,
                 len(pub.parts), len(decision[1]))

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
        drain = time.monotonic() >= self._next_drain
        if (self._held or drain) and not self.ctx.controls.paused:
            self._next_drain = time.monotonic() + PARKED_POLL_S
            batch, self._held = self._held, []
            self._process(conn, batch)
        if self.grace.pending and not self.ctx.controls.paused:
            with store.Transaction(conn):
                late = self.grace.due(conn, time.monotonic())
            for out in late:
                self.publish(out)
        if time.monotonic() >= self._next_tick:
            self._next_tick = time.monotonic() + TICK_SECONDS
            self._tick(conn)

    def _take_batch(self, conn: sqlite3.Connection) -> list[tuple]:
        """Up to BATCH messages; control calls run as they come (also while paused)."""
        batch: list[tuple] = []
        timeout = PARKED_POLL_S
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
        started = time.monotonic()
        refused: list[Outgoing] = []
        kept: list[tuple] = []
        answered: list[tuple] = []
        for item in batch:
            answer = self.flow.refuse(item[1], kind_of(item[1]), started)
            if answer is None:
                kept.append(item)
            else:
                refused.append(answer)      # PUBACKed below with the rest: the terminal keeps it
                answered.append(item)
        handled = 0
        for attempt in range(BUSY_RETRIES + 1):
            outgoing: list[Outgoing] = []
            self._emits = []
            try:
                with store.Transaction(conn):
                    # Cases of devices another instance owns, or early ones, are parked (committed before
                    # the PUBACK); this instance's devices' cases come in seq order, parked ones included.
                    work = self.sequencer.plan(conn, [item[1] for item in kept], time.monotonic())
                    for incoming in work:
                        outgoing.extend(self._dispatch_safely(conn, incoming))
                    handled = len(work)
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
        self.stats["handled"] += handled
        self.flow.observe(handled, time.monotonic() - started)
        for out in refused + self.grace.hold(outgoing, time.monotonic()):
            self.publish(out)
        for line in self._emits:
            emit(line)
        self._emits = []
        for _, _, mid, qos, generation in batch:
            if qos > 0 and generation == self._generation:
                self.client.ack(mid, qos)

    def _dispatch_safely(self, conn: sqlite3.Connection, incoming: Incoming, again: bool = True) -> list[Outgoing]:
        """Handles one message inside a savepoint: whatever a malformed message does, it neither stops
        central nor leaves half its writes behind. A unique key taken meanwhile by another instance (the
        same msg_id or case_id handled there) means the message is decided: handled again, it gets that
        first outcome as a duplicate."""
        conn.execute("SAVEPOINT one")
        try:
            out = self._dispatch(conn, incoming)
            conn.execute("RELEASE one")
            return out
        except sqlite3.IntegrityError:
            conn.execute("ROLLBACK TO one")
            conn.execute("RELEASE one")
            if again:
                return self._dispatch_safely(conn, incoming, again=False)
            log.exception("handler failed on %s; message dropped", incoming.topic)
            return []
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
    def request_correction(self, case_ref: str, codes: list[str], note: str) -> str | None:
        """Puts a case in correction_needed asking for these materials (补正) and pushes its notify."""
        from simulators.central.service_up import request_correction

        def run(conn: sqlite3.Connection) -> str | None:
            with store.Transaction(conn):
                out = request_correction(self.ctx, conn, case_ref, [c for c in codes if c], note[:200])
            if out is None:
                return f"no case {case_ref!r}"
            self.publish(out)
            return None

        return self.call(run)

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


def _manifest_or_none(payload: bytes) -> dict | None:
    """The broker's retained catalog manifest as a dict (None when cleared or unreadable)."""
    try:
        obj = json.loads(payload) if payload else None
    except (UnicodeDecodeError, ValueError):
        return None
    return obj if isinstance(obj, dict) else None
