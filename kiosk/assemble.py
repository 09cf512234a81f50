"""Builds the terminal from its configuration: the real devices by their URLs, the sync engine, the first
catalog, the audit trail and the update agent, and wires the engine's callbacks to the application
(``assemble``). With ``kiosk.app`` it is the composition root (DESIGN §3): nothing else builds concrete
drivers or the engine."""
from __future__ import annotations

import functools
import logging
import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edge_sync.health import StoreState
from kiosk import __version__
from kiosk.app import Kiosk, Ports
from kiosk.catalog import Catalog, CatalogError
from kiosk.catalog.store import SUFFIX, CatalogStore, central_key
from kiosk.config import KioskConfig
from kiosk.diagnostics import LogUploader
from kiosk.services.records import open_records
from kiosk.update.agent import UpdateAgent

log = logging.getLogger(__name__)


def _optional(name: str, build: Callable[[], Any]) -> Any:
    """Build one optional device; a failure disables that device (logged once) until a later attempt
    succeeds (the application retries with backoff), never the terminal."""
    try:
        return build()
    except Exception as exc:
        log.warning("%s not available, its flows are disabled: %s", name, exc)
        return None


def build_ports(config: KioskConfig) -> tuple[Ports, Any]:
    """Real devices by their configured URLs (a device with no URL is not installed) and the sync engine.
    Returns (ports, engine) — the engine must get its callbacks before ``engine.start()``."""
    from kiosk import adapters

    dev = config.section("devices")
    pr = config.section("printer")
    ports = Ports()
    if dev["idcard"]:
        ports.idreader = adapters.IdReaderAdapter(dev["idcard"], dev["idcard_baud"])
    if dev["scanner"]:
        ports.scanner = adapters.ScannerAdapter(dev["scanner"])
    if dev["printer"]:
        ports.printer = _optional("printer", lambda: adapters.PrinterAdapter(dev["printer"], pr["profile"],
                                                                              pr["paper"]))
        ports.receipts = _optional("receipts", adapters.ReceiptsAdapter) if ports.printer else None
        if ports.printer is None or ports.receipts is None:
            ports.printer = ports.receipts = None
            ports.printer_opener = lambda: (adapters.PrinterAdapter(dev["printer"], pr["profile"], pr["paper"]),
                                            adapters.ReceiptsAdapter())
    if dev["camera"]:
        ports.camera = _optional("camera", lambda: adapters.CameraAdapter(dev["camera"]))
        if ports.camera is None:
            ports.camera_opener = lambda: adapters.CameraAdapter(dev["camera"])
    if dev["ioboard"]:
        ports.ioboard = adapters.IoBoardAdapter(dev["ioboard"])
    engine = None
    if config.sync is not None:
        from edge_sync import SyncEngine

        engine = SyncEngine(config.sync.with_(sw_version=__version__))
        ports.sync = adapters.SyncAdapter(engine)
        ports.sync_control = engine
    return ports, engine


def initial_catalog(config: KioskConfig, engine: Any, override: str | None = None,
                    catalogs: CatalogStore | None = None) -> Catalog:
    """The installed catalog version (from edge_sync's store), else the configured file, each compiled
    once into ``catalogs``. Raises CatalogError when there is none: the terminal cannot serve without one."""
    from kiosk.catalog.pinyin import InProcessPinyin
    from kiosk.catalog.store import CompilerUnavailable

    store = catalogs or CatalogStore(None)
    try:
        return _first_catalog(config, engine, override, store)
    except CompilerUnavailable as exc:
        # Serving matters more than memory: compile in this process this once.
        log.error("catalog compiler failed (%s): compiling in this process", exc)
        return _first_catalog(config, engine, override, CatalogStore(store.folder, InProcessPinyin()))


def _newest_central(store: CatalogStore) -> Catalog | None:
    """The newest central catalog version compiled in ``store``'s folder, or None."""
    if store.folder is None:
        return None
    versions = sorted((int(m.group(1)) for p in store.folder.glob(f"central-v*{SUFFIX}")
                       if (m := re.fullmatch(rf"central-v(\d+){re.escape(SUFFIX)}", p.name))), reverse=True)
    for version in versions:
        found = store.cached(central_key(version))
        if found is not None:
            return found
    return None


def _first_catalog(config: KioskConfig, engine: Any, override: str | None, store: CatalogStore) -> Catalog:
    if override:
        return store.from_file(override)
    version = engine.status().get("catalog_version") if engine is not None else None
    if version is not None:
        try:
            found = store.installed(int(version), lambda: (engine.current_catalog() or (0, None))[1])
            if found is not None:
                return found
        except CatalogError as exc:
            log.error("installed catalog %s unusable: %s", version, exc)
    if version is None and engine is not None:
        # The sync store could not be read (it runs in memory): the newest version compiled before serves.
        found = _newest_central(store)
        if found is not None:
            return found
    path = config.get("catalog", "file")
    if not path:
        raise CatalogError("no catalog installed and [catalog] file not set (KIOSK_CATALOG_FILE)")
    return store.from_file(path)


def _open_audit(path: Path) -> Any:
    """The audit trail's store (kiosk.audit), or None when it cannot be opened (logged: the terminal runs)."""
    try:
        from kiosk.audit import AuditLog

        return AuditLog(path)
    except Exception as exc:
        log.error("audit trail unavailable at %s: %s", path, exc)
        return None


def _update_agent(config: KioskConfig, engine: Any, ports: Ports) -> UpdateAgent | None:
    """The service's side of signed updates, or None (logged) when the [update] settings are unusable."""
    from kiosk.update.errors import UpdateError
    from kiosk.update.settings import UpdateSettings

    try:
        settings = UpdateSettings.from_config(config)
    except UpdateError as exc:
        log.error("updates disabled: %s", exc)
        return None
    from kiosk.update.firmware import running_slot, slot_firmware

    board = ports.ioboard if hasattr(ports.ioboard, "board_info") else None
    return UpdateAgent(settings, engine, __version__, board=board,  # type: ignore[arg-type]
                       firmware=slot_firmware(running_slot()))


def assemble(config: KioskConfig, catalog_file: str | None = None) -> tuple[Kiosk, Any]:
    """The whole terminal from its configuration: (kiosk, sync engine or None), callbacks wired."""
    ports, engine = build_ports(config)
    data_dir = config.data_dir
    writable = data_dir.is_dir() and os.access(data_dir, os.W_OK)
    catalogs = CatalogStore(data_dir / "catalog" if writable else None)
    started = time.perf_counter()
    catalog = initial_catalog(config, engine, catalog_file, catalogs)
    log.info("catalog v%s ready in %.0f ms (%d items, %s)", catalog.version, (time.perf_counter() - started) * 1000,
             len(catalog.items), "compiled now" if catalogs.last_compiled else "compiled before")
    ledger = data_dir / "agent-cases.json" if writable else None
    audit_log = _open_audit(data_dir / "audit.db") if writable else None
    audit_sink: Callable[[str, str, str], Any] | None = None
    shipper: Callable[[], Any] | None = None
    if audit_log is not None:
        trail = audit_log

        def audit_sink(actor: str, action: str, subject: str) -> Any:
            write = functools.partial(trail.append, actor, action, subject, on_identity="mask")
            # An audit record is a safety record: it may use the sync engine's reserved headroom.
            return engine.reserve.run(write) if engine is not None else write()
        if ports.sync is not None:
            shipper = functools.partial(trail.ship, ports.sync.send_event)
    # Reprint records and agent day tokens survive a restart, sealed with the sync engine's device key
    # (kept in memory only while that key is lost: a throw-away key must never seal them).
    key = engine.key if engine is not None and engine.store_state is StoreState.OK else None
    records = open_records(data_dir if writable else None, key)
    kiosk = Kiosk(config, catalog, ports, ledger_path=ledger, catalogs=catalogs, records=records,
                  audit=audit_sink, audit_shipper=shipper)
    if audit_log is not None:
        kiosk.closers.append(audit_log.close)
    kiosk.closers.append(records.close)
    if engine is not None:
        engine.on_notify = kiosk.on_notify
        engine.on_catalog = kiosk.on_catalog
        engine.on_command = lambda cmd: kiosk.on_command(
            str(cmd.get("name", "")), cmd["args"] if isinstance(cmd.get("args"), dict) else {},
            str(cmd.get("cmd_id", "")))
        engine.on_alarm = lambda reason, fields: kiosk.bus.publish({"type": "alarm", "reason": reason})
        kiosk.update_agent = _update_agent(config, engine, ports)
        if kiosk.health is not None and kiosk.update_agent is not None:
            kiosk.health.update_status = kiosk.update_agent.health
        kiosk.log_uploader = LogUploader(config.get("diagnostics", "log_source"), engine.send_blob, engine.send_event)
    return kiosk, engine
