"""Central's own reading of the contract addendum "Services" (docs/contract-addendum.md): the new event,
case-topic and request types and their validation. Like `contract.py`, validators return a reason text
instead of raising; written from the addendum, never from the terminal's code."""
from __future__ import annotations

import re
from typing import Any

from simulators.central.contract import DATE_TIME_RE, SHA256_RE, is_query_code

EVENT_TYPES = ("service.evaluation", "case.bundle")
CASE_TYPES = ("case.correction",)
REQUEST_TYPES = ("complaint.file", "case.withdraw", "agent.profile", "village.cases")
REPLY_TYPES = {"complaint.file": "complaint.receipt", "case.withdraw": "case.withdrawn",
               "agent.profile": "agent.profile", "village.cases": "village.cases"}

LEVELS = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
REASONS = ("not_told_once", "asked_again", "wait_long", "over_time", "attitude", "guide_unclear", "device_fault",
           "other")
SERVICE_KINDS = ("case", "ticket", "visit")
PHONE_RE = re.compile(r"^1[3-9][0-9]{9}$")
COMPLAINT_CATEGORIES = {"urge": ("progress",),
                        "complaint": ("slow", "attitude", "materials", "fees", "unclear", "other")}


def _text(value: Any, low: int, high: int) -> bool:
    return isinstance(value, str) and low <= len(value) <= high


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _callback(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("consent", False), bool):
        return "callback must be an object with consent true/false"
    phone = value.get("phone")
    if value.get("consent") and not (isinstance(phone, str) and PHONE_RE.match(phone)):
        return "callback with consent needs an 11-digit mobile phone"
    if not value.get("consent") and phone is not None:
        return "no callback phone without consent"
    return None


def check_proof(value: Any) -> str | None:
    """``by``: the applicant's {id_type, id_no} or an agent's id with central's day token, one of the two."""
    if not isinstance(value, dict):
        return "by must be an object"
    applicant, token = value.get("applicant"), value.get("token")
    if (applicant is None) == (token is None):
        return "by needs either applicant or an agent token"
    if applicant is not None and (not isinstance(applicant, dict) or not _text(applicant.get("id_no"), 1, 64)
                                  or applicant.get("id_type") not in ("resident", "hmt_permit", "foreigner")):
        return "by.applicant needs id_type and id_no"
    if token is not None and (not isinstance(token, dict) or not _text(value.get("agent_id"), 1, 32)):
        return "by.token must be the signed token object, with by.agent_id"
    return None


def check_evaluation(p: dict) -> str | None:
    service = p.get("service")
    if not isinstance(service, dict) or service.get("kind") not in SERVICE_KINDS \
            or not _text(service.get("ref"), 1, 96):
        return "service needs kind (case/ticket/visit) and ref"
    level = p.get("level")
    if not _int(level) or level not in LEVELS:
        return "level must be 1..5"
    if p.get("level_name") != LEVELS[level]:
        return "level_name does not match the level"
    reasons = p.get("reasons", [])
    if not isinstance(reasons, list) or any(r not in REASONS for r in reasons) or len(reasons) > 8:
        return "reasons must be known reason codes"
    if level <= 2 and not reasons:
        return "the two lowest levels need a reason"
    if level >= 3 and reasons:
        return "reasons only with the two lowest levels"
    if not isinstance(p.get("comment", ""), str) or len(p.get("comment", "")) > 200:
        return "comment must be text of at most 200 characters"
    if p.get("channel", "self") not in ("self", "agent"):
        return "channel must be self or agent"
    if not _text(p.get("site"), 1, 64) or not DATE_TIME_RE.match(str(p.get("evaluated_at", ""))):
        return "site and evaluated_at needed"
    return _callback(p.get("callback"))


def check_bundle(p: dict) -> str | None:
    bundle, cases = p.get("bundle"), p.get("cases")
    if not _text(p.get("bundle_id"), 8, 64):
        return "bundle_id missing"
    if not isinstance(bundle, dict) or not _text(bundle.get("code"), 1, 20) or not _text(bundle.get("name"), 1, 60):
        return "bundle needs code and name"
    if not isinstance(cases, list) or not 2 <= len(cases) <= 20:
        return "cases must list 2..20 cases"
    for case in cases:
        if not isinstance(case, dict) or not _text(case.get("case_id"), 8, 64) \
                or not is_query_code(case.get("query_code")) or not _text(case.get("item"), 1, 64):
            return "every case needs case_id, a canonical query_code and item"
    return None


def check_correction(p: dict, topic_device: str) -> str | None:
    if not _text(p.get("correction_id"), 8, 64):
        return "correction_id missing"
    if not is_query_code(p.get("query_code")):
        return "query_code is not a canonical code with a valid check symbol"
    if p.get("device") != topic_device or not _text(p.get("site"), 1, 64):
        return "device (the topic's) and site needed"
    if not DATE_TIME_RE.match(str(p.get("created_at", ""))):
        return "created_at must be an RFC 3339 time with an offset"
    materials = p.get("materials")
    if not isinstance(materials, list) or not 1 <= len(materials) <= 30:
        return "materials must list 1..30 scanned materials"
    for m in materials:
        blob = m.get("blob") if isinstance(m, dict) else None
        if not isinstance(m, dict) or not _text(m.get("code"), 1, 20) or m.get("source") != "scan" \
                or not isinstance(blob, dict) or not _text(blob.get("id"), 1, 128) \
                or not SHA256_RE.match(str(blob.get("sha256", ""))) or not _int(blob.get("size")):
            return "every material needs code, source scan and a blob (id, sha256, size)"
    if not isinstance(p.get("note", ""), str) or len(p.get("note", "")) > 200:
        return "note must be text of at most 200 characters"
    return check_proof(p.get("by"))


def check_request(p: dict) -> str | None:
    """Reason why an addendum request is invalid, or None (common fields checked by the caller)."""
    kind = p.get("type")
    if kind in ("complaint.file", "case.withdraw"):
        if not is_query_code(p.get("query_code")):
            return "query_code is not a canonical code with a valid check symbol"
        reason = check_proof(p.get("by"))
        if reason:
            return reason
    if kind == "complaint.file":
        if p.get("category") not in COMPLAINT_CATEGORIES.get(str(p.get("kind")), ()):
            return "kind (urge/complaint) and a category of that kind needed"
        if not isinstance(p.get("text", ""), str) or len(p.get("text", "")) > 300:
            return "text must be at most 300 characters"
        return _callback(p.get("callback"))
    if kind == "case.withdraw" and (not isinstance(p.get("reason", ""), str) or len(p.get("reason", "")) > 100):
        return "reason must be at most 100 characters"
    if kind in ("agent.profile", "village.cases"):
        if not _text(p.get("agent_id"), 1, 32) or not isinstance(p.get("token"), dict):
            return "agent_id and the signed token needed"
        point = p.get("village_point")
        if point is not None and not _text(point, 1, 40):
            return "village_point must be a point code"
    return None


def check_reply(p: dict) -> str | None:
    """Reason why a reply central is about to send breaks the addendum, or None: central states what it
    promises (the terminal's models read exactly this)."""
    kind, ok = p.get("type"), p.get("ok")
    if kind not in REPLY_TYPES.values() or not isinstance(ok, bool):
        return "reply needs a known type and ok"
    if kind == "complaint.receipt" and ok:
        received = DATE_TIME_RE.match(str(p.get("received_at")))
        if not (_text(p.get("receipt_no"), 1, 40) and p.get("kind") in ("urge", "complaint") and received):
            return "an accepted complaint needs receipt_no, kind and received_at"
    if kind == "case.withdrawn" and p.get("result") not in ("withdrawn", "not_allowed", "not_found", "mismatch",
                                                            "bad_token", "invalid"):
        return "result unknown"
    if kind == "agent.profile" and ok and not (isinstance(p.get("green_channel"), bool)
                                               and _int(p.get("green_max_cases"))
                                               and isinstance(p.get("village_points"), list)):
        return "profile needs green_channel, green_max_cases and village_points"
    if kind == "village.cases" and ok and not isinstance(p.get("cases"), list):
        return "cases must be a list"
    return None
