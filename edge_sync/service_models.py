"""Pydantic models of the contract addendum "Services" (docs/contract-addendum.md): the new up messages
(好差评 evaluation, bundle link, correction), the new requests and their replies. Each up message has a
body model the application builds (without ``msg_id``/``seq``/``sent_at``, which the outbox adds) and the
wire model central receives; replies are validated on arrival (unknown fields ignored)."""
from __future__ import annotations

from enum import IntEnum
from typing import Annotated, Any, Literal, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from edge_sync.models import BlobRef
from edge_sync.querycode import is_query_code

PHONE_PATTERN = r"^1[3-9][0-9]{9}$"


def _canonical(code: str) -> str:
    if not is_query_code(code):
        raise ValueError("not a canonical query code with a valid check symbol")
    return code


QueryCode = Annotated[str, AfterValidator(_canonical)]
ADDENDUM_VERSION = "services-1"


class _Body(BaseModel):
    model_config = ConfigDict(extra="allow")

    def fields(self) -> dict[str, Any]:
        """The JSON object as it goes to the outbox or the request (None-valued optional parts left out)."""
        return self.model_dump(mode="json", exclude_none=True)


class _Reply(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _Sent(BaseModel):
    """What the outbox adds to every JSON up message (contract §3)."""

    msg_id: str = Field(min_length=1, max_length=128)
    seq: int = Field(ge=0)
    sent_at: str


SERVICE_KINDS = ("case", "ticket", "visit")


class Level(IntEnum):
    """The five levels of the national 政务服务"好差评"."""

    VERY_SATISFIED = 5     # 非常满意
    SATISFIED = 4          # 满意
    BASICALLY = 3          # 基本满意
    DISSATISFIED = 2       # 不满意
    VERY_DISSATISFIED = 1  # 非常不满意

    @property
    def label(self) -> str:
        return LEVEL_NAMES[self]

    @property
    def needs_reason(self) -> bool:
        return self <= Level.DISSATISFIED


LEVEL_NAMES = {Level.VERY_SATISFIED: "非常满意", Level.SATISFIED: "满意", Level.BASICALLY: "基本满意",
               Level.DISSATISFIED: "不满意", Level.VERY_DISSATISFIED: "非常不满意"}
# 差评 reasons, by stable code (the words are the terminal's; central keeps the codes).
BAD_REASONS = {
    "not_told_once": "没有一次性告知所需材料",
    "asked_again": "要求重复提交材料",
    "wait_long": "等候时间太长",
    "over_time": "超过承诺时限没有办结",
    "attitude": "工作人员态度不好",
    "guide_unclear": "办事指南看不懂、不准确",
    "device_fault": "自助设备不好用",
    "other": "其他",
}


class ServiceRef(_Body):
    """A case (ref = query code), a queue ticket (ref = ``<site>:<date>:<category>:<number>``) or a query
    visit (ref = ``<device>:<uuid>``)."""

    kind: Literal["case", "ticket", "visit"]
    ref: str = Field(min_length=1, max_length=96)


class Callback(_Body):
    """回访: whether the person agrees to be called back, and on which number."""

    consent: bool = False
    phone: str | None = Field(default=None, pattern=PHONE_PATTERN)

    @model_validator(mode="after")
    def _phone_with_consent(self) -> Self:
        if self.consent and not self.phone:
            raise ValueError("a call-back needs a phone number")
        if not self.consent and self.phone:
            raise ValueError("no phone number without consent to a call-back")
        return self


class EvaluationBody(_Body):
    """``service.evaluation`` (event): one 好差评 evaluation of one service."""

    type: Literal["service.evaluation"] = "service.evaluation"
    v: Literal[1] = 1
    service: ServiceRef
    level: Level
    level_name: str
    reasons: list[str] = Field(default_factory=list, max_length=8)
    comment: str = Field(default="", max_length=200)
    callback: Callback = Field(default_factory=Callback)
    channel: Literal["self", "agent"] = "self"
    agent_id: str | None = None
    site: str = Field(min_length=1, max_length=64)
    evaluated_at: str

    @model_validator(mode="after")
    def _levels_and_reasons(self) -> Self:
        if self.level_name != self.level.label:
            raise ValueError("level_name does not name the level")
        if any(r not in BAD_REASONS for r in self.reasons):
            raise ValueError("unknown reason code")
        if self.level.needs_reason and not self.reasons:
            raise ValueError("the two lowest levels need at least one reason")
        if not self.level.needs_reason and self.reasons:
            raise ValueError("reasons are given only with the two lowest levels")
        return self


class Evaluation(_Sent, EvaluationBody):
    pass


class BundleName(_Body):
    code: str = Field(min_length=1, max_length=20)
    name: str = Field(min_length=1, max_length=60)


class BundledCase(_Body):
    case_id: str = Field(min_length=8, max_length=64)
    query_code: QueryCode
    item: str = Field(min_length=1, max_length=64)


class BundleBody(_Body):
    """``case.bundle`` (event): the cases one 一件事一次办 submission gave, one per item."""

    type: Literal["case.bundle"] = "case.bundle"
    v: Literal[1] = 1
    bundle_id: str = Field(min_length=8, max_length=64)
    bundle: BundleName
    cases: list[BundledCase] = Field(min_length=2, max_length=20)


class BundleLink(_Sent, BundleBody):
    pass


class Proof(_Body):
    """Who acts on a case: the applicant with the card in the reader, or a village agent with central's
    day token (the signed object of ``agent.session``)."""

    applicant: dict[str, str] | None = None
    agent_id: str | None = None
    token: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _one_proof(self) -> Self:
        if (self.applicant is None) == (self.token is None):
            raise ValueError("either the applicant's card or an agent token")
        if self.applicant is not None and not {"id_type", "id_no"} <= set(self.applicant):
            raise ValueError("applicant needs id_type and id_no")
        if self.token is not None and not self.agent_id:
            raise ValueError("an agent token needs the agent_id")
        return self


class CorrectionMaterial(_Body):
    code: str = Field(min_length=1, max_length=20)
    source: Literal["scan"] = "scan"
    blob: BlobRef


class CorrectionBody(_Body):
    """``case.correction`` (on the case topic, durable like a case): the materials a 补正 asked for.
    ``correction_id`` plays the part of a case_id for deduplication and for the ack."""

    type: Literal["case.correction"] = "case.correction"
    v: Literal[1] = 1
    correction_id: str = Field(min_length=8, max_length=64)
    query_code: QueryCode
    device: str
    site: str
    created_at: str
    by: Proof
    materials: list[CorrectionMaterial] = Field(min_length=1, max_length=30)
    note: str = Field(default="", max_length=200)


class Correction(_Sent, CorrectionBody):
    pass


class ComplaintRequest(_Body):
    """``complaint.file`` (request): a 催办 (urge) or 投诉 (complaint) about a case."""

    type: Literal["complaint.file"] = "complaint.file"
    v: Literal[1] = 1
    kind: Literal["urge", "complaint"]
    query_code: QueryCode
    by: Proof
    category: str = Field(min_length=1, max_length=32)
    text: str = Field(default="", max_length=300)
    callback: Callback = Field(default_factory=Callback)


class ComplaintReceipt(_Reply):
    """``complaint.receipt`` (reply). ``error``: not_found, mismatch, bad_token, invalid."""

    type: Literal["complaint.receipt"]
    ok: bool
    receipt_no: str | None = Field(default=None, max_length=40)
    kind: Literal["urge", "complaint"] | None = None
    received_at: str | None = None
    reply_within_days: int | None = Field(default=None, ge=0, le=60)
    hotline: str | None = Field(default=None, max_length=20)
    error: str | None = None

    @model_validator(mode="after")
    def _receipt_when_ok(self) -> Self:
        if self.ok and not (self.receipt_no and self.kind and self.received_at):
            raise ValueError("an accepted complaint needs receipt_no, kind and received_at")
        return self


class WithdrawRequest(_Body):
    """``case.withdraw`` (request): 撤回 a case central has not accepted yet."""

    type: Literal["case.withdraw"] = "case.withdraw"
    v: Literal[1] = 1
    query_code: QueryCode
    by: Proof
    reason: str = Field(default="", max_length=100)


class WithdrawResult(_Reply):
    """``case.withdrawn`` (reply): result withdrawn / not_allowed (already accepted) / not_found / mismatch."""

    type: Literal["case.withdrawn"]
    ok: bool
    result: Literal["withdrawn", "not_allowed", "not_found", "mismatch", "bad_token", "invalid"]
    status: str | None = None


class AgentProfileRequest(_Body):
    """``agent.profile`` (request): what central registered for a logged-in agent."""

    type: Literal["agent.profile"] = "agent.profile"
    v: Literal[1] = 1
    agent_id: str = Field(min_length=1, max_length=32)
    token: dict[str, Any]


class AgentProfile(_Reply):
    """``agent.profile`` (reply): green channel (绿色通道, 一号多件) registration with its case limit, and the
    village points the agent serves."""

    type: Literal["agent.profile"]
    ok: bool
    agent_id: str | None = None
    green_channel: bool = False
    green_max_cases: int = Field(default=0, ge=0, le=99)
    villages: list[str] = Field(default_factory=list)
    village_points: list[str] = Field(default_factory=list)
    error: str | None = None


class VillageCasesRequest(_Body):
    """``village.cases`` (request): 本村办件, every case of the agent's village points (all agents, all
    terminals), newest first."""

    type: Literal["village.cases"] = "village.cases"
    v: Literal[1] = 1
    agent_id: str = Field(min_length=1, max_length=32)
    token: dict[str, Any]
    village_point: str | None = Field(default=None, max_length=40)


class VillageCases(_Reply):
    type: Literal["village.cases"]
    ok: bool
    village_points: list[str] = Field(default_factory=list)
    cases: list[dict[str, Any]] = Field(default_factory=list, max_length=500)
    error: str | None = None


REQUESTS: dict[str, type[_Body]] = {"complaint.file": ComplaintRequest, "case.withdraw": WithdrawRequest,
                                    "agent.profile": AgentProfileRequest, "village.cases": VillageCasesRequest}
REPLIES: dict[str, type[_Reply]] = {"complaint.file": ComplaintReceipt, "case.withdraw": WithdrawResult,
                                    "agent.profile": AgentProfile, "village.cases": VillageCases}
EVENTS: dict[str, type[_Sent]] = {"service.evaluation": Evaluation, "case.bundle": BundleLink}
CASE_MESSAGES: dict[str, type[_Sent]] = {"case.correction": Correction}
REQUEST_TYPES = tuple(REQUESTS)
