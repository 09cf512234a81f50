"""Pydantic models of the central MQTT contract v1 (case envelope, ack, manifest, command, state);
uplink models are built by the engine, downlink models validate what arrives (unknown fields ignored)."""
from __future__ import annotations

from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

QUERY_CODE_PATTERN = r"^[0-9A-HJKMNP-TV-Z]{16}[0-9A-HJKMNP-TV-Z*~$=U]$"


class AckResult(str, Enum):
    """``result`` of central's ack (§3)."""

    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"
    INCOMPLETE = "incomplete"
    STORED = "stored"
    MISSING = "missing"
    CORRUPT = "corrupt"


class _Up(BaseModel):
    model_config = ConfigDict(extra="allow")


class _Down(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Applicant(_Up):
    name: str = Field(min_length=1, max_length=64)
    id_type: Literal["resident", "hmt_permit", "foreigner"] = "resident"
    id_no: str = Field(min_length=1, max_length=40)
    phone: str = Field(default="", max_length=32)


class Item(_Up):
    code: str = Field(min_length=1, max_length=64)
    situation: str = Field(min_length=1, max_length=32)   # 情形
    catalog: int | None = None


class BlobRef(_Up):
    id: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0)
    pages: int = Field(default=1, ge=0)
    mime: str


class Material(_Up):
    code: str = Field(min_length=1)
    source: Literal["shared", "scan", "paper"]
    blob: BlobRef | None = None


class Agent(_Up):
    agent_id: str
    name: str = ""


class Pickup(_Up):
    method: Literal["window", "mail", "village_point"] = "window"
    detail: str = ""


class Consent(_Up):
    version: str
    at: str


class CaseEnvelope(_Up):
    """``case.submit`` (§4). ``applicant`` is personal data: stored only encrypted."""

    type: Literal["case.submit"] = "case.submit"
    v: Literal[1] = 1
    msg_id: str
    seq: int = Field(ge=1)
    sent_at: str
    case_id: str = Field(min_length=8, max_length=64)
    query_code: str = Field(pattern=QUERY_CODE_PATTERN)
    device: str
    site: str
    created_at: str
    item: Item
    channel: Literal["self", "agent", "window"] = "self"
    applicant: Applicant
    agent: Agent | None = None
    materials: list[Material] = Field(default_factory=list)
    pickup: Pickup = Field(default_factory=Pickup)
    consent: Consent
    test: bool = False

    @field_validator("agent")
    @classmethod
    def _agent_for_agent_channel(cls, agent: Agent | None, info: Any) -> Agent | None:
        if info.data.get("channel") == "agent" and agent is None:
            raise ValueError("channel 'agent' needs an agent")
        return agent


class Ack(_Down):
    type: Literal["ack"]
    v: int = 1
    ref: str = Field(min_length=1, max_length=128)
    result: AckResult
    at: str | None = None
    server_time: str | None = None
    detail: dict[str, Any] = Field(default_factory=dict)


class CatalogManifest(_Down):
    type: Literal["catalog.manifest"]
    v: int = 1
    version: int = Field(ge=0)
    published_at: str | None = None
    parts: int = Field(ge=1, le=10_000)
    size: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-fA-F]{64}$")
    encoding: Literal["gzip"] = "gzip"
    key_id: str
    sig: str


class Command(_Down):
    type: Literal["cmd"]
    v: int = 1
    cmd_id: str = Field(min_length=1, max_length=128)
    name: str = Field(min_length=1, max_length=64)
    args: dict[str, Any] = Field(default_factory=dict)
    issued_at: str | None = None
    expires_at: str
    key_id: str | None = None
    sig: str | None = None   # checked by crypto.verify_signed, which names what is wrong


class Notify(_Down):
    """A status push for a case of this device; views and fields beyond these pass through."""

    type: str
    case_id: str | None = None
    query_code: str | None = None
    status: str | None = None
    case: dict[str, Any] | None = None


class StateMessage(_Up):
    """Birth (online) or will (offline) on ``up/{device}/state``."""

    type: Literal["state"] = "state"
    v: Literal[1] = 1
    online: bool
    epoch: int
    sw: str | None = None
    catalog: int | None = None
    booted_at: str | None = None
    outbox: int | None = None
