"""Who is at the screen (anonymous, citizen with a card, village agent with a token), inactivity
timeouts with a countdown warning, and the wipe of everything personal at reset (DESIGN §5).

Everything a flow keeps about a person lives in the Session object, so that a reset that drops the
Session drops it all; the page is told to clear itself through the ``session.reset`` event.
"""
from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from drivers.masking import mask_id_number, mask_name


class Role(StrEnum):
    ANONYMOUS = "anonymous"
    CITIZEN = "citizen"  # identified by their own ID card in the reader
    AGENT = "agent"      # village agent (代办员) logged in with card + PIN


class EndReason(StrEnum):
    TIMEOUT = "timeout"
    FINISHED = "finished"
    LOCKED = "locked"
    SHUTDOWN = "shutdown"


@dataclass(frozen=True)
class Timeouts:
    warn_after_s: float = 45.0
    reset_after_s: float = 60.0
    agent_warn_after_s: float = 240.0
    agent_reset_after_s: float = 300.0


@dataclass
class AgentLogin:
    """A logged-in village agent; ``token`` is central's signed day token."""

    agent_id: str
    name: str
    token: str
    villages: list[str]
    expires_at: str
    offline: bool = False


def wipe_container(value: Any, depth: int = 0) -> None:
    """Empty nested dicts and lists in place, so that no other reference keeps their content reachable."""
    if depth > 20:
        return
    children = list(value.values()) if isinstance(value, dict) else value if isinstance(value, list) else []
    for child in children:
        wipe_container(child, depth + 1)
    if isinstance(value, (dict, list)):
        value.clear()


def person_view(identity: Any) -> dict[str, Any]:
    """What the page may show about a card holder: masked name and number, never the address or photo."""
    return {"name": mask_name(identity.name), "id_masked": mask_id_number(identity.id_number),
            "id_type": getattr(identity, "id_type", "resident")}


@dataclass
class Session:
    """One person's visit. ``card`` is the identity on the reader now (citizen mode: the applicant;
    agent mode: the resident); ``flow`` holds per-flow scratch data (drafts, captured pages)."""

    sid: str
    started: float
    last_activity: float
    role: Role = Role.ANONYMOUS
    card: Any = None
    agent: AgentLogin | None = None
    flow: dict[str, Any] = field(default_factory=dict)
    warned: bool = False
    # The card left the reader while a draft was open: the draft is kept until the person answers
    # (放弃申请, or the card comes back) or the inactivity reset wipes everything.
    card_away: bool = False

    def wipe(self) -> None:
        # Drop every reference to identity data and captured pages; Python cannot zero the strings,
        # but after this nothing reachable from the application holds them.
        self.card = None
        self.agent = None
        self.card_away = False
        wipe_container(self.flow)
        self.role = Role.ANONYMOUS

    def view(self) -> dict[str, Any]:
        return {"sid": self.sid, "role": self.role.value, "card_away": self.card_away,
                "card": person_view(self.card) if self.card is not None else None,
                "agent": {"agent_id": self.agent.agent_id, "name": mask_name(self.agent.name),
                          "villages": self.agent.villages, "offline": self.agent.offline} if self.agent else None}


Emit = Callable[[dict[str, Any]], None]


class SessionManager:
    """Owns the current Session. ``tick()`` must be called about once a second (the web server does);
    the clock is injectable so that tests drive time. Thread-safe: device callbacks come from threads."""

    def __init__(self, timeouts: Timeouts, emit: Emit, clock: Callable[[], float] = time.monotonic) -> None:
        self.timeouts = timeouts
        self._emit = emit
        self._clock = clock
        self._lock = threading.RLock()
        self._session: Session | None = None
        self._end_hooks: list[Callable[[Session], None]] = []
        self._keeps: list[Callable[[Session], bool]] = []

    def on_end(self, hook: Callable[[Session], None]) -> None:
        """Run ``hook(session)`` before a session is wiped (e.g. to release a device)."""
        self._end_hooks.append(hook)

    def keep_on_card_removal(self, predicate: Callable[[Session], bool]) -> None:
        """When ``predicate(session)`` holds at card removal (a draft the person has not given up), the card's
        flows are kept until ``confirm_card_removed()``, the same card's return, or the inactivity reset."""
        self._keeps.append(predicate)

    @property
    def current(self) -> Session | None:
        return self._session

    def _limits(self, session: Session) -> tuple[float, float]:
        t = self.timeouts
        if session.role is Role.AGENT:
            return t.agent_warn_after_s, t.agent_reset_after_s
        return t.warn_after_s, t.reset_after_s

    def activity(self, source: str = "touch") -> Session:
        """A touch, scan or card read: start a session if none, and restart the inactivity timer."""
        with self._lock:
            now = self._clock()
            session = self._session
            if session is None:
                session = Session(sid=secrets.token_hex(8), started=now, last_activity=now)
                self._session = session
                self._emit({"type": "session.started", "sid": session.sid, "source": source})
            session.last_activity = now
            if session.warned:
                session.warned = False
                self._emit({"type": "session.resumed", "sid": session.sid})
            return session

    def card_present(self, identity: Any) -> Session:
        """A card was read. In citizen mode its holder becomes the applicant; in agent mode the resident."""
        with self._lock:
            session = self.activity("card")
            if session.card is not None and session.card.id_number != identity.id_number:
                # Another person's card: nothing of the previous holder may carry over.
                self._drop_card_flows(session)
            session.card = identity
            session.card_away = False
            if session.role is Role.ANONYMOUS:
                session.role = Role.CITIZEN
            self._emit({"type": "card.present", "session": session.view()})
            return session

    def card_removed(self) -> None:
        """The card left the reader: in citizen mode every flow that needs it ends now. In agent mode the
        resident's presence was proven by the read, so the agent's work goes on."""
        with self._lock:
            session = self._session
            if session is None or session.card is None:
                self._emit({"type": "card.removed", "ended": False})
                return
            if session.role is Role.AGENT:
                self._emit({"type": "card.removed", "ended": False})
                return
            if any(keep(session) for keep in self._keeps):
                # Nothing the person entered is thrown away without asking: the page asks, the draft waits.
                session.card_away = True
                self._emit({"type": "card.removed", "ended": False, "held": True, "session": session.view()})
                return
            self._forget_card(session)

    def confirm_card_removed(self) -> None:
        """The person gave up the draft kept while their card was away: forget the card and its flows now."""
        with self._lock:
            session = self._session
            if session is not None and session.card_away:
                self._forget_card(session)

    def _forget_card(self, session: Session) -> None:
        self._drop_card_flows(session)
        session.card = None
        session.card_away = False
        session.role = Role.ANONYMOUS
        self._emit({"type": "card.removed", "ended": True, "session": session.view()})

    @staticmethod
    def _drop_card_flows(session: Session) -> None:
        for key in [k for k in session.flow if k.startswith("card:")]:
            wipe_container(session.flow.pop(key))

    def release_card(self) -> None:
        """Forget the card holder but keep the session (an agent moving on to the next resident)."""
        with self._lock:
            session = self._session
            if session is None or session.card is None:
                return
            self._drop_card_flows(session)
            session.card = None
            session.card_away = False
            if session.role is Role.CITIZEN:
                session.role = Role.ANONYMOUS
            self._emit({"type": "card.released", "session": session.view()})

    def login_agent(self, agent: AgentLogin) -> Session:
        """The agent's own card was used to log in; it is not the resident's, so it is forgotten."""
        with self._lock:
            session = self.activity("agent")
            self._drop_card_flows(session)
            session.card = None
            session.agent = agent
            session.role = Role.AGENT
            self._emit({"type": "agent.login", "session": session.view()})
            return session

    def end(self, reason: EndReason = EndReason.FINISHED) -> None:
        """End the session now: wipe it and tell the page to clear itself."""
        with self._lock:
            session, self._session = self._session, None
            if session is None:
                return
            for hook in self._end_hooks:
                hook(session)
            session.wipe()
            self._emit({"type": "session.reset", "reason": reason.value})

    def tick(self) -> None:
        """Emit the countdown warning, or reset after the inactivity limit."""
        with self._lock:
            session = self._session
            if session is None:
                return
            warn_after, reset_after = self._limits(session)
            idle = self._clock() - session.last_activity
            if idle >= reset_after:
                self.end(EndReason.TIMEOUT)
            elif idle >= warn_after and not session.warned:
                session.warned = True
                self._emit({"type": "session.warning", "seconds_left": round(reset_after - idle)})

    def state(self) -> dict[str, Any]:
        with self._lock:
            session = self._session
            if session is None:
                return {"active": False}
            warn_after, reset_after = self._limits(session)
            return {"active": True, **session.view(), "warn_after_s": warn_after, "reset_after_s": reset_after}
