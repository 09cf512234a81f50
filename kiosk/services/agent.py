"""Village agent mode (代办员): login with the agent's own ID card and PIN (verified by central; its signed
day token lets the agent keep working offline that day, also after a restart: kept encrypted), what central
registered for the agent (green channel, village points), and 本村办件 — every case of the agent's village
points from central (all agents, all terminals), or this terminal's own ledger when central is away."""
from __future__ import annotations

import json
import logging
import re
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from edge_sync.querycode import format_query_code
from edge_sync.service_models import AgentProfile, AgentProfileRequest, VillageCases, VillageCasesRequest
from kiosk.ports import CaseLookup, Reply
from kiosk.services import Context, ServiceError, require_agent, require_card
from kiosk.services.itemfacts import point_view
from kiosk.services.notice import Notice
from kiosk.services.query import full_view, masked_view
from kiosk.services.records import ServiceRecords
from kiosk.session import AgentLogin, Session

log = logging.getLogger(__name__)
AGENT_ID = re.compile(r"AG-[0-9]{4,8}")
PIN = re.compile(r"[0-9]{6}")
PROFILE = "agent:profile"  # session.flow: what central registered for the logged-in agent


class CaseLedger:
    """Cases submitted by agents on this terminal: query code, item, masked applicant, agent and time.
    Kept in a JSON file so the list survives restarts; holds nothing that identifies a person. Shown
    when central cannot be asked for the village's cases."""

    def __init__(self, path: Path | None = None, size: int = 2000) -> None:
        self._path = path
        self._size = size
        self._lock = threading.Lock()
        self._rows: list[dict[str, Any]] = []
        if path is not None and path.exists():
            try:
                self._rows = json.loads(path.read_text("utf-8"))[-size:]
            except (OSError, ValueError) as exc:
                log.warning("agent case ledger unreadable, starting empty: %s", exc)

    def add(self, row: dict[str, Any]) -> None:
        with self._lock:
            self._rows = (self._rows + [row])[-self._size:]
            if self._path is not None:
                tmp = self._path.with_suffix(".tmp")
                tmp.write_text(json.dumps(self._rows, ensure_ascii=False), "utf-8")
                tmp.replace(self._path)

    def for_agent(self, agent_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(r) for r in reversed(self._rows) if r.get("agent_id") == agent_id]


def token_of(login: AgentLogin) -> dict[str, Any]:
    """Central's signed day token as the object it was (kept as JSON text in the login)."""
    try:
        token = json.loads(login.token)
    except ValueError:
        return {}
    return token if isinstance(token, dict) else {}


class AgentService:
    def __init__(self, ctx: Context, ledger: CaseLedger | None = None,
                 records: ServiceRecords | None = None) -> None:
        self.ctx = ctx
        self.ledger = ledger or CaseLedger()
        self.records = records or ServiceRecords()

    def login(self, agent_id: str, pin: str) -> dict[str, Any]:
        """The agent's card is in the reader. Raises ServiceError (wrong PIN, no card, offline without token)."""
        agent_id = agent_id.strip().upper()
        if agent_id.isdigit():
            agent_id = f"AG-{agent_id.zfill(4)}"
        if not AGENT_ID.fullmatch(agent_id) or not PIN.fullmatch(pin or ""):
            raise ServiceError("bad_login", "工号或密码格式不对：工号如 0031，密码为 6 位数字。", 400)
        session = require_card(self.ctx)
        id_no = session.card.id_number
        key = self.records.login_key(agent_id, id_no, pin)
        sync = self.ctx.require_sync()
        reply = sync.request("agent.login", {"agent_id": agent_id, "id_no": id_no, "pin": pin},
                             timeout=self.ctx.settings.request_timeout_s)
        if isinstance(reply, Reply):
            if not reply.fields.get("ok"):
                raise ServiceError("denied", "工号、密码与身份证不匹配，请核对后重试。", 403)
            token = reply.fields.get("token")
            login = AgentLogin(agent_id=agent_id, name=str(reply.fields.get("name", "")),
                               token=json.dumps(token if isinstance(token, dict) else {}, ensure_ascii=False),
                               villages=[str(v) for v in reply.fields.get("villages", [])],
                               expires_at=str(reply.fields.get("expires_at", "")))
            self._keep(key, login)
        else:
            login = self._offline_login(key)
        session = self.ctx.sessions.login_agent(login)
        profile = self._profile(session, login) if not login.offline else None
        return {"agent": {"agent_id": login.agent_id, "villages": login.villages, "offline": login.offline,
                          "green_channel": bool(profile and profile.green_channel)}}

    def _keep(self, key: str, login: AgentLogin) -> None:
        try:
            expires = datetime.fromisoformat(login.expires_at).timestamp()
        except ValueError:
            return  # a token without a valid expiry is not kept for offline use
        now = self.ctx.trusted_now() or self.ctx.wall_clock()
        try:
            self.records.keep_agent_login(key, login, expires, now.timestamp())
        except Exception as exc:  # the online login goes on; offline logins then need central once more
            log.error("agent day token not kept: %s", type(exc).__name__)

    def _offline_login(self, key: str) -> AgentLogin:
        earlier = self.records.agent_login(key)
        now = self.ctx.trusted_now()
        if earlier is None or now is None or not _still_valid(earlier.expires_at, now):
            raise ServiceError("offline", "暂时连不上平台，无法验证代办员身份。"
                               "今天在本机登录过的代办员可以继续离线办理。", 503)
        return AgentLogin(earlier.agent_id, earlier.name, earlier.token, earlier.villages, earlier.expires_at,
                          offline=True)

    def _profile(self, session: Session, login: AgentLogin) -> AgentProfile | None:
        """Central's registration of the agent (green channel, village points), kept in the session."""
        sync = self.ctx.require_sync()
        body = AgentProfileRequest(agent_id=login.agent_id, token=token_of(login))
        reply = sync.request(body.type, body.fields(), timeout=self.ctx.settings.request_timeout_s)
        if not isinstance(reply, Reply):
            return None
        try:
            profile = AgentProfile.model_validate(reply.fields)
        except ValidationError:
            log.warning("agent.profile reply unusable")
            return None
        if profile.ok and profile.agent_id == login.agent_id:
            session.flow[PROFILE] = profile
            return profile
        return None

    def profile(self) -> AgentProfile | None:
        """The logged-in agent's registration as central gave it at login (None when unknown)."""
        session = self.ctx.sessions.current
        profile = session.flow.get(PROFILE) if session is not None and session.agent is not None else None
        return profile if isinstance(profile, AgentProfile) else None

    def record(self, notice: Notice, agent_id: str) -> None:
        for case in notice.cases:
            self.ledger.add({"query_code": case.query_code, "item_name": case.item_name,
                             "applicant_masked": notice.applicant_masked, "agent_id": agent_id,
                             "submitted_at": notice.submitted_at})

    def village_cases(self) -> dict[str, Any]:
        """本村办件: from central for the agent's whole village points; offline, this terminal's ledger."""
        session = require_agent(self.ctx)
        login = session.agent
        assert login is not None
        sync = self.ctx.require_sync()
        body = VillageCasesRequest(agent_id=login.agent_id, token=token_of(login))
        reply = sync.request(body.type, body.fields(), timeout=self.ctx.settings.request_timeout_s)
        if isinstance(reply, Reply):
            try:
                answer = VillageCases.model_validate(reply.fields)
            except ValidationError:
                answer = None
            if answer is not None and answer.ok:
                extras = self.ctx.catalog().extras
                points = [point_view(p) for p in map(extras.point, answer.village_points) if p is not None]
                return {"source": "central", "village_points": answer.village_points, "points": points,
                        "cases": [self._row(full_view(c)) for c in answer.cases]}
        return self._ledger_cases(login.agent_id)

    @staticmethod
    def _row(view: dict[str, Any]) -> dict[str, Any]:
        code = str(view.get("query_code") or "")
        return {"query_code": code, "query_code_display": format_query_code(code) if code else "",
                "item_name": view.get("item_name"), "applicant_masked": view.get("applicant_masked"),
                "agent_id": view.get("agent_id"), "case": view, "cached": False, "age_s": None}

    def _ledger_cases(self, agent_id: str) -> dict[str, Any]:
        sync = self.ctx.require_sync()
        rows = []
        for row in self.ledger.for_agent(agent_id)[:30]:
            found = sync.query_case(row["query_code"], timeout=0.0)
            view = masked_view(found.view) if isinstance(found, CaseLookup) and found.view else None
            rows.append({**row, "query_code_display": format_query_code(row["query_code"]), "case": view,
                         "cached": isinstance(found, CaseLookup) and found.cached,
                         "age_s": found.age_s if isinstance(found, CaseLookup) else None})
        return {"source": "terminal", "message": "暂时连不上平台，只列出在本机代办的办件。", "village_points": [],
                "points": [],
                "cases": rows}


def _still_valid(expires_at: str, now: datetime) -> bool:
    try:
        return datetime.fromisoformat(expires_at) > now
    except ValueError:
        return False
