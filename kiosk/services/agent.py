"""Village agent mode (代办员): login with the agent's own ID card and PIN (verified by central; a day
token lets the agent keep working offline), and the status of the cases submitted for the village."""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

from drivers.scanner.receipt_code import format_query_code
from kiosk.ports import CaseLookup, Reply
from kiosk.services import Context, ServiceError, require_agent, require_card
from kiosk.services.query import masked_view
from kiosk.session import AgentLogin

log = logging.getLogger(__name__)
AGENT_ID = re.compile(r"AG-[0-9]{4,8}")
PIN = re.compile(r"[0-9]{6}")


class CaseLedger:
    """Cases submitted by agents on this terminal: query code, item, masked applicant, agent and time.
    Kept in a JSON file so the list survives restarts; holds nothing that identifies a person."""

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


class AgentService:
    def __init__(self, ctx: Context, ledger: CaseLedger | None = None) -> None:
        self.ctx = ctx
        self.ledger = ledger or CaseLedger()
        self._secret = secrets.token_bytes(32)
        # Day tokens of earlier online logins: keyed hash of (agent id, id number, PIN) → login.
        self._day_tokens: dict[str, AgentLogin] = {}

    def _key(self, agent_id: str, id_no: str, pin: str) -> str:
        return hmac.new(self._secret, f"{agent_id}:{id_no}:{pin}".encode(), hashlib.sha256).hexdigest()

    def login(self, agent_id: str, pin: str) -> dict[str, Any]:
        """The agent's card is in the reader. Raises ServiceError (wrong PIN, no card, offline without token)."""
        agent_id = agent_id.strip().upper()
        if agent_id.isdigit():
            agent_id = f"AG-{agent_id.zfill(4)}"
        if not AGENT_ID.fullmatch(agent_id) or not PIN.fullmatch(pin or ""):
            raise ServiceError("bad_login", "工号或密码格式不对：工号如 0031，密码为 6 位数字。", 400)
        session = require_card(self.ctx)
        id_no = session.card.id_number
        key = self._key(agent_id, id_no, pin)
        sync = self.ctx.require_sync()
        reply = sync.request("agent.login", {"agent_id": agent_id, "id_no": id_no, "pin": pin},
                             timeout=self.ctx.settings.request_timeout_s)
        if isinstance(reply, Reply):
            if not reply.fields.get("ok"):
                raise ServiceError("denied", "工号、密码与身份证不匹配，请核对后重试。", 403)
            login = AgentLogin(agent_id=agent_id, name=str(reply.fields.get("name", "")),
                               token=str(reply.fields.get("token", "")),
                               villages=[str(v) for v in reply.fields.get("villages", [])],
                               expires_at=str(reply.fields.get("expires_at", "")))
            self._day_tokens[key] = login
        else:
            login = self._offline_login(key)
        self.ctx.sessions.login_agent(login)
        return {"agent": {"agent_id": login.agent_id, "villages": login.villages, "offline": login.offline}}

    def _offline_login(self, key: str) -> AgentLogin:
        earlier = self._day_tokens.get(key)
        now = self.ctx.trusted_now()
        if earlier is None or now is None or not _still_valid(earlier.expires_at, now):
            raise ServiceError("offline", "暂时连不上平台，无法验证代办员身份。今天在本机登录过的代办员可以继续离线办理。", 503)
        return AgentLogin(earlier.agent_id, earlier.name, earlier.token, earlier.villages, earlier.expires_at,
                          offline=True)

    def record(self, notice: dict[str, Any], agent_id: str) -> None:
        self.ledger.add({"query_code": notice["query_code"], "item_name": notice["item_name"],
                         "applicant_masked": notice["applicant_masked"], "agent_id": agent_id,
                         "submitted_at": notice.get("submitted_at")})

    def village_cases(self) -> dict[str, Any]:
        """Cases this agent submitted here, with their status from central or the cache."""
        session = require_agent(self.ctx)
        sync = self.ctx.require_sync()
        rows = []
        for row in self.ledger.for_agent(session.agent.agent_id)[:30]:
            found = sync.query_case(row["query_code"], timeout=min(1.0, self.ctx.settings.request_timeout_s))
            view = masked_view(found.view) if isinstance(found, CaseLookup) and found.view else None
            rows.append({**row, "query_code_display": format_query_code(row["query_code"]), "case": view,
                         "cached": isinstance(found, CaseLookup) and found.cached,
                         "age_s": found.age_s if isinstance(found, CaseLookup) else None})
        return {"cases": rows}


def _still_valid(expires_at: str, now: datetime) -> bool:
    try:
        return datetime.fromisoformat(expires_at) > now
    except ValueError:
        return False
