"""SyncEngine: the one object the application holds — durable submission, requests with offline
fallback, events, downlink callbacks, health and status."""
from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt

from edge_sync.clock import Clock
from edge_sync.config import SyncConfig, SyncConfigError, check_key_table, read_key_tables
from edge_sync.crypto import DeviceKey
from edge_sync.downlink import Downlink
from edge_sync.drain import Drain
from edge_sync.fetch import BlobFetcher, DownBlob
from edge_sync.outbox import applicant_lookup, enqueue_case, enqueue_event, now_iso, outbox_stats
from edge_sync.requests import Requests
from edge_sync.results import Attachment, Offline, Reply, StorageFull, Submitted
from edge_sync.session import Limits, Session
from edge_sync.store import CaseState, Store
from edge_sync.upload import StoredBlob, enqueue_blob

log = logging.getLogger("edge_sync")

HEARTBEAT_S = 5.0


class SyncEngine:
    """Durable store-and-forward to central. Thread-safe; ``start()`` connects in the background, so
    every method works offline too (submissions queue, requests fall back to the cache).

    Application callbacks (set before ``start()``): ``on_notify(dict)``, ``on_command(cmd) -> (ok, detail)``,
    ``on_catalog(version, catalog_dict)``, ``on_alarm(reason, fields)``."""

    def __init__(self, config: SyncConfig) -> None:
        self.config = config
        self.key = DeviceKey.load_or_create(config.device_key_path)
        self.store = Store(config.db_path)
        self.clock = Clock(self.store, config.clock_tolerance_s)
        self.booted_at = now_iso()
        self.on_alarm: Callable[[str, dict[str, Any]], None] | None = None
        self._waiters: dict[str, list[threading.Event]] = {}
        self._waiters_lock = threading.Lock()
        self._storage_alarm = False
        self._keys_lock = threading.Lock()
        self._running = False
        self._stop = threading.Event()
        self._housekeeper: threading.Thread | None = None
        self.session = Session(config, self.store, on_up=self._on_up, on_down=self._on_down,
                               on_message=self._on_message, on_published=self._on_published, birth=self._birth)
        self.requests = Requests(self.session, config.device_id,
                                 next_seq=lambda: self._next_request_seq(), expiry_s=config.request_expiry_s)
        self.drain = Drain(config, self.store, self.key, self.session, self.clock,
                           on_case_done=self._case_done, alarm=self.alarm)
        self.downlink = Downlink(config.device_id, self.store, self.key, self.clock, config.command_keys,
                                 config.catalog_keys, put_ack=self.drain.put_ack,
                                 take_reply=self.requests.take_reply, send_event=self._send_event_forced)
        self.fetcher = BlobFetcher(self.session, self.requests)
        self.downlink.on_blob = self.fetcher.take_chunk

    # -- application callbacks (kept by the downlink; may be set before or after start) -------------
    @property
    def on_notify(self) -> Callable[[dict[str, Any]], None] | None:
        return self.downlink.on_notify

    @on_notify.setter
    def on_notify(self, fn: Callable[[dict[str, Any]], None] | None) -> None:
        self.downlink.on_notify = fn

    @property
    def on_command(self) -> Callable[[dict[str, Any]], tuple[bool, Any]] | None:
        return self.downlink.on_command

    @on_command.setter
    def on_command(self, fn: Callable[[dict[str, Any]], tuple[bool, Any]] | None) -> None:
        self.downlink.on_command = fn

    @property
    def on_catalog(self) -> Callable[[int, dict[str, Any]], None] | None:
        return self.downlink.on_catalog

    @on_catalog.setter
    def on_catalog(self, fn: Callable[[int, dict[str, Any]], None] | None) -> None:
        self.downlink.on_catalog = fn

    # -- accepted signing keys (rotation without restart) -------------------------------------------
    def set_accepted_keys(self, command_keys: Mapping[str, str], catalog_keys: Mapping[str, str]) -> None:
        """Replaces the public keys central's commands and catalog manifests are verified with
        (``{key_id: base64 of the raw 32-byte Ed25519 key}`` each), while running: every message handled
        after this returns is checked against the new sets. A rotation is two calls: old and new keys
        together while central switches over, then the new key alone to retire the old one.

        A catalog manifest that arrived signed by a key not accepted then is installed now if its key
        is accepted (its parts were kept). Thread-safe. Raises SyncConfigError on a malformed key id or
        key, in which case the accepted keys stay as they were."""
        command = check_key_table("command_keys", command_keys)
        catalog = check_key_table("catalog_keys", catalog_keys)
        with self._keys_lock:
            try:
                self.downlink.set_keys(command, catalog)
            except ValueError as exc:      # 32 bytes, but not a key the library accepts
                raise SyncConfigError(f"accepted keys not changed: {exc}") from None
            self.config = self.config.with_(command_keys=command, catalog_keys=catalog)
        log.info("accepted signing keys: commands %s, catalog %s", sorted(command) or "none", sorted(catalog) or "none")
        for name, table in (("command", command), ("catalog", catalog)):
            if not table:
                log.warning("no %s signing key accepted: every %s from central will be refused", name, name)
        self.downlink.retry_held_manifest()

    def reload_keys_from(self, path: str | Path) -> None:
        """:meth:`set_accepted_keys` with the key tables of the TOML file ``path`` as a restart would read
        them (``[sync.command_keys]`` / ``[sync.catalog_keys]``, then ``KIOSK_SYNC_…_KEYS``; a table
        absent from both means none accepted). Raises SyncConfigError on an unreadable file or a bad
        key; the accepted keys then stay as they were."""
        self.set_accepted_keys(*read_key_tables(path))

    def accepted_key_ids(self) -> dict[str, list[str]]:
        """``{"command_keys": [...], "catalog_keys": [...]}``: the key ids accepted now."""
        keys = self.config
        return {"command_keys": sorted(keys.command_keys), "catalog_keys": sorted(keys.catalog_keys)}

    # -- lifecycle --------------------------------------------------------------------------------
    def start(self) -> SyncEngine:
        self._running = True
        self._stop.clear()
        # A manifest kept for a key the configuration accepts since this start (callbacks are set now).
        self.downlink.retry_held_manifest()
        self.drain.start()
        self.session.start()
        self._housekeeper = threading.Thread(target=self._housekeeping, name="edge-sync-housekeeping", daemon=True)
        self._housekeeper.start()
        return self

    def wait_online(self, timeout: float) -> bool:
        """True once connected and subscribed to the downlink topics (False after ``timeout`` s)."""
        return self.session.subscribed.wait(timeout)

    def stop(self) -> None:
        """Disconnects and stops the threads; everything unacked stays in the store."""
        self._stop.set()
        self.session.stop()
        self.drain.stop()
        if self._housekeeper is not None:
            self._housekeeper.join(5)
        self._running = False
        self._heartbeat(False)
        self.store.close()

    def __enter__(self) -> SyncEngine:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- submission -------------------------------------------------------------------------------
    def submit_case(self, envelope_fields: Mapping[str, Any], blobs: Iterable[Attachment] = ()) -> Submitted:
        """Stores the case (applicant encrypted), its attachments and its outbox row in one transaction.

        ``envelope_fields``: the §4 fields the application knows (item, channel, applicant, agent,
        materials, pickup, consent, test; optional case_id, query_code, created_at — minted if absent).
        Returns once durable. Raises StorageFull (with a villager ``message``) or InvalidCase."""
        try:
            submitted = enqueue_case(self.store, self.key, self.config, envelope_fields, blobs)
        except StorageFull as exc:
            if not self._storage_alarm:
                self._storage_alarm = True
                self.alarm("storage_full", {"detail": exc.detail})
            raise
        self._storage_alarm = False
        self.drain.wake.set()
        return submitted

    def case_outcome(self, case_id: str) -> dict[str, Any] | None:
        """Central's answer for a case: ``{"result", "case_no", "promised_by", "status", "reason", …}``
        once acked or rejected; None while it waits in the outbox (or for an unknown/purged case)."""
        rows = self.store.query("SELECT state, result, detail FROM cases WHERE case_id = ?", (case_id,))
        if not rows or rows[0][0] == CaseState.QUEUED.value:
            return None
        state, result, detail = rows[0]
        out = dict(json.loads(detail)) if detail else {}
        out.update(result=result, state=state)
        return out

    def wait_case_ack(self, case_id: str, timeout: float) -> dict[str, Any] | None:
        """Waits up to ``timeout`` s for :meth:`case_outcome`; None when central did not answer in time."""
        event = threading.Event()
        with self._waiters_lock:
            self._waiters.setdefault(case_id, []).append(event)
        try:
            outcome = self.case_outcome(case_id)
            if outcome is None and event.wait(timeout):
                outcome = self.case_outcome(case_id)
            return outcome
        finally:
            with self._waiters_lock:
                events = self._waiters.get(case_id, [])
                if event in events:
                    events.remove(event)
                if not events:
                    self._waiters.pop(case_id, None)

    def _case_done(self, case_id: str) -> None:
        with self._waiters_lock:
            for event in self._waiters.get(case_id, []):
                event.set()

    # -- events -----------------------------------------------------------------------------------
    def send_event(self, type_: str, fields: Mapping[str, Any]) -> str:
        """Durable event (§7) through the outbox; returns its msg_id. Raises StorageFull."""
        msg_id = enqueue_event(self.store, self.key, self.config, type_, fields)
        self.drain.wake.set()
        return msg_id

    def _send_event_forced(self, type_: str, fields: Mapping[str, Any]) -> str:
        msg_id = enqueue_event(self.store, self.key, self.config, type_, fields, force=True)
        self.drain.wake.set()
        return msg_id

    def send_blob(self, data: bytes, mime: str, prefix: str = "b") -> StoredBlob:
        """A blob up on its own (e.g. logs), durable before return; name it in an event. Raises StorageFull."""
        blob = enqueue_blob(self.store, self.key, self.config, data, mime, prefix)
        self.drain.wake.set()
        return blob

    def fetch_blob(self, blob: DownBlob, dest: Path, progress: Callable[[int, int], None] | None = None,
                   stop: threading.Event | None = None) -> Path:
        """A downlink blob (e.g. an update bundle) into ``dest``, resumable; blocks. Raises FetchError."""
        return self.fetcher.fetch(blob, dest, progress, stop)

    def alarm(self, reason: str, fields: Mapping[str, Any]) -> None:
        """Raises a staff alarm: log, ``help.requested`` event, listed in :meth:`status`."""
        log.error("ALARM %s %s", reason, dict(fields))
        record = {"reason": reason, "at": now_iso(), "detail": dict(fields)}
        with self.store.tx():
            alarms = self.store.get("alarms", [])[-49:]
            self.store.put("alarms", [*alarms, record])
            self._send_event_forced("help.requested", {"source": "edge_sync", "reason": reason,
                                                       "detail": dict(fields)})
        if self.on_alarm is not None:
            try:
                self.on_alarm(reason, dict(fields))
            except Exception:
                log.exception("on_alarm failed")

    # -- requests ---------------------------------------------------------------------------------
    def request(self, type_: str, fields: Mapping[str, Any], timeout: float = 3.0) -> Reply | Offline:
        """Any §6 request; central's Reply, or Offline when no answer came within ``timeout`` s."""
        reply = self.requests.call(type_, fields, timeout)
        if reply is None:
            return Offline("no answer from central" if self.session.connected.is_set() else "offline")
        return Reply(type=str(reply.get("type", "")), fields=reply)

    def query_case(self, query_code: str, timeout: float = 3.0) -> Reply | Offline:
        """``case.query``; falls back to the cached masked view marked ``cached`` with ``age_s``."""
        answer = self.request("case.query", {"query_code": query_code}, timeout)
        key = f"q:{query_code}"
        if isinstance(answer, Reply):
            if answer.get("found") and isinstance(answer.get("case"), dict):
                self.downlink.put_view(key, answer["case"])
            return answer
        cached = self.downlink.cached_view(key)
        if cached is None:
            return answer
        view, age = cached
        return Reply(type="case.status", fields={"type": "case.status", "found": True, "case": view},
                     cached=True, age_s=round(age, 1))

    def list_cases(self, applicant: Mapping[str, Any], timeout: float = 3.0) -> Reply | Offline:
        """``case.list`` for {id_type, id_no}; falls back to the cached list (keyed by a hash, not the number)."""
        applicant = {"id_type": applicant.get("id_type", "resident"), "id_no": applicant.get("id_no", "")}
        key = "l:" + applicant_lookup(self.key, applicant)
        answer = self.request("case.list", {"applicant": applicant}, timeout)
        if isinstance(answer, Reply):
            if isinstance(answer.get("cases"), list):
                self.downlink.put_view(key, answer["cases"])
            return answer
        cached = self.downlink.cached_view(key)
        if cached is None:
            return answer
        return Reply(type="case.list", fields={"type": "case.list", "cases": cached[0]}, cached=True,
                     age_s=round(cached[1], 1))

    # -- catalog, clock, health ---------------------------------------------------------------------
    def current_catalog(self) -> tuple[int, dict[str, Any]] | None:
        """The installed catalog (version, dict), or None before the first install."""
        return self.downlink.current_catalog()

    def trusted_now(self) -> datetime | None:
        """Local time now, or None when the clock is known to be wrong (do not date promises then)."""
        return self.clock.trusted_now()

    def health(self) -> dict[str, Any]:
        """Fields for ``device.health``: outbox {depth, oldest_s}, disk_free_mb, clock_ok, connected."""
        stats = outbox_stats(self.store)
        return {"connected": self.session.connected.is_set(),
                "outbox": {"depth": stats["total"], "oldest_s": stats["oldest_s"]},
                "disk_free_mb": self.store.disk_free_bytes() // (1024 * 1024),
                "clock_ok": self.clock.clock_ok, "clock": self.clock.state().value,
                "clock_offset_s": None if self.clock.offset_s is None else round(self.clock.offset_s, 1)}

    def status(self) -> dict[str, Any]:
        """What ``kiosk sync status`` prints."""
        return read_status(self.store, running=self._running, connected=self.session.connected.is_set(),
                           last_ack_at=self.drain.last_ack_at)

    # -- internals ----------------------------------------------------------------------------------
    def _next_request_seq(self) -> int:
        with self.store.tx():
            seq = int(self.store.get("seq.request", 0)) + 1
            self.store.put("seq.request", seq)
        return seq

    def _birth(self) -> dict[str, Any]:
        return {"sw": self.config.sw_version, "catalog": self.store.get("catalog.version"),
                "booted_at": self.booted_at, "outbox": outbox_stats(self.store)["total"]}

    def _on_up(self, limits: Limits) -> None:
        self.drain.connection_up()
        self._heartbeat(True)

    def _on_down(self) -> None:
        self.drain.wake.set()

    def _on_message(self, msg: mqtt.MQTTMessage) -> None:
        props = getattr(msg, "properties", None)
        self.downlink.handle(msg.topic, msg.payload, getattr(props, "CorrelationData", None),
                             getattr(props, "UserProperty", None))

    def _on_published(self, mid: int) -> None:
        self.drain.put_puback(mid)

    def _heartbeat(self, connected: bool | None = None) -> None:
        try:
            self.store.put("session", {"pid": os.getpid(), "at": time.time(), "epoch": self.session.epoch,
                                       "connected": self.session.connected.is_set() if connected is None
                                       else connected})
        except Exception:
            pass

    def _housekeeping(self) -> None:
        last_purge = 0.0
        while not self._stop.wait(HEARTBEAT_S):
            self._heartbeat()
            if time.time() - last_purge > 60:
                last_purge = time.time()
                try:
                    purge_expired(self.store, self.config.retention_days)
                except Exception:
                    log.exception("purge failed")


def purge_expired(store: Store, retention_days: float) -> int:
    """Deletes acked cases and their blobs past retention, and stale cached views; returns cases purged."""
    now = time.time()
    with store.tx() as c:
        n = c.execute("DELETE FROM cases WHERE purge_after IS NOT NULL AND purge_after < ?", (now,)).rowcount
        # Blobs go with their case (acked or rejected ones past retention).
        c.execute("DELETE FROM blob_data WHERE blob_id IN (SELECT blob_id FROM blobs WHERE case_id NOT IN "
                  "(SELECT case_id FROM cases))")
        c.execute("DELETE FROM blobs WHERE case_id NOT IN (SELECT case_id FROM cases)")
        c.execute("DELETE FROM case_views WHERE fetched_at < ?", (now - retention_days * 86400,))
        c.execute("DELETE FROM seen_commands WHERE seen_at < ?", (now - 30 * 86400,))
    return n


def read_status(store: Store, *, running: bool, connected: bool,
                last_ack_at: float | None = None) -> dict[str, Any]:
    """Status from the store alone (works from another process: ``kiosk sync status``)."""
    session = store.get("session") or {}
    alive = running
    if not running:
        # Another process may run the engine: trust its heartbeat only when fresh and alive.
        alive = bool(session) and time.time() - float(session.get("at", 0)) < 3 * HEARTBEAT_S \
            and _pid_alive(int(session.get("pid", 0)))
        connected = alive and bool(session.get("connected"))
    stats = outbox_stats(store)
    last = last_ack_at if last_ack_at is not None else store.get("last_ack_at")
    rejected = store.scalar("SELECT COUNT(*) FROM cases WHERE state = ?", (CaseState.REJECTED.value,))
    return {"connected": connected, "engine_running": alive, "epoch": int(store.get("epoch", 0)), "outbox": stats["depth"],
            "outbox_total": stats["total"], "oldest_pending_s": stats["oldest_s"],
            "last_ack": None if last is None else datetime.fromtimestamp(float(last)).astimezone()
            .isoformat(timespec="seconds"),
            "catalog_version": store.get("catalog.version"), "rejected_cases": rejected,
            "alarms": (store.get("alarms") or [])[-5:]}


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
