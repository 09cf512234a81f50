"""SyncEngine: the one object the application holds — durable submission, requests with offline
fallback, events, downlink callbacks, health and status."""
from __future__ import annotations

import functools
import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt

from edge_sync.clock import Clock
from edge_sync.config import SyncConfig, SyncConfigError, check_key_table, read_key_tables
from edge_sync.downlink import Downlink
from edge_sync.drain import Drain
from edge_sync.fetch import BlobFetcher, DownBlob
from edge_sync.health import StoreState, SyncHealth
from edge_sync.integrity import RECOVER_COMMAND, check_database, is_corrupt, open_store
from edge_sync.outbox import applicant_lookup, enqueue_case, enqueue_event, now_iso, outbox_stats
from edge_sync.requests import Requests
from edge_sync.reserve import StorageReserve
from edge_sync.results import Attachment, Offline, Reply, StorageFull, StoreUnavailable, Submitted
from edge_sync.retention import purge_case_views, purge_expired
from edge_sync.service_outbox import enqueue_cases, enqueue_correction
from edge_sync.session import Limits, Session
from edge_sync.status import read_status, start_ticks
from edge_sync.store import CaseState
from edge_sync.supervise import Supervisor, Worker
from edge_sync.upload import StoredBlob, enqueue_blob
from edge_sync.writer import Writer

log = logging.getLogger("edge_sync")

HEARTBEAT_S = 5.0
# The longest paho's network thread waits, before handling a message or a PUBACK, for a submission to
# finish: the same thread keeps the connection alive, so it never waits for long.
MESSAGE_GIVE_WAY_S = 0.05
# Events that are safety records: never refused by the storage budget, and given the reserved headroom
# when the disk itself is full (a full outbox must still let the terminal alarm and call staff).
ESSENTIAL_EVENTS = frozenset({"help.requested", "tamper", "audit", "cmd.result", "device.health"})


class SyncEngine:
    """Durable store-and-forward to central. Thread-safe; ``start()`` connects in the background, so
    every method works offline too (submissions queue, requests fall back to the cache).

    Application callbacks (set before ``start()``): ``on_notify(dict)``, ``on_command(cmd) -> (ok, detail)``,
    ``on_catalog(version, catalog_dict)``, ``on_alarm(reason, fields)``."""

    def __init__(self, config: SyncConfig, *, wall_clock: Callable[[], float] = time.time) -> None:
        """``wall_clock``: the device's wall clock as the trusted clock reads it (tests set it back and forth)."""
        self.config = config
        opened = open_store(config.db_path, config.device_key_path)
        self.store, self.key = opened.store, opened.key
        self.store_state, self.store_problem = opened.state, opened.problem
        self.clock = Clock(self.store, config.clock_tolerance_s, wall=wall_clock)
        self.booted_at = now_iso()
        self.reserve = StorageReserve(Path(config.data_dir) / "sync.reserve", int(config.reserve_mb * 1024 * 1024))
        self.on_alarm: Callable[[str, dict[str, Any]], None] | None = None
        self.supervisor = Supervisor(self.alarm)
        self._pending_alarms: list[dict[str, Any]] = []
        self._alarm_lock = threading.Lock()
        self._waiters: dict[str, list[threading.Event]] = {}
        self._waiters_lock = threading.Lock()
        self._storage_alarm = False
        self._keys_lock = threading.Lock()
        self._running = False
        self._last_beat: dict[str, Any] | None = None
        self._stop = threading.Event()
        self.session = Session(config, self.store, on_up=self._on_up, on_down=self._on_down,
                               on_message=self._on_message, on_published=self._on_published, birth=self._birth)
        self.requests = Requests(self.session, config.device_id,
                                 next_seq=lambda: self._next_request_seq(), expiry_s=config.request_expiry_s)
        self.writer = Writer()
        self.drain = Drain(config, self.store, self.key, self.session, self.clock,
                           on_case_done=self._case_done, alarm=self.alarm, writer=self.writer)
        self.downlink = Downlink(config.device_id, self.store, self.key, self.clock, config.command_keys,
                                 config.catalog_keys, put_ack=self.drain.put_ack,
                                 take_reply=self.requests.take_reply, send_event=self._send_event_forced,
                                 writer=self.writer)
        self.downlink.on_central_state = self.drain.central_state
        self.downlink.subscribe, self.downlink.unsubscribe = self.session.subscribe, self.session.unsubscribe
        self.session.extra_filters = self.downlink.wanted_filters
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

    def purge_cache(self) -> int:
        """Central's ``purge_cache``: deletes every cached case view; returns how many there were."""
        return purge_case_views(self.store)

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
        if self.store_state in (StoreState.CORRUPT, StoreState.KEY_LOST):
            # Once per start: the alarm event waits in the in-memory outbox for the connection.
            self.alarm(f"store_{self.store_state.value}", {"detail": self.store_problem[:300]})
        self.downlink.retry_held_manifest()
        self.reserve.ensure()
        self.writer.start()     # from this thread, at the process's priority: not from a sync thread
        self.drain.start(self.supervisor)
        self.session.start(self.supervisor)
        self.supervisor.spawn("sync-housekeeping", self._housekeeping, stall_after_s=6 * HEARTBEAT_S)
        self.supervisor.spawn("sync-store-check", self._check_store)
        return self

    def wait_online(self, timeout: float) -> bool:
        """True once connected and subscribed to the downlink topics (False after ``timeout`` s)."""
        return self.session.subscribed.wait(timeout)

    def stop(self) -> None:
        """Disconnects and stops the threads; everything unacked stays in the store."""
        self._stop.set()
        self.session.stop()
        self.drain.stop()
        self.writer.stop()
        self.supervisor.stop()
        self._running = False
        self._heartbeat(False, running=False)
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
        return self._durable(lambda: enqueue_case(self.store, self.key, self.config, envelope_fields, blobs))

    def submit_cases(self, cases: Sequence[tuple[Mapping[str, Any], Sequence[Attachment]]],
                     events: Sequence[tuple[str, Mapping[str, Any]]] = ()) -> list[Submitted]:
        """Several cases and events (a 一件事一次办 submission and its ``case.bundle`` link) in ONE
        transaction: all durable, or none. Raises StorageFull, InvalidCase, CaseExists."""
        return self._durable(lambda: enqueue_cases(self.store, self.key, self.config, cases, events))

    def submit_correction(self, fields: Mapping[str, Any], attachments: Iterable[Attachment]) -> Submitted:
        """A ``case.correction`` (补正) with its scanned materials, durable like a case; its outcome is read
        with :meth:`case_outcome` by ``correction_id``. Raises StorageFull, InvalidCase, CaseExists."""
        return self._durable(lambda: enqueue_correction(self.store, self.key, self.config, fields, attachments))

    def _durable(self, store_it: Callable[[], Any]) -> Any:
        if self.store_state in (StoreState.CORRUPT, StoreState.KEY_LOST):
            raise StoreUnavailable(self.store_problem)
        try:
            with self.store.urgent():
                stored = store_it()
        except StorageFull as exc:
            if not self._storage_alarm:
                self._storage_alarm = True
                self.alarm("storage_full", {"detail": exc.detail})
            raise
        except sqlite3.DatabaseError as exc:
            if not is_corrupt(exc):
                raise
            self._store_damaged(f"{type(exc).__name__}: {exc}")
            raise StoreUnavailable(self.store_problem) from None
        self._storage_alarm = False
        self.drain.wake.set()
        return stored

    def _store_damaged(self, problem: str) -> None:
        """From now on new cases are refused; what can still be read keeps being delivered."""
        if self.store_state is StoreState.CORRUPT:
            return
        self.store_state = StoreState.CORRUPT
        self.store_problem = f"{problem}; run `{RECOVER_COMMAND}`"
        self.alarm("store_corrupt", {"detail": self.store_problem[:300]})

    def _check_store(self, worker: Worker) -> None:
        """One whole-file check after start (SQLite's quick_check, on its own read-only connection)."""
        if self.store_state is StoreState.OK:
            problem = check_database(self.config.db_path)
            if problem is not None:
                self._store_damaged(problem)

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
        """Durable event (§7) through the outbox; returns its msg_id. Raises StorageFull for an ordinary
        event over the storage budget; the safety events (:data:`ESSENTIAL_EVENTS`) bypass the budget and
        use the reserved headroom, and raise only when even that is gone (sqlite3.Error/OSError)."""
        if type_ in ESSENTIAL_EVENTS:
            return self._send_event_forced(type_, fields)
        msg_id = enqueue_event(self.store, self.key, self.config, type_, fields)
        self.drain.wake.set()
        return msg_id

    def _send_event_forced(self, type_: str, fields: Mapping[str, Any]) -> str:
        msg_id = self.reserve.run(lambda: enqueue_event(self.store, self.key, self.config, type_, fields,
                                                        force=True))
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
        """Raises a staff alarm: the application hears it first (it may lock or show it: nothing waits
        for a disk), then the log, a ``help.requested`` event and the list in :meth:`status`. When even
        the reserved headroom cannot take the event, it is kept in memory and stored once it can be."""
        log.error("ALARM %s %s", reason, dict(fields))
        if self.on_alarm is not None:
            try:
                self.on_alarm(reason, dict(fields))
            except Exception:
                log.exception("on_alarm failed")
        record = {"reason": reason, "at": now_iso(), "detail": dict(fields)}
        try:
            self.reserve.run(lambda: self._store_alarm(record))
        except Exception as exc:
            log.error("alarm %s kept in memory until the store takes it (%s)", reason, type(exc).__name__)
            with self._alarm_lock:
                self._pending_alarms.append(record)

    def _store_alarm(self, record: dict[str, Any]) -> None:
        with self.store.tx():
            alarms = self.store.get("alarms", [])[-49:]
            self.store.put("alarms", [*alarms, record])
            enqueue_event(self.store, self.key, self.config, "help.requested",
                          {"source": "edge_sync", "reason": record["reason"], "detail": record["detail"]},
                          force=True)
        self.drain.wake.set()

    def _flush_pending_alarms(self) -> None:
        with self._alarm_lock:
            pending, self._pending_alarms = self._pending_alarms, []
        for n, record in enumerate(pending):
            try:
                self.reserve.run(functools.partial(self._store_alarm, record))
            except Exception:
                with self._alarm_lock:
                    self._pending_alarms[:0] = pending[n:]
                return

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

    def health(self) -> SyncHealth:
        """The engine's part of ``device.health``: connection, outbox, disk, clock, store, workers."""
        stats = outbox_stats(self.store)
        clock_state = self.clock.state()
        offset = self.clock.offset_s
        store = self.store_state
        if store is StoreState.OK and self._storage_alarm:
            store = StoreState.FULL
        return SyncHealth(
            connected=self.session.connected.is_set(), outbox_depth=int(stats["total"]),
            outbox_oldest_s=stats["oldest_s"], disk_free_mb=self.store.disk_free_bytes() // (1024 * 1024),
            clock=clock_state, clock_offset_s=None if offset is None else round(offset, 1),
            clock_step_s=self.clock.step_s, store=store, store_mb=round(self.store.size_bytes() / 1048576, 1),
            reserve_held=self.reserve.present, reserve_released=self.reserve.released,
            workers=tuple(self.supervisor.reports()), catalog_version=self.store.get("catalog.version"),
            sw_version=self.config.sw_version)

    def alive(self) -> bool:
        """Every engine worker runs or is being restarted (none hung, none vanished): for the watchdog."""
        return self.supervisor.all_alive()

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
        self.store.give_way(MESSAGE_GIVE_WAY_S)   # a submission goes first
        props = getattr(msg, "properties", None)
        self.downlink.handle(msg.topic, bytes(msg.payload), getattr(props, "CorrelationData", None),
                             bool(msg.retain), getattr(props, "UserProperty", None))

    def _on_published(self, mid: int) -> None:
        self.store.give_way(MESSAGE_GIVE_WAY_S)   # a PUBACK is the thread's most frequent work (issue 15)
        self.drain.put_puback(mid)

    def _heartbeat(self, connected: bool | None = None, running: bool = True) -> None:
        """Records who runs the engine for ``kiosk sync status`` in another process. Written only when
        the record changes: a periodic durable write would cost the SD card ~130 kB a minute at rest."""
        record = {"pid": os.getpid(), "started": start_ticks(os.getpid()), "epoch": self.session.epoch,
                  "connected": self.session.connected.is_set() if connected is None else connected,
                  "running": running}
        if record == self._last_beat:
            return
        try:
            self.store.put("session", {**record, "at": time.time()})
            self._last_beat = record
        except Exception:
            pass

    def _housekeeping(self, worker: Worker) -> None:
        last_purge = 0.0
        while not self._stop.wait(HEARTBEAT_S):
            worker.beat()
            self._heartbeat()
            self._flush_pending_alarms()
            self.reserve.ensure()
            if time.time() - last_purge > 60:
                last_purge = time.time()
                purge_expired(self.store, self.config.retention_days,
                              commands_before=self.clock.floor() - self.config.clock_tolerance_s)
