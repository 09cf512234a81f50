"""Composition root, with ``kiosk.assemble`` (which builds the devices, the sync engine and the first catalog
from the configuration): the only place that wires devices, the sync engine, the services and the web
server together. ``Kiosk`` is the running application; ``Ports`` what it holds of the devices.

Threading model: one asyncio loop runs the web server, the session ticker and the watchdog; device
watchers and the sync engine run their own threads and reach the application only through
thread-safe entry points (SessionManager, Devices, EventBus.publish). Blocking service calls (printing,
requests to central) run in the loop's default executor.
"""
from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from edge_sync.supervise import Supervisor
from kiosk import __version__
from kiosk.audit import CARD_READ_SUBJECT, AuditAction
from kiosk.catalog import Catalog
from kiosk.catalog.store import CatalogStore, Prepared
from kiosk.commands import CommandRunner
from kiosk.config import KioskConfig, load_config
from kiosk.diagnostics import LogUploader
from kiosk.events import EventBus
from kiosk.health import HealthReporter
from kiosk.logbuffer import RecentLog
from kiosk.ports import (
    CameraPort,
    CardEvent,
    CardEventKind,
    IdReaderPort,
    IoBoardPort,
    PrinterPort,
    ReceiptsPort,
    ScannerPort,
    SyncControl,
    SyncPort,
)
from kiosk.safety import Safety
from kiosk.sdnotify import notify, watchdog_interval
from kiosk.services import Context, Settings
from kiosk.services.bundle import Services, build_services
from kiosk.services.devices import Devices
from kiosk.services.records import ServiceRecords
from kiosk.session import EndReason, SessionManager, Timeouts
from kiosk.update.agent import UpdateAgent
from kiosk.web.server import TASKS, create_app, start_site
from kiosk.workers import open_later, watch_device

log = logging.getLogger(__name__)
AUDIT_SHIP_S = 30.0
EXIT_DELAY_S = 1.0  # lets edge_sync queue the command's cmd.result before the process stops
FIRST_LINK_S = 10.0  # after a start, how long the platform counts as "not known yet" while sync connects
FIRST_LINK_POLL_S = 0.2


@dataclass
class Ports:
    """The devices and sync engine of one terminal; None = not installed (the flows that need it say so)."""

    sync: SyncPort | None = None
    sync_control: SyncControl | None = None  # the engine itself, for central's commands (kiosk.commands)
    idreader: IdReaderPort | None = None
    scanner: ScannerPort | None = None
    printer: PrinterPort | None = None
    receipts: ReceiptsPort | None = None
    camera: CameraPort | None = None
    ioboard: IoBoardPort | None = None
    # Configured devices that did not open at start: opened again later, with backoff.
    camera_opener: Callable[[], CameraPort] | None = None
    printer_opener: Callable[[], tuple[PrinterPort, ReceiptsPort]] | None = None


def settings_from(config: KioskConfig) -> Settings:
    d, s, w = config.section("device"), config.section("session"), config.section("web")
    return Settings(device_id=d["id"], site_id=d["site_id"], site_name=d["site_name"], hotline=d["hotline"],
                    self_service=d["self_service"], ack_wait_s=s["ack_wait_s"],
                    request_timeout_s=s["request_timeout_s"], maintenance_pin_sha256=w["maintenance_pin_sha256"],
                    mode=d["mode"], idle_after_s=w["idle_after_s"])


def timeouts_from(config: KioskConfig) -> Timeouts:
    s = config.section("session")
    return Timeouts(s["warn_after_s"], s["reset_after_s"], s["agent_warn_after_s"], s["agent_reset_after_s"])


class Kiosk:
    """One terminal application. ``start()`` serves the UI and starts the device watchers; ``stop()``
    ends the session (wipe), stops watchers and the server."""

    def __init__(self, config: KioskConfig, catalog: Catalog, ports: Ports, *,
                 clock: Callable[[], float] = time.monotonic, wall_clock: Callable[[], datetime] | None = None,
                 tick_s: float = 0.5, ledger_path: Path | None = None, catalogs: CatalogStore | None = None,
                 audit: Callable[[str, str, str], Any] | None = None,
                 audit_shipper: Callable[[], Any] | None = None,
                 reload: Callable[[], KioskConfig] | None = None, records: ServiceRecords | None = None) -> None:
        """``audit(actor, action, subject)`` receives every auditable action (e.g. ``AuditLog.append``);
        ``audit_shipper()`` is called every ``AUDIT_SHIP_S`` off the loop to send the trail to central;
        ``reload()`` reads the configuration again (default: ``load_config`` of the same file);
        ``catalogs`` compiles the catalog versions central sends (default: in memory, nothing kept).
        Set ``on_exit(code)`` to learn that the application wants to exit (central's reboot)."""
        self.config = config
        self.load_config: Callable[[], KioskConfig] = reload or (lambda: load_config(config.path or None))
        self.recent_log = RecentLog()  # for central's upload_logs; attached to the root logger while serving
        self.exit_code: int | None = None
        self.on_exit: Callable[[int], Any] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.ports = ports
        self.catalogs = catalogs or CatalogStore(None)
        self._catalog = catalog
        self._catalog_wanted = catalog.version
        self._catalog_lock = threading.Lock()
        self.bus = EventBus()
        self._audit_sink = audit
        self._audit_shipper = audit_shipper
        self.closers: list[Callable[[], Any]] = []  # resources to release at stop (audit store …)
        self.sessions = SessionManager(timeouts_from(config), self._emit, clock)
        self.sessions.on_end(self._session_ending)
        self.devices = Devices(self.bus.publish, printer=ports.printer, receipts=ports.receipts,
                               camera=ports.camera, ioboard=ports.ioboard, has_reader=ports.idreader is not None,
                               has_scanner=ports.scanner is not None,
                               print_timeout=config.get("printer", "timeout_s"),
                               camera_configured=ports.camera is not None or ports.camera_opener is not None)
        ctx = Context(settings=settings_from(config), sessions=self.sessions, devices=self.devices, sync=ports.sync,
                      catalog=lambda: self._catalog, emit=self.bus.publish, audit=self.audit)
        if wall_clock is not None:
            ctx.wall_clock = wall_clock
        self.services: Services = build_services(ctx, ledger_path, records)
        self.app: web.Application = create_app(self.services, self.bus, tick_s=tick_s,
                                               status_poll_s=config.get("printer", "status_poll_s"),
                                               extra_status=self.extra_status)
        self._runner: web.AppRunner | None = None
        self._watchdog: asyncio.Task[None] | None = None
        self._first_link: asyncio.Task[None] | None = None
        self.commands = CommandRunner(self, ports.sync_control)
        # Signed updates and log upload (kiosk/update, kiosk/diagnostics): set by ``assemble`` with a sync engine.
        self.update_agent: UpdateAgent | None = None
        self.log_uploader: LogUploader | None = None
        self.url = ""
        # Device watchers, late-opened devices and the health report, supervised like edge_sync's threads.
        self.supervisor = Supervisor(self._worker_alarm)
        self.health: HealthReporter | None = None
        if ports.sync is not None:
            self.health = HealthReporter(self.devices, ports.sync, ports.ioboard, self.supervisor.reports)
            self.devices.on_change = self.health.changed
        self.safety = Safety(self.devices, self.services, ports.sync, self.bus.publish, self.audit, ports.ioboard)
        self._unhealthy_logged = ""

    # Audit trail ---------------------------------------------------------------------------------
    def audit(self, actor: str, action: str, subject: str = "") -> None:
        """Record an action; a failing audit store is logged, it never stops the service."""
        if self._audit_sink is None:
            return
        action = getattr(action, "value", action)
        try:
            self._audit_sink(actor, action, subject)
        except Exception as exc:
            log.error("audit record not written (%s %s): %s", action, subject, type(exc).__name__)

    def _emit(self, event: dict[str, Any]) -> None:
        """Session events go to the page and, for the actions the design names, to the audit trail."""
        self.bus.publish(event)
        kind = event.get("type")
        if kind == "session.started":
            self._attend_reader(True)
            self.audit("kiosk", AuditAction.SESSION_START, str(event.get("source", "")))
        elif kind == "session.reset":
            self._attend_reader(False)
            self.audit("kiosk", AuditAction.SESSION_END, str(event.get("reason", "")))
        elif kind == "card.present":
            # Never the card's content: the same record as AuditLog.card_read() writes.
            agent = (event.get("session") or {}).get("agent")
            self.audit(f"agent:{agent['agent_id']}" if agent else "citizen", AuditAction.CARD_READ,
                       CARD_READ_SUBJECT)
        elif kind == "agent.login":
            agent = (event.get("session") or {}).get("agent") or {}
            self.audit(f"agent:{agent.get('agent_id', '?')}", AuditAction.AGENT_LOGIN, "")

    def _attend_reader(self, attended: bool) -> None:
        """A session opened (every screen that asks for a card is reached by a tap, which opens one) or
        ended: the ID-card reader is looked at often while someone is there, seldom at rest."""
        if self.ports.idreader is not None:
            self.ports.idreader.attend(attended)

    def _session_ending(self, session: Any) -> None:
        """An agent's session ends: the agent is logged out (the session.end record follows)."""
        if session.agent is not None:
            self.audit(f"agent:{session.agent.agent_id}", AuditAction.AGENT_LOGOUT, "")

    # Catalog and downlink ----------------------------------------------------------------------
    @property
    def catalog(self) -> Catalog:
        return self._catalog

    def install_catalog(self, catalog: Catalog) -> None:
        """Swap in a new catalog version (atomic reference swap; readers keep the one they hold)."""
        self._catalog = catalog
        log.info("catalog version %s in use (%d items)", catalog.version, len(catalog.items))
        self.bus.publish({"type": "catalog", "version": catalog.version})

    def on_catalog(self, version: int, raw: dict[str, Any]) -> None:
        """edge_sync installed a verified catalog (on its thread): compile it, then swap. When a child
        compiles it, this only spools the JSON and a thread of its own does the rest, once edge_sync has
        let go of the parsed JSON (kiosk.catalog.store: the process then does not grow)."""
        self._catalog_wanted = version
        try:
            prepared = self.catalogs.prepare(version, raw)
        except Exception as exc:
            log.error("catalog version %s not usable, keeping %s: %s", version, self._catalog.version, exc)
            return
        if self.catalogs.in_child:
            threading.Thread(target=self._install_prepared, args=(version, prepared), name=f"catalog-v{version}",
                             daemon=True).start()
        else:
            self._install_prepared(version, prepared)

    def _install_prepared(self, version: int, prepared: Prepared) -> None:
        with self._catalog_lock:  # one compile at a time; a newer version arriving meanwhile wins
            if version != self._catalog_wanted:
                prepared.discard()
                return
            try:
                catalog = prepared.build()
            except Exception as exc:
                log.error("catalog version %s not usable, keeping %s: %s", version, self._catalog.version, exc)
                return
            if version == self._catalog_wanted:
                self.install_catalog(catalog)

    def on_notify(self, fields: dict[str, Any]) -> None:
        """A status change of a case: the open progress page may refresh (the code is not personal)."""
        code = fields.get("query_code")
        if isinstance(code, str):
            self.bus.publish({"type": "case.update", "query_code": code})

    def on_command(self, name: str, args: dict[str, Any], cmd_id: str = "") -> tuple[bool, Any]:
        """A verified command from central (edge_sync checked signature, expiry and replay); returns
        (ok, detail) for its ``cmd.result``. Called on the sync engine's thread."""
        ok, detail = self.commands.run(name, args, cmd_id)
        self.audit("central", AuditAction.COMMAND,
                   f"{cmd_id[:64] or '-'} {name[:32]}: {'ok' if ok else 'refused'}")
        return ok, detail

    def apply_config(self, config: KioskConfig) -> None:
        """Use ``config`` from now on for what applies while running: session timeouts, the services'
        settings, the print timeout (reload_config and set_config)."""
        self.config = config
        self.sessions.timeouts = timeouts_from(config)
        self.services.ctx.settings = settings_from(config)
        self.devices.print_timeout = config.get("printer", "timeout_s")
        log.info("configuration applied")

    def can_exit(self) -> bool:
        """Whether ``request_exit`` would reach a runner (serving, with ``on_exit`` set)."""
        return self._loop is not None and self.on_exit is not None

    def request_exit(self, code: int) -> None:
        """Ask the process to exit with ``code`` (thread-safe): ``on_exit(code)`` runs on the loop a moment
        later, once the command's result is on its way."""
        self.exit_code = code
        loop = self._loop
        if loop is None or self.on_exit is None:
            log.warning("exit %d requested but nobody runs this kiosk's exit", code)
            return
        loop.call_soon_threadsafe(loop.call_later, EXIT_DELAY_S, self.on_exit, code)

    # Device events -----------------------------------------------------------------------------
    def on_card_event(self, event: CardEvent) -> None:
        kind = event.kind
        if kind == CardEventKind.PRESENT and event.identity is not None:
            self.devices.set_reader(True)
            if not self.devices.locked:
                # The read is counted before the page hears of it: a resident's consent screen that
                # re-reads the draft on card.present must already see this read.
                self.services.on_card(event.identity)
                self.sessions.card_present(event.identity)
        elif kind == CardEventKind.REMOVED:
            self.sessions.card_removed()
            self.services.on_card(None)
        elif kind == CardEventKind.READER_LOST:
            self.devices.set_reader(False)
        elif kind == CardEventKind.READER_BACK:
            self.devices.set_reader(True)

    def on_io_event(self, kind: str, value: str) -> None:
        self.safety.on_io_event(kind, value)

    def alarm(self, reason: str, fields: dict[str, Any]) -> None:
        self.safety.alarm(reason, fields)

    def _worker_alarm(self, reason: str, fields: dict[str, object]) -> None:
        self.safety.alarm(reason, dict(fields))

    # Lifecycle ---------------------------------------------------------------------------------
    async def start(self, host: str | None = None, port: int | None = None) -> str:
        """Serve the UI, start watchers, tell systemd we are ready. Returns the URL."""
        host = host or self.config.get("web", "host")
        port = self.config.get("web", "port") if port is None else port
        self._runner = await start_site(self.app, host, port)
        self._loop = asyncio.get_running_loop()
        logging.getLogger().addHandler(self.recent_log)
        self._start_workers()
        if self.update_agent is not None:
            self.update_agent.start()
        sync = self.ports.sync
        if sync is not None and not sync.connected():
            # The engine connects in a second or so: until it has (or FIRST_LINK_S have passed) the
            # platform is "not known yet", so a restart does not show a villager the platform-unreachable
            # banner, nor the IO board the offline light, for the time MQTT takes to come up.
            self.devices.set_online(None)
            self._first_link = asyncio.create_task(self._await_first_link(sync))
        else:
            self.devices.set_online(sync is not None)
        self._watchdog = asyncio.create_task(self._feed_watchdog())
        self.url = f"http://{host}:{port}/"
        notify("READY=1\nSTATUS=serving " + self.url)
        log.info("kiosk ready at %s", self.url)
        return self.url

    def _start_workers(self) -> None:
        p, sup = self.ports, self.supervisor
        if p.idreader is not None:
            reader = p.idreader
            sup.spawn("idcard-watcher", watch_device("idcard", reader, lambda: reader.start(self.on_card_event)))
        if p.scanner is not None:
            scanner = p.scanner
            sup.spawn("scanner-watcher", watch_device(
                "scanner", scanner, lambda: scanner.start(self.services.on_scan, self.devices.set_scanner)))
        if p.ioboard is not None:
            board = p.ioboard
            self.safety.board_started()
            sup.spawn("ioboard", watch_device("ioboard", board, lambda: board.start(self.on_io_event),
                                              check=self.safety.check_board))
        if p.camera_opener is not None:
            sup.spawn("camera-open", open_later("camera", p.camera_opener, self._install_camera))
        if p.printer_opener is not None:
            sup.spawn("printer-open", open_later("printer", p.printer_opener, self._install_printer))
        if self.health is not None:
            sup.spawn("health-report", self.health.run, stall_after_s=120.0)

    def _install_camera(self, camera: CameraPort) -> None:
        self.ports.camera = camera
        self.devices.set_camera(camera)

    def _install_printer(self, opened: tuple[PrinterPort, ReceiptsPort]) -> None:
        self.ports.printer, self.ports.receipts = opened
        self.devices.set_printer(*opened)

    def extra_status(self) -> dict[str, Any]:
        """The running version and the update state, in ``/api/status`` (the installer's health window reads it)."""
        out: dict[str, Any] = {"version": __version__}
        if self.update_agent is not None:
            out["update"] = self.update_agent.status()
        return out

    def healthy(self) -> bool:
        """Fed to systemd's watchdog and the IO board: the loop runs (we are in it), the web site is up,
        the ticker runs, and every supervised worker of the application and of edge_sync is alive."""
        problem = self._unhealthy()
        if problem != self._unhealthy_logged:
            (log.error if problem else log.info)("watchdog %s", f"not fed: {problem}" if problem else "fed again")
            self._unhealthy_logged = problem
        return not problem

    def _unhealthy(self) -> str:
        if self._runner is None:
            return "web server down"
        ticker = self.app[TASKS].get("ticker")
        if ticker is None or ticker.done():
            return "session ticker ended"
        dead = [r.name for r in self.supervisor.reports() if r.state.value in ("dead", "stalled")]
        if dead:
            return "worker " + ", ".join(dead)
        sync = self.ports.sync
        if sync is not None and not sync.alive():
            return "sync engine worker"
        return ""

    async def _await_first_link(self, sync: SyncPort) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + FIRST_LINK_S
        while not sync.connected() and loop.time() < deadline:
            await asyncio.sleep(FIRST_LINK_POLL_S)
        self.devices.set_online(sync.connected())

    async def _feed_watchdog(self) -> None:
        interval = watchdog_interval() or 5.0
        loop = asyncio.get_running_loop()
        next_ship = loop.time() + 2.0
        shipping: asyncio.Future[Any] | None = None
        while True:
            if self._audit_shipper is not None and loop.time() >= next_ship and (shipping is None or shipping.done()):
                next_ship = loop.time() + AUDIT_SHIP_S
                shipping = loop.run_in_executor(None, self._ship_audit)
            if self.healthy():
                notify("WATCHDOG=1")
                if self.ports.ioboard is not None:
                    try:
                        self.ports.ioboard.heartbeat()
                    except Exception as exc:  # optional hardware
                        log.debug("IO board heartbeat failed: %s", exc)
                sync = self.ports.sync
                if sync is not None and self.devices.online is not None:  # None: _await_first_link decides
                    self.devices.set_online(sync.connected())
            await asyncio.sleep(min(interval, 5.0))

    def _ship_audit(self) -> None:
        if self._audit_shipper is None:
            return
        try:
            self._audit_shipper()
        except Exception as exc:  # e.g. storage full: the records stay and go next time
            log.warning("audit records not shipped yet: %s", type(exc).__name__)

    async def stop(self) -> None:
        notify("STOPPING=1")
        self.sessions.end(EndReason.SHUTDOWN)
        for task in (self._watchdog, self._first_link):
            if task is not None:
                task.cancel()
        if self.health is not None:
            self.health.stop(self.supervisor.worker("health-report"))
        # Each watcher's worker stops its watcher on the way out.
        await asyncio.get_running_loop().run_in_executor(None, self.supervisor.stop)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        logging.getLogger().removeHandler(self.recent_log)
        if self.update_agent is not None:
            self.update_agent.stop()
        for close in self.closers:
            try:
                close()
            except Exception as exc:
                log.warning("resource not closed cleanly: %s", exc)
