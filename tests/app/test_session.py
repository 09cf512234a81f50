"""Sessions: start, countdown warning, reset and wipe, card removal, agent mode — with an injected clock."""
from __future__ import annotations

from typing import Any

import pytest

from kiosk.session import AgentLogin, EndReason, Role, SessionManager, Timeouts
from tests.app.doubles import ALICE, BOB, FakeClock


@pytest.fixture
def manager():
    events: list[dict[str, Any]] = []
    clock = FakeClock()
    return SessionManager(Timeouts(), events.append, clock), events, clock


def types(events):
    return [e["type"] for e in events]


def test_first_touch_starts_and_warning_comes_at_45s_reset_at_60s(manager):
    m, events, clock = manager
    m.activity("touch")
    assert types(events) == ["session.started"]
    clock.advance(44.9)
    m.tick()
    assert "session.warning" not in types(events)
    clock.advance(0.2)
    m.tick()
    warning = events[-1]
    assert warning["type"] == "session.warning" and warning["seconds_left"] == 15
    m.tick()
    assert types(events).count("session.warning") == 1  # once, the page counts down itself
    clock.advance(15)
    m.tick()
    assert events[-1] == {"type": "session.reset", "reason": "timeout"}
    assert m.current is None


def test_activity_during_the_warning_resumes(manager):
    m, events, clock = manager
    m.activity()
    clock.advance(50)
    m.tick()
    m.activity()
    assert types(events)[-1] == "session.resumed"
    clock.advance(50)
    m.tick()
    assert m.current is not None  # 50 s since the last touch: warned again, not reset
    assert types(events)[-1] == "session.warning"


def test_reset_wipes_identity_and_flow_data(manager):
    m, events, _clock = manager
    session = m.card_present(ALICE)
    pages = [b"jpeg"]
    session.flow["card:draft"] = {"phone": "13800000000", "pages": pages}
    m.end(EndReason.FINISHED)
    assert session.card is None and session.flow == {} and pages == []
    assert session.role is Role.ANONYMOUS
    assert types(events)[-1] == "session.reset"


def test_events_carry_only_masked_identity(manager):
    m, events, _ = manager
    m.card_present(ALICE)
    text = repr(events)
    assert ALICE.id_number not in text and ALICE.name not in text and ALICE.address not in text
    assert "张*丰" in text and "5119**********123X" in text


def test_card_removal_ends_card_flows_in_citizen_mode(manager):
    m, events, _ = manager
    session = m.card_present(ALICE)
    session.flow["card:draft"] = {"item": "x"}
    session.flow["query"] = {"code": "y"}
    m.card_removed()
    assert session.card is None and "card:draft" not in session.flow and "query" in session.flow
    assert events[-1]["type"] == "card.removed" and events[-1]["ended"] is True


def test_another_card_drops_the_previous_holders_flows(manager):
    m, _, _ = manager
    session = m.card_present(ALICE)
    session.flow["card:draft"] = {"item": "x"}
    m.card_present(BOB)
    assert session.card is BOB and "card:draft" not in session.flow


def test_agent_mode_has_longer_timeout_and_keeps_the_resident(manager):
    m, events, clock = manager
    m.card_present(BOB)  # the agent's own card
    session = m.login_agent(AgentLogin("AG-0031", "李四", "tok", ["示例村"], "2026-11-24T23:59:59+08:00"))
    assert session.card is None and session.role is Role.AGENT
    m.card_present(ALICE)  # the resident
    session.flow["card:draft"] = {"item": "x"}
    m.card_removed()
    assert session.card is ALICE and "card:draft" in session.flow
    clock.advance(100)
    m.tick()
    assert m.current is session  # 100 s is fine for an agent
    clock.advance(200)
    m.tick()
    assert m.current is None and types(events)[-1] == "session.reset"
    assert session.agent is None and session.card is None


def test_configured_timeouts(manager):
    events: list[dict[str, Any]] = []
    clock = FakeClock()
    m = SessionManager(Timeouts(warn_after_s=5, reset_after_s=10), events.append, clock)
    m.activity()
    clock.advance(10)
    m.tick()
    assert m.current is None


def test_end_hooks_run_before_the_wipe(manager):
    m, _, _ = manager
    seen = []
    m.on_end(lambda s: seen.append(s.card))
    m.card_present(ALICE)
    m.end()
    assert seen == [ALICE]


def test_agent_releases_the_resident_and_keeps_working(manager):
    m, events, _ = manager
    session = m.login_agent(AgentLogin("AG-0031", "李四", "tok", [], ""))
    m.card_present(ALICE)
    session.flow["card:draft"] = {"item": "x"}
    m.release_card()
    assert session.card is None and session.role is Role.AGENT and "card:draft" not in session.flow
    assert events[-1]["type"] == "card.released"
