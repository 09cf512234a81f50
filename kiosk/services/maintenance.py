"""Technician maintenance (维护): PIN login, device status, printer test page, outbox depth, catalog
version, lock/unlock. Also the lock state that central's commands and the tamper switch set."""
from __future__ import annotations

import hashlib
import hmac
import logging
import shutil
import time
from typing import Any

from kiosk.ports import PrintFailed
from kiosk.services import Context, ServiceError, require_session
from kiosk.services.consult import print_message
from kiosk.session import EndReason

log = logging.getLogger(__name__)
MAINT = "maint"  # session.flow key: technician authenticated in this session
MAX_FAILURES = 5
LOCKOUT_S = 300.0


class MaintenanceService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._failures = 0
        self._locked_out_until = 0.0
        self.started = time.monotonic()

    def login(self, pin: str) -> dict[str, Any]:
        """Raises ServiceError when maintenance is disabled, the PIN is wrong, or after too many tries."""
        expected = self.ctx.settings.maintenance_pin_sha256
        if not expected:
            raise ServiceError("disabled", "本机未开放维护功能。", 403)
        if time.monotonic() < self._locked_out_until:
            raise ServiceError("locked_out", "密码错误次数过多，请 5 分钟后再试。", 429)
        given = hashlib.sha256((pin or "").encode()).hexdigest()
        if not hmac.compare_digest(given, expected):
            self._failures += 1
            if self._failures >= MAX_FAILURES:
                self._failures = 0
                self._locked_out_until = time.monotonic() + LOCKOUT_S
            log.warning("maintenance login refused")
            self.ctx.audit("technician", "maintenance", "login refused")
            raise ServiceError("denied", "维护密码不正确。", 403)
        self._failures = 0
        require_session(self.ctx).flow[MAINT] = {"since": time.monotonic()}
        log.info("maintenance login")
        self.ctx.audit("technician", "maintenance", "login")
        return self.status()

    def _require(self) -> None:
        session = self.ctx.sessions.current
        if session is None or MAINT not in session.flow:
            raise ServiceError("maint_needed", "请先输入维护密码。", 403)

    def status(self) -> dict[str, Any]:
        self._require()
        self.ctx.devices.poll_printer()
        sync_status: dict[str, Any] = {}
        if self.ctx.sync is not None:
            try:
                sync_status = self.ctx.sync.status()
            except Exception as exc:  # show the fault on the page rather than fail the page
                sync_status = {"error": str(exc)}
        disk = shutil.disk_usage("/")
        catalog = self.ctx.catalog()
        return {"devices": self.ctx.devices.status(), "sync": sync_status,
                "catalog": {"version": catalog.version, "published_at": catalog.published_at,
                            "items": len(catalog.items)},
                "disk_free_mb": disk.free // (1024 * 1024), "uptime_s": round(time.monotonic() - self.started),
                "clock_ok": self.ctx.sync.clock_ok() if self.ctx.sync is not None else None,
                "device_id": self.ctx.settings.device_id, "site_id": self.ctx.settings.site_id}

    def print_test(self) -> dict[str, Any]:
        self._require()
        devices = self.ctx.devices
        if devices.receipts is None or devices.printer is None:
            raise ServiceError("no_printer", print_message("no_printer"), 503)
        try:
            devices.print(devices.receipts.test_page())
        except PrintFailed as exc:
            self.ctx.audit("technician", "print", f"test page failed: {exc.code}")
            raise ServiceError(exc.code, print_message(exc.code), 503) from None
        self.ctx.audit("technician", "print", "test page")
        return {"printed": True}

    def lock(self, reason: str = "维护") -> dict[str, Any]:
        self._require()
        self.set_locked(reason)
        return {"locked": True}

    def unlock(self) -> dict[str, Any]:
        self._require()
        self.set_locked(None)
        return {"locked": False}

    def set_locked(self, reason: str | None) -> None:
        """Lock (with a reason) or unlock the terminal; locking ends any session (also from commands).
        Safety before writes: the lock and the wipe happen in memory first; the audit record follows and
        may fail (a full disk) without undoing them."""
        self.ctx.devices.set_locked(reason)
        if reason:
            self.ctx.sessions.end(EndReason.LOCKED)
            log.info("terminal locked")
        else:
            log.info("terminal unlocked")
        self.ctx.audit("kiosk", "maintenance", f"lock: {reason}" if reason else "unlock")
