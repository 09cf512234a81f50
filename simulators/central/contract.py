"""The central side's own reading of contract central-mqtt-v1: topics, enums, query-code check symbol
(§10) and validation of every up message. Validators return a reason text instead of raising, so that
no payload a kiosk can send ever escapes as an exception."""
from __future__ import annotations

import enum
import re
from datetime import datetime
from typing import Any

from simulators.central.update_events import check_update_event

TOPIC_PREFIX = "gov/v1"
SHARE_GROUP = "central"
UP_KINDS = ("case", "blob", "event", "request", "state")
MAX_CHUNK = 262144  # §1: no PUBLISH payload above 256 KiB

DEVICE_RE = re.compile(r"^[A-Z]{3}-[0-9]{6}-[0-9]{4}$")
UP_TOPIC_RE = re.compile(r"^gov/v1/up/([^/]+)/([a-z]+)$")
SHA256_RE = re.compile(r"^[0-9a-fA-F]{64}$")
DATE_TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")

# Crockford base32 for the 16 data symbols; the check alphabet adds * ~ $ = U for values 32..36.
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CHECK_ALPHABET = CROCKFORD + "*~$=U"


class AckResult(str, enum.Enum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"
    INCOMPLETE = "incomplete"
    STORED = "stored"
    MISSING = "missing"
    CORRUPT = "corrupt"


class CaseStatus(str, enum.Enum):
    RECEIVED = "received"
    ACCEPTED = "accepted"
    CORRECTION_NEEDED = "correction_needed"  # 补正
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    CERTIFICATE = "certificate"
    READY_FOR_PICKUP = "ready_for_pickup"
    PICKED_UP = "picked_up"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class Light(str, enum.Enum):
    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"


ID_TYPES = ("resident", "hmt_permit", "foreigner")
CHANNELS = ("self", "agent", "window")
SOURCES = ("shared", "scan", "paper")
PICKUP_METHODS = ("window", "mail", "village_point")
EVENT_TYPES = ("device.health", "ticket.issued", "evaluation", "help.requested", "tamper", "audit",
               "cmd.result",
               "update.progress", "update.result", "logs.uploaded")  # addendum "Updates"
REQUEST_TYPES = ("case.query", "case.list", "pickup.verify", "queue.take", "agent.login",
                 "materials.shared")
COMMAND_NAMES = ("lock", "unlock", "reboot", "reload_config", "print_test", "set_config", "upload_logs",
                 "purge_cache",
                 "update_install", "update_rollback")  # addendum "Updates"


def down_topic(device: str, kind: str) -> str:
    return f"{TOPIC_PREFIX}/down/{device}/{kind}"


def check_symbol(sixteen: str) -> str:
    """Check symbol of 16 Crockford symbols (§10). Raises ValueError on a symbol outside the alphabet."""
    value = 0
    for ch in sixteen:
        index = CROCKFORD.find(ch)
        if index < 0:
            raise ValueError(f"not a Crockford symbol: {ch!r}")
        value = value * 32 + index
    return CHECK_ALPHABET[value % 37]


def is_query_code(code: Any) -> bool:
    """True for a canonical query code: 16 Crockford symbols plus the right check symbol, upper case."""
    if not isinstance(code, str) or len(code) != 17:
        return False
    body, check = code[:16], code[16]
    if any(ch not in CROCKFORD for ch in body):
        return False
    return check_symbol(body) == check


def parse_time(text: Any) -> datetime | None:
    """An RFC 3339 time with an offset, or None."""
    if not isinstance(text, str) or not DATE_TIME_RE.match(text):
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _short_text(value: Any, limit: int = 200) -> bool:
    return isinstance(value, str) and 0 < len(value) <= limit


def check_envelope(payload: Any, topic_device: str) -> str | None:
    """Reason why the common fields (§2, §3) of a JSON up message are invalid, or None."""
    if not isinstance(payload, dict):
        return "payload is not a JSON object"
    if payload.get("v") != 1 or not _is_int(payload.get("v")):
        return "v must be 1"
    if not _short_text(payload.get("msg_id"), 128):
        return "msg_id missing or not a string of at most 128 characters"
    seq = payload.get("seq")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        return "seq must be a non-negative integer"
    if parse_time(payload.get("sent_at")) is None:
        return "sent_at must be an RFC 3339 time with an offset"
    device = payload.get("device", topic_device)
    if device != topic_device:
        return "payload device differs from the topic's device"
    return None


def _check_applicant(applicant: Any, need_name: bool) -> str | None:
    if not isinstance(applicant, dict):
        return "applicant must be an object"
    if applicant.get("id_type") not in ID_TYPES:
        return "applicant.id_type must be resident, hmt_permit or foreigner"
    if not _short_text(applicant.get("id_no"), 64):
        return "applicant.id_no missing"
    if need_name and not _short_text(applicant.get("name"), 100):
        return "applicant.name missing"
    phone = applicant.get("phone")
    if phone is not None and not isinstance(phone, str):
        return "applicant.phone must be a string"
    return None


def _check_materials(materials: Any) -> str | None:
    if not isinstance(materials, list):
        return "materials must be a list"
    for n, material in enumerate(materials):
        if not isinstance(material, dict) or not _short_text(material.get("code"), 32):
            return f"materials[{n}] needs a code"
        if material.get("source") not in SOURCES:
            return f"materials[{n}].source must be shared, scan or paper"
        blob = material.get("blob")
        if material["source"] == "scan" or blob is not None:
            if not isinstance(blob, dict) or not _short_text(blob.get("id"), 128):
                return f"materials[{n}].blob needs an id"
            if not isinstance(blob.get("sha256"), str) or not SHA256_RE.match(blob["sha256"]):
                return f"materials[{n}].blob.sha256 must be 64 hex digits"
            if not _is_int(blob.get("size")) or blob["size"] < 0:
                return f"materials[{n}].blob.size must be a non-negative integer"
    return None


def check_case(payload: dict, topic_device: str) -> str | None:
    """Reason why a ``case.submit`` envelope (§4) is invalid, or None. Expects check_envelope passed."""
    if not _short_text(payload.get("case_id"), 128):
        return "case_id missing"
    if not is_query_code(payload.get("query_code")):
        return "query_code is not a canonical code with a valid check symbol"
    device = payload.get("device")
    if not isinstance(device, str) or not DEVICE_RE.match(device) or device != topic_device:
        return "device missing, malformed or not the topic's device"
    if not _short_text(payload.get("site"), 64):
        return "site missing"
    if parse_time(payload.get("created_at")) is None:
        return "created_at must be an RFC 3339 time with an offset"
    item = payload.get("item")
    if not isinstance(item, dict) or not _short_text(item.get("code"), 64) \
            or not _short_text(item.get("situation"), 32):
        return "item needs code and situation"
    if "catalog" in item and not _is_int(item["catalog"]):
        return "item.catalog must be an integer"
    channel = payload.get("channel")
    if channel not in CHANNELS:
        return "channel must be self, agent or window"
    reason = _check_applicant(payload.get("applicant"), need_name=True)
    if reason:
        return reason
    agent = payload.get("agent")
    if channel == "agent" and (not isinstance(agent, dict) or not _short_text(agent.get("agent_id"), 32)):
        return "agent channel needs agent.agent_id"
    if agent is not None and not isinstance(agent, dict):
        return "agent must be an object or null"
    reason = _check_materials(payload.get("materials"))
    if reason:
        return reason
    pickup = payload.get("pickup")
    if not isinstance(pickup, dict) or pickup.get("method") not in PICKUP_METHODS:
        return "pickup.method must be window, mail or village_point"
    consent = payload.get("consent")
    if not isinstance(consent, dict) or not _short_text(consent.get("version"), 32):
        return "consent.version missing"
    if not isinstance(payload.get("test", False), bool):
        return "test must be a boolean"
    return None


def check_event(payload: dict) -> str | None:
    """Reason why an event (§7) is invalid, or None. Expects check_envelope passed."""
    kind = payload.get("type")
    if kind == "evaluation":
        score = payload.get("score")
        if not isinstance(score, int) or isinstance(score, bool) or not 1 <= score <= 5:
            return "evaluation.score must be 1..5"
        comment = payload.get("comment", "")
        if not isinstance(comment, str) or len(comment) > 200:
            return "evaluation.comment must be text of at most 200 characters"
    elif kind == "tamper" and payload.get("state") not in ("open", "closed"):
        return "tamper.state must be open or closed"
    elif kind == "cmd.result" and (not _short_text(payload.get("cmd_id"), 128)
                                   or not isinstance(payload.get("ok"), bool)):
        return "cmd.result needs cmd_id and ok"
    elif kind == "audit" and not isinstance(payload.get("records"), list):
        return "audit.records must be a list"
    elif kind in ("update.progress", "update.result", "logs.uploaded"):
        return check_update_event(payload)
    return None


def check_request(payload: dict) -> str | None:
    """Reason why the fields of a request (§6) are invalid, or None. Expects check_envelope passed."""
    kind = payload.get("type")
    if kind in ("case.query", "pickup.verify") and not is_query_code(payload.get("query_code")):
        return "query_code is not a canonical code with a valid check symbol"
    if kind in ("case.list", "pickup.verify"):
        return _check_applicant(payload.get("applicant"), need_name=False)
    if kind == "queue.take":
        if payload.get("category") not in ("SOC", "ECO", "CON"):
            return "category must be SOC, ECO or CON"
        if payload.get("priority", "normal") not in ("normal", "green"):
            return "priority must be normal or green"
        cases = payload.get("cases", 1)
        if not _is_int(cases) or not 1 <= cases <= 99:
            return "cases must be 1..99"
    if kind == "agent.login":
        for name in ("agent_id", "id_no", "pin"):
            if not _short_text(payload.get(name), 64):
                return f"{name} missing"
    if kind == "materials.shared" and (not _short_text(payload.get("item"), 64)
                                       or not _short_text(payload.get("situation"), 32)):
        return "item and situation needed"
    return None


def check_state(payload: Any) -> str | None:
    """Reason why a birth or will (§1) is invalid, or None."""
    if not isinstance(payload, dict) or payload.get("type") != "state" or payload.get("v") != 1:
        return "not a state message"
    if not isinstance(payload.get("online"), bool):
        return "online must be a boolean"
    if not _is_int(payload.get("epoch")) or payload["epoch"] < 0:
        return "epoch must be a non-negative integer"
    return None


class ChunkHeader(dict):
    """User properties of one blob chunk (§5), already checked."""


def check_chunk(props: dict[str, str], payload_size: int) -> tuple[ChunkHeader | None, str | None]:
    """(header, None) for a valid chunk, (None, reason) otherwise."""
    try:
        header = ChunkHeader(blob_id=props["blob_id"], index=int(props["index"]), count=int(props["count"]),
                             size=int(props["size"]), sha256=props["sha256"], mime=props.get("mime", ""),
                             msg_id=props["msg_id"])
    except KeyError as exc:
        return None, f"chunk lacks user property {exc.args[0]}"
    except ValueError:
        return None, "chunk index, count and size must be integers"
    if not 0 < len(header["blob_id"]) <= 128 or not 0 < len(header["msg_id"]) <= 128:
        return None, "blob_id and msg_id must be 1..128 characters"
    if not SHA256_RE.match(header["sha256"]):
        return None, "sha256 must be 64 hex digits"
    if header["count"] < 1 or not 0 <= header["index"] < header["count"] or header["size"] < 0:
        return None, "index must be within 0..count-1 and size non-negative"
    if payload_size > MAX_CHUNK:
        return None, "chunk larger than 256 KiB"
    if header["count"] * MAX_CHUNK < header["size"]:
        return None, "size cannot fit in count chunks"
    return header, None
