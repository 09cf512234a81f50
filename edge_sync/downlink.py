"""Everything central pushes down: acks and replies are routed, status pushes update the cache,
the catalog is verified and installed atomically, commands are verified and answered. A malformed
message is logged once and dropped; nothing here may stop the network loop.

Messages are handled on paho's network thread, which runs below the process's priority; their store
transactions run on the sync writer (edge_sync/writer.py), so that a submission never waits for the
store's write lock behind a thread the scheduler keeps waiting."""
from __future__ import annotations

import hashlib
import json
import logging
import re
import sqlite3
import threading
import time
import zlib
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any, TypeVar

from pydantic import ValidationError

from edge_sync.clock import Clock
from edge_sync.crypto import AcceptedKeys, DeviceKey, SignatureError, UnknownKey, verify_signed
from edge_sync.fleet import CENTRAL_STATE_PREFIX, Busy, CentralState, part_filters
from edge_sync.models import Ack, CatalogManifest, Command, Notify
from edge_sync.retention import purge_case_views
from edge_sync.store import Store
from edge_sync.writer import Writer

log = logging.getLogger("edge_sync.downlink")
T = TypeVar("T")

MAX_CATALOG_BYTES = 64 * 1024 * 1024   # a gzip bomb must not take the kiosk down
MAX_HELD_MANIFEST = 16 * 1024          # a manifest is ~300 bytes; anything far bigger is not worth keeping
# The longest a command may live (expires_at − issued_at). Replay protection keeps every seen cmd_id
# until its expiry has passed by the trusted clock, so it covers any lifetime this cap accepts.
MAX_COMMAND_LIFETIME_S = 24 * 3600
# Run even when the store cannot record them (disk full): safe to run twice, unsafe not to run at all.
SAFETY_COMMANDS = frozenset({"lock"})
PUSH_VERSIONS_KEPT_S = 30 * 86400      # how long the version of a case's last status push is remembered
_PART_RE = re.compile(r"^gov/v1/catalog/(\d{1,9})/part/(\d{1,5})$")
# A JSON escape of a UTF-16 surrogate (\ud800-\udfff): the only way a lone one gets into decoded text.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class Malformed(ValueError):
    """A downlink message that does not fit the contract."""


def parse_json(payload: bytes) -> dict[str, Any]:
    """UTF-8 JSON object or Malformed (also when a string in it cannot be written back as UTF-8)."""
    try:
        obj = loads_utf8(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise Malformed(f"not UTF-8 JSON ({type(exc).__name__})") from None
    if not isinstance(obj, dict):
        raise Malformed("not a JSON object")
    return obj


def loads_utf8(text: str) -> Any:
    """``json.loads`` that also refuses lone surrogates. JSON allows ``"\\ud800"``, but such a string
    cannot be encoded as UTF-8, so it would fail later wherever it is stored, sealed or shown.

    Raises ValueError (UnicodeEncodeError for a lone surrogate) or RecursionError."""
    obj = json.loads(text)
    if _SURROGATE_ESCAPE.search(text):
        # Paired surrogates were joined by the decoder; whatever is still a surrogate fails here.
        json.dumps(obj, ensure_ascii=False).encode("utf-8")
    return obj


def _model(cls: Any, obj: dict[str, Any]) -> Any:
    try:
        return cls.model_validate(obj)
    except ValidationError as exc:
        fields = ",".join(".".join(str(p) for p in e["loc"]) for e in exc.errors()[:5])
        raise Malformed(f"invalid {cls.__name__}: {fields}") from None


class Downlink:
    """Routes by topic. Callbacks: ``put_ack(Ack)``, ``take_reply(corr, dict) -> bool``,
    ``send_event(type, fields)``, and the application's ``on_notify``, ``on_command``, ``on_catalog``."""

    def __init__(self, device_id: str, store: Store, key: DeviceKey, clock: Clock,
                 command_keys: dict[str, str], catalog_keys: dict[str, str], *,
                 put_ack: Callable[[Ack | Busy], None], take_reply: Callable[[bytes | None, dict[str, Any]], bool],
                 send_event: Callable[[str, dict[str, Any]], Any], writer: Writer | None = None) -> None:
        self.down = f"gov/v1/down/{device_id}/"
        self.store, self.key, self.clock = store, key, clock
        self.writer = writer or Writer()    # not started: transactions run on the calling thread
        self._keys = AcceptedKeys.load(command_keys, catalog_keys)
        # Manifests, parts and the retry of a held manifest touch the same rows: one at a time.
        self._catalog_lock = threading.RLock()
        self.put_ack, self.take_reply, self.send_event = put_ack, take_reply, send_event
        self.on_notify: Callable[[dict[str, Any]], None] | None = None
        self.on_command: Callable[[dict[str, Any]], tuple[bool, Any]] | None = None
        self.on_catalog: Callable[[int, dict[str, Any]], None] | None = None
        # Central's retained online state (contract addendum, Fleet): (state, retained) or (None, _) when
        # an instance's state was cleared; the name is the topic's last level.
        self.on_central_state: Callable[[str, CentralState | None, bool], None] | None = None
        self.on_blob: Callable[[bytes, list[tuple[str, str]] | None], None] | None = None  # edge_sync.fetch
        self.dropped = 0
        self.stale_pushes = 0
        self._mismatch_logged: set[int] = set()
        self._seen_in_memory: set[str] = set()   # commands run while the store could not record them
        # Catalog parts are fetched per version (addendum, Fleet): the session subscribes to these.
        self.subscribe: Callable[[list[str]], None] = lambda filters: None
        self.unsubscribe: Callable[[list[str]], None] = lambda filters: None
        self._wanted: list[str] = []

    # -- accepted keys --------------------------------------------------------------------------------
    @property
    def command_keys(self) -> Any:
        """{key_id: Ed25519PublicKey} accepted for commands now (read-only)."""
        return self._keys.command

    @property
    def catalog_keys(self) -> Any:
        """{key_id: Ed25519PublicKey} accepted for catalog manifests now (read-only)."""
        return self._keys.catalog

    def set_keys(self, command_keys: dict[str, str], catalog_keys: dict[str, str]) -> None:
        """Replaces both accepted key sets at once: one reference swap, so a message being verified
        meanwhile is checked against the old pair or the new pair, never a mix; every message handled
        after this returns uses the new pair. Raises ValueError on a malformed key (nothing changed)."""
        self._keys = AcceptedKeys.load(command_keys, catalog_keys)

    def retry_held_manifest(self) -> None:
        """Handles again the newest manifest refused only because its key id was not accepted (kept in the
        store), once that key is accepted: the retained manifest is not sent again on our subscription."""
        with self._catalog_lock:
            held = self.store.get("catalog.held")
            if not isinstance(held, dict) or held.get("key_id") not in self._keys.catalog:
                return
            self._write(self._forget_held)
            pending = self.store.get("catalog.pending")
            if isinstance(pending, dict) and pending.get("version", -1) >= held.get("version", -1):
                return      # central has announced a newer one since, with a key we accepted
            log.info("catalog manifest v%s: its key %s is accepted now", held.get("version"), str(held["key_id"])[:64])
            self.handle("gov/v1/catalog/manifest", json.dumps(held, ensure_ascii=False).encode("utf-8"))

    # -- entry point --------------------------------------------------------------------------------
    def handle(self, topic: str, payload: bytes, correlation: bytes | None = None, retained: bool = False,
               user: list[tuple[str, str]] | None = None) -> None:
        """Never raises: a bad message is logged once and dropped."""
        try:
            self._route(topic, payload, correlation, retained, user)
        except Malformed as exc:
            self.dropped += 1
            log.warning("dropped downlink message on %s: %s", topic[:120], exc)
        except Exception:
            self.dropped += 1
            log.exception("dropped downlink message on %s after an internal error", topic[:120])

    def _route(self, topic: str, payload: bytes, correlation: bytes | None, retained: bool = False,
               user: list[tuple[str, str]] | None = None) -> None:
        if topic.startswith(self.down):
            kind = topic[len(self.down):]
            if kind == "blob":      # a downlink blob's chunk (addendum "Updates"): binary, see edge_sync.fetch
                if self.on_blob is not None:
                    self.on_blob(payload, user)
            elif kind == "ack":
                obj = parse_json(payload)
                self.put_ack(_model(Busy, obj) if obj.get("type") == "busy" else _model(Ack, obj))
            elif kind == "reply":
                if not self.take_reply(correlation, parse_json(payload)):
                    log.debug("late or unknown reply dropped")
            elif kind == "notify":
                self._notify(parse_json(payload))
            elif kind == "cmd":
                self._command(parse_json(payload))
            else:
                raise Malformed("unknown down topic")
        elif topic == "gov/v1/catalog/manifest":
            with self._catalog_lock:
                self._manifest(parse_json(payload), len(payload))
        elif (m := _PART_RE.match(topic)) is not None:
            with self._catalog_lock:
                self._part(int(m.group(1)), int(m.group(2)), payload)
        elif topic.startswith(CENTRAL_STATE_PREFIX):
            self._central_state(topic[len(CENTRAL_STATE_PREFIX):], payload, retained)
        elif topic.startswith("gov/v1/site/"):
            log.debug("site message ignored: %s", topic[:120])
        else:
            raise Malformed("unexpected topic")

    def _central_state(self, instance: str, payload: bytes, retained: bool) -> None:
        if not instance or "/" in instance or len(instance) > 64:
            raise Malformed("central state topic without a usable instance name")
        state = None
        if payload:
            state = _model(CentralState, parse_json(payload))
            if state.instance != instance:
                raise Malformed("central state names another instance than its topic")
        if self.on_central_state is not None:
            self.on_central_state(instance, state, retained)

    # -- notify -------------------------------------------------------------------------------------
    def _notify(self, obj: dict[str, Any]) -> None:
        note = _model(Notify, obj)
        view = note.case if isinstance(note.case, dict) else None
        query_code = note.query_code or (view or {}).get("query_code")
        if not query_code and note.case_id:
            row = self.store.query("SELECT query_code FROM cases WHERE case_id = ?", (note.case_id,))
            query_code = row[0][0] if row else None
        version = obj.get("version")
        if not isinstance(version, int) or isinstance(version, bool) or version < 0:
            version = None      # a push from a central without versions: applied as it comes
        if not self._write(partial(self._record_notify, obj, note, view, query_code, version)):
            return
        if self.on_notify is not None:
            self.on_notify(obj)

    def _record_notify(self, obj: dict[str, Any], note: Notify, view: dict[str, Any] | None,
                       query_code: str | None, version: int | None) -> bool:
        """The push's one transaction (on the writer); False for a push older than one already applied."""
        push_key = note.case_id or query_code
        with self.store.tx() as c:
            if version is not None and push_key:
                # Pushes may overtake each other (several central instances, re-deliveries): an older
                # one must never overwrite what a newer one said.
                known = c.execute("SELECT version FROM push_versions WHERE key = ?", (push_key[:128],)).fetchone()
                if known is not None and known[0] >= version:
                    self.stale_pushes += 1
                    log.info("status push v%d for a case already at v%d ignored", version, known[0])
                    return False
                c.execute("INSERT OR REPLACE INTO push_versions(key, version, at) VALUES (?,?,?)",
                          (push_key[:128], version, time.time()))
                if version % 64 == 0:
                    c.execute("DELETE FROM push_versions WHERE at < ?", (time.time() - PUSH_VERSIONS_KEPT_S,))
            if note.case_id and note.status:
                c.execute("UPDATE cases SET status = ? WHERE case_id = ?", (note.status[:40], note.case_id))
            if query_code:
                cached = self.cached_view(f"q:{query_code}")
                merged = dict(cached[0]) if cached and isinstance(cached[0], dict) else {}
                merged.update(view or {})
                if note.status:
                    merged["status"] = note.status
                self.put_view(f"q:{query_code}", merged)
            c.execute("INSERT INTO inbox(topic, kind, body, received_at) VALUES (?,?,?,?)",
                      ("notify", note.type[:40], self.key.seal_json(obj, b"inbox"), time.time()))
            c.execute("DELETE FROM inbox WHERE id <= (SELECT MAX(id) FROM inbox) - 1000")
        return True

    def _write(self, fn: Callable[[], T]) -> T:
        """``fn`` (a store transaction) on the sync writer, at the process's priority; its result or
        exception comes back here."""
        return self.writer.run(fn)

    def _forget_held(self) -> None:
        with self.store.tx() as c:
            c.execute("DELETE FROM meta WHERE key = 'catalog.held'")

    def put_view(self, key: str, view: Any) -> None:
        with self.store.tx() as c:
            c.execute("INSERT OR REPLACE INTO case_views(key, view, fetched_at) VALUES (?,?,?)",
                      (key, self.key.seal_json(view, key.encode()), time.time()))

    def cached_view(self, key: str) -> tuple[Any, float] | None:
        """(view, age in seconds) or None."""
        rows = self.store.query("SELECT view, fetched_at FROM case_views WHERE key = ?", (key,))
        if not rows:
            return None
        return self.key.open_json(rows[0][0], key.encode()), max(0.0, time.time() - rows[0][1])

    # -- catalog ------------------------------------------------------------------------------------
    def _manifest(self, obj: dict[str, Any], size: int) -> None:
        manifest = _model(CatalogManifest, obj)
        try:
            verify_signed(obj, self._keys.catalog)
        except UnknownKey as exc:
            kept = self._hold(manifest, obj, size)
            raise Malformed(f"catalog manifest v{manifest.version}: {exc}"
                            + (" (kept until that key is accepted)" if kept else "")) from None
        except SignatureError as exc:
            raise Malformed(f"catalog manifest v{manifest.version}: {exc}") from None
        if manifest.version <= int(self.store.get("catalog.version", -1)):
            return
        self._write(partial(self._record_manifest, obj, manifest.version, self._held_version()))
        if not self._try_install(manifest.version):
            self._want(manifest.version, manifest.parts)

    def _record_manifest(self, obj: dict[str, Any], version: int, held: int) -> None:
        with self.store.tx() as c:
            self.store.put("catalog.pending", obj)
            if held <= version:
                c.execute("DELETE FROM meta WHERE key = 'catalog.held'")
                held = version
            # Only the announced (and a newer held) version is worth keeping parts of: stray parts
            # cannot fill the disk.
            c.execute("DELETE FROM catalog_parts WHERE version NOT IN (?, ?)", (version, held))

    def _want(self, version: int, parts: int) -> None:
        """Subscribes to the parts of ``version`` this terminal lacks (retained copies come with the
        subscription), and drops the subscriptions of a version it no longer wants."""
        have = {int(r[0]) for r in self.store.query("SELECT n FROM catalog_parts WHERE version = ?", (version,))}
        wanted = part_filters(version, have, parts)
        stale = [f for f in self._wanted if f not in wanted]
        new = [f for f in wanted if f not in self._wanted]
        self._wanted = wanted
        self.unsubscribe(stale)
        self.subscribe(new)

    def wanted_filters(self) -> list[str]:
        """What to subscribe to again after a reconnect: the parts still missing of the pending version."""
        with self._catalog_lock:
            pending = self.store.get("catalog.pending")
            if not isinstance(pending, dict) or self._wanted:
                return list(self._wanted)
            try:
                manifest = CatalogManifest.model_validate(pending)
            except ValidationError:
                return []
            have = {int(r[0]) for r in self.store.query("SELECT n FROM catalog_parts WHERE version = ?",
                                                        (manifest.version,))}
            self._wanted = part_filters(manifest.version, have, manifest.parts)
            return list(self._wanted)

    def _held_version(self) -> int:
        held = self.store.get("catalog.held")
        return int(held.get("version", -1)) if isinstance(held, dict) else -1

    def _hold(self, manifest: CatalogManifest, obj: dict[str, Any], size: int) -> bool:
        """Keeps a manifest signed by a key not accepted yet (a rotation whose new key reaches this
        terminal after central's first publication with it); only the newest, only if newer than installed."""
        newest = max(int(self.store.get("catalog.version", -1)), self._held_version())
        if size > MAX_HELD_MANIFEST or manifest.version <= newest:
            return False
        self._write(partial(self.store.put, "catalog.held", obj))
        return True

    def _part(self, version: int, n: int, data: bytes) -> None:
        if not data:
            return      # central clearing the retained part of an old version
        if version <= int(self.store.get("catalog.version", -1)):
            return
        self._write(partial(self._record_part, version, n, data))
        self._try_install(version)

    def _record_part(self, version: int, n: int, data: bytes) -> None:
        with self.store.tx() as c:
            c.execute("INSERT OR REPLACE INTO catalog_parts(version, n, data) VALUES (?,?,?)", (version, n, data))

    def _try_install(self, version: int) -> bool:
        """True once ``version`` is installed (or is not the pending one any more)."""
        pending = self.store.get("catalog.pending")
        if not pending or pending.get("version") != version:
            return False
        manifest = CatalogManifest.model_validate(pending)
        rows = self.store.query("SELECT n, data FROM catalog_parts WHERE version = ? ORDER BY n", (version,))
        if [n for n, _ in rows] != list(range(manifest.parts)):
            return False
        blob = b"".join(bytes(d) for _, d in rows)
        if len(blob) != manifest.size or hashlib.sha256(blob).hexdigest() != manifest.sha256.lower():
            # Keep the parts: a re-published part replaces the bad one and completes the set.
            if version not in self._mismatch_logged:
                self._mismatch_logged.add(version)
                log.error("catalog v%d: parts do not match the signed hash; keeping the installed version", version)
            return False
        catalog = _gunzip_json(blob)
        self._write(partial(self._record_install, version, pending, blob))
        log.info("catalog v%d installed", version)
        done, self._wanted = self._wanted, []
        self.unsubscribe(done)
        if self.on_catalog is not None:
            self.on_catalog(version, catalog)
        return True

    def _record_install(self, version: int, pending: dict[str, Any], blob: bytes) -> None:
        with self.store.tx() as c:
            c.execute("DELETE FROM catalog WHERE state = 'previous'")
            c.execute("UPDATE catalog SET state = 'previous' WHERE state = 'current'")
            c.execute("INSERT OR REPLACE INTO catalog(version, manifest, data, installed_at, state) VALUES (?,?,?,?,?)",
                      (version, json.dumps(pending), blob, time.time(), "current"))
            c.execute("DELETE FROM catalog_parts WHERE version <= ?", (version,))
            self.store.put("catalog.version", version)
            c.execute("DELETE FROM meta WHERE key = 'catalog.pending'")

    def current_catalog(self) -> tuple[int, dict[str, Any]] | None:
        rows = self.store.query("SELECT version, data FROM catalog WHERE state = 'current'")
        if not rows:
            return None
        return rows[0][0], _gunzip_json(bytes(rows[0][1]))

    # -- commands -----------------------------------------------------------------------------------
    def _command(self, obj: dict[str, Any]) -> None:
        cmd_id = obj.get("cmd_id") if isinstance(obj.get("cmd_id"), str) else None
        try:
            cmd = _model(Command, obj)
            verify_signed(obj, self._keys.command)
            expires = self._check_fresh(cmd)
        except (Malformed, SignatureError) as exc:
            log.warning("command %s refused: %s", (cmd_id or "?")[:64], exc)
            if cmd_id:
                self._result(cmd_id[:128], False, f"refused: {exc}")
            return
        if cmd.cmd_id in self._seen_in_memory or not self._record_seen(cmd, expires):
            log.warning("command %s refused: replayed", cmd.cmd_id[:64])
            self._result(cmd.cmd_id, False, "refused: replayed")
            return
        ok, detail = self._run(cmd, obj)
        self._result(cmd.cmd_id, ok, detail)

    def _record_seen(self, cmd: Command, expires: float) -> bool:
        """Records the command before it runs (it runs at most once, even across a crash); False when it
        was seen before. A safety command still runs when the store cannot record it (kept in memory)."""
        try:
            if not self._write(partial(self._record_new_command, cmd.cmd_id, expires)):
                return False
        except sqlite3.Error:
            if cmd.name not in SAFETY_COMMANDS:
                raise
            log.error("command %s runs without being recorded: the store cannot write", cmd.name)
            self._seen_in_memory.add(cmd.cmd_id)
        return True

    def _record_new_command(self, cmd_id: str, expires: float) -> bool:
        with self.store.tx() as c:
            if c.execute("SELECT 1 FROM seen_commands WHERE cmd_id = ?", (cmd_id,)).fetchone():
                return False
            c.execute("INSERT INTO seen_commands(cmd_id, seen_at, expires) VALUES (?, ?, ?)",
                      (cmd_id, time.time(), expires))
        return True

    def _check_fresh(self, cmd: Command) -> float:
        """The command's expiry (epoch seconds) once its lifetime and freshness check out against the
        trusted clock (central's time, else a trusted wall clock, and never before a time central vouched
        for). Raises Malformed."""
        expires = _timestamp(cmd.expires_at, "expires_at")
        issued = _timestamp(cmd.issued_at, "issued_at") if cmd.issued_at is not None else None
        floor = self.clock.floor()
        now = self.clock.trusted_ts()
        reference = max(floor, now) if now is not None else floor
        if issued is not None and expires - issued > MAX_COMMAND_LIFETIME_S:
            raise Malformed("lifetime longer than allowed")
        if issued is None and expires - reference > MAX_COMMAND_LIFETIME_S:
            raise Malformed("lifetime longer than allowed")
        if expires < reference:
            raise Malformed("expired")
        if issued is not None:
            self.clock.observe_floor(issued)   # signed by central: that moment has passed
        return expires

    def _run(self, cmd: Command, obj: dict[str, Any]) -> tuple[bool, Any]:
        if cmd.name == "purge_cache" and self.on_command is None:
            # Without an application the engine purges on its own; with one, the command goes to it like
            # every other (audited there) and it purges through SyncEngine.purge_cache.
            purge_case_views(self.store)
            return True, "cache purged"
        if self.on_command is None:
            return False, "unsupported"
        try:
            ok, detail = self.on_command({k: v for k, v in obj.items() if k != "sig"})
        except Exception as exc:
            log.exception("command %s failed", cmd.name)
            return False, f"failed: {type(exc).__name__}"
        return bool(ok), detail

    def _result(self, cmd_id: str, ok: bool, detail: Any) -> None:
        self.send_event("cmd.result", {"cmd_id": cmd_id, "ok": ok, "detail": detail})


def _timestamp(text: str, name: str) -> float:
    try:
        moment = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        raise Malformed(f"{name} is not RFC 3339") from None
    if moment.tzinfo is None:
        raise Malformed(f"{name} has no offset")
    return moment.timestamp()


def _gunzip_json(blob: bytes) -> dict[str, Any]:
    try:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        raw = inflater.decompress(blob, MAX_CATALOG_BYTES)
        if inflater.unconsumed_tail:
            raise Malformed("catalog larger than allowed")
        catalog = loads_utf8(raw.decode("utf-8"))
    except (zlib.error, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise Malformed(f"catalog is not gzip JSON ({type(exc).__name__})") from None
    if not isinstance(catalog, dict):
        raise Malformed("catalog is not a JSON object")
    return catalog
