"""The contract addendum (docs/contract-addendum.md) against both sides: every fixed example message is
accepted by the terminal's model (edge_sync.service_models) and by the central simulator's own validator
(simulators.central.addendum); the same faults are refused by both; and neither side's parser of these
outside messages ever raises on arbitrary JSON (hypothesis)."""
from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from edge_sync import service_models as terminal
from simulators.central import addendum as central
from simulators.central.contract import check_envelope
from simulators.central.handlers import check_any_event

DOC = Path(__file__).resolve().parents[2] / "docs" / "contract-addendum.md"
EXAMPLE_RE = re.compile(r"```json example=([\w.]+)\n(.*?)```", re.S)


def examples() -> dict[str, dict[str, Any]]:
    found = {name: json.loads(body) for name, body in EXAMPLE_RE.findall(DOC.read_text("utf-8"))}
    assert found, "no examples found in the addendum"
    return found


def central_reason(name: str, message: dict[str, Any]) -> str | None:
    """Central's verdict on one example, as its handlers would reach it."""
    if name in ("service.evaluation", "case.bundle"):
        return check_envelope(message, "KSK-511902-0007") or check_any_event(message)
    if name == "case.correction":
        device = str(message.get("device", ""))
        return check_envelope(message, device) or central.check_correction(message, "KSK-511902-0007")
    if name.endswith(".request") or name in ("complaint.file", "case.withdraw"):
        return check_envelope(message, "KSK-511902-0007") or central.check_request(message)
    return central.check_reply(message)  # a reply central sends


TERMINAL_MODELS: dict[str, type[BaseModel]] = {
    "service.evaluation": terminal.Evaluation, "case.bundle": terminal.BundleLink,
    "case.correction": terminal.Correction, "complaint.file": terminal.ComplaintRequest,
    "complaint.receipt": terminal.ComplaintReceipt, "case.withdraw": terminal.WithdrawRequest,
    "case.withdrawn": terminal.WithdrawResult, "agent.profile.request": terminal.AgentProfileRequest,
    "agent.profile": terminal.AgentProfile, "village.cases.request": terminal.VillageCasesRequest,
    "village.cases": terminal.VillageCases,
}


def test_every_new_type_has_an_example_and_both_sides_accept_it():
    found = examples()
    assert set(found) == set(TERMINAL_MODELS)
    types = {m["type"] for m in found.values()}
    assert set(terminal.REQUESTS) | set(terminal.EVENTS) | set(terminal.CASE_MESSAGES) <= types
    assert set(central.REQUEST_TYPES) | set(central.EVENT_TYPES) | set(central.CASE_TYPES) <= types
    for name, message in found.items():
        TERMINAL_MODELS[name].model_validate(message)
        assert central_reason(name, message) is None, (name, central_reason(name, message))


MUTATIONS = [  # (example, change, why both sides must refuse it)
    ("service.evaluation", {"reasons": []}, "the two lowest levels need a reason"),
    ("service.evaluation", {"level": 4, "level_name": "满意"}, "no reasons above 不满意"),
    ("service.evaluation", {"level_name": "一般"}, "the national names only"),
    ("service.evaluation", {"level": 6, "level_name": "非常满意"}, "five levels"),
    ("service.evaluation", {"callback": {"consent": True}}, "a call-back needs a phone"),
    ("service.evaluation", {"service": {"kind": "shop", "ref": "x"}}, "case, ticket or visit"),
    ("case.bundle", {"cases": []}, "a bundle has two cases at least"),
    ("case.correction", {"materials": []}, "a correction brings materials"),
    ("case.correction", {"by": {"applicant": {"id_type": "resident", "id_no": "1"}, "agent_id": "AG-1",
                                "token": {}}}, "one proof, not two"),
    ("complaint.file", {"query_code": "7KQ2M9XDPA4TH6WRQ"}, "a valid query code"),
    ("complaint.file", {"kind": "praise"}, "urge or complaint"),
    ("agent.profile.request", {"token": "not-an-object"}, "the signed token object"),
]


@pytest.mark.parametrize("name, change, why", MUTATIONS, ids=[m[2] for m in MUTATIONS])
def test_both_sides_refuse_the_same_faults(name, change, why):
    message = {**copy.deepcopy(examples()[name]), **change}
    with pytest.raises(ValidationError):
        TERMINAL_MODELS[name].model_validate(message)
    assert central_reason(name, message) is not None, why


JSON = st.recursive(st.none() | st.booleans() | st.integers(-3, 300) | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                               max_size=5), max_leaves=20)
KEYS = st.sampled_from(["type", "v", "msg_id", "seq", "sent_at", "service", "level", "level_name", "reasons",
                        "callback", "by", "materials", "cases", "bundle", "kind", "category", "query_code", "ok",
                        "token", "agent_id", "result", "receipt_no", "received_at", "green_max_cases"])


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(sorted(TERMINAL_MODELS)), changes=st.dictionaries(KEYS, JSON, max_size=4))
def test_hostile_payloads_get_a_verdict_never_an_exception(name, changes):
    message = {**examples()[name], **changes}
    reason = central_reason(name, message)
    assert reason is None or isinstance(reason, str)
    try:
        TERMINAL_MODELS[name].model_validate(message)
    except ValidationError:
        pass
