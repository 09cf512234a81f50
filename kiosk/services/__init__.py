"""One service per flow of DESIGN §4. Services depend only on `kiosk.ports`, the catalog and the session;
they are synchronous (blocking device and sync calls) and the web layer runs them off the event loop."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kiosk.catalog import Catalog
from kiosk.catalog.workdays import CHINA_TZ
from kiosk.ports import SyncPort
from kiosk.services.devices import Devices
from kiosk.session import Role, Session, SessionManager


class ServiceError(Exception):
    """A flow cannot go on. ``code`` is stable (API and tests); ``message`` is what a villager reads;
    ``status`` is the HTTP status the web layer answers with."""

    def __init__(self, code: str, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


@dataclass
class Settings:
    """The few configuration values the services read."""

    device_id: str = "KSK-000000-0000"
    site_id: str = "000000-HALL-01"
    site_name: str = "政务服务中心"
    hotline: str = "12345"
    self_service: bool = True
    ack_wait_s: float = 5.0
    request_timeout_s: float = 3.0
    maintenance_pin_sha256: str = ""
    consent_version: str = "2026-01"
    mode: str = "hall"  # hall | village (a village service point, mostly used by its agent)
    idle_after_s: float = 180.0  # the page dims to its idle screen after this long without anyone (0 = never)


@dataclass
class Context:
    """What every service receives from the composition root."""

    settings: Settings
    sessions: SessionManager
    devices: Devices
    sync: SyncPort | None
    catalog: Callable[[], Catalog]
    emit: Callable[[dict[str, Any]], None] = field(default=lambda event: None)
    # audit(actor, action, subject): the tamper-evident trail (issue 7); never identity data in it.
    audit: Callable[[str, str, str], None] = field(default=lambda actor, action, subject: None)
    wall_clock: Callable[[], datetime] = field(default=lambda: datetime.now(CHINA_TZ))

    def trusted_now(self) -> datetime | None:
        """The current time, or None when the clock is known to be wrong (no battery clock, DESIGN §7)."""
        if self.sync is not None and not self.sync.clock_ok():
            return None
        return self.wall_clock()

    def require_sync(self) -> SyncPort:
        if self.sync is None:
            raise ServiceError("no_sync", "终端暂时无法连接政务服务平台，请到人工窗口办理。", 503)
        return self.sync


def actor_of(session: Session | None) -> str:
    """Who acts, for the audit trail: a role or an agent id, never a person's identity."""
    if session is not None and session.agent is not None:
        return f"agent:{session.agent.agent_id}"
    return "citizen" if session is not None and session.card is not None else "anonymous"


def require_session(ctx: Context) -> Session:
    session = ctx.sessions.current
    if session is None:
        session = ctx.sessions.activity("api")
    return session


def require_card(ctx: Context) -> Session:
    """The current session with a card in the reader. Raises ServiceError telling the user what to do."""
    block = ctx.devices.card_block()
    if block:
        raise ServiceError("reader_missing", block, 503)
    session = require_session(ctx)
    if session.card is None:
        raise ServiceError("card_needed", "请把身份证放在读卡区，读卡完成前不要拿开。", 403)
    if session.card_away:
        raise ServiceError("card_away", "身份证已取走，请把身份证放回读卡区继续办理。", 403)
    return session


def require_agent(ctx: Context) -> Session:
    session = require_session(ctx)
    if session.role is not Role.AGENT or session.agent is None:
        raise ServiceError("agent_needed", "请先用代办员身份证和密码登录。", 403)
    return session


def applicant_of(identity: Any) -> dict[str, str]:
    return {"id_type": getattr(identity, "id_type", "resident"), "id_no": identity.id_number}


def clean_text(value: Any, limit: int) -> str:
    """User text without control characters, cut to ``limit`` characters."""
    text = "".join(ch for ch in str(value or "") if ch.isprintable())
    return text.strip()[:limit]


__all__ = [
    "Context",
    "ServiceError",
    "Settings",
    "actor_of",
    "applicant_of",
    "clean_text",
    "require_agent",
    "require_card",
    "require_session",
]
