"""Values and errors the engine hands to the application."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class SyncError(Exception):
    """Root of edge_sync's errors."""


class StorageFull(SyncError):
    """The store reached its budget or the disk is nearly full: the case was NOT stored.

    ``message`` is for the villager (plain Chinese); ``str(exc)`` is for the technician."""

    message = "本机存储空间已满，暂时无法提交申请，请联系工作人员。"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class StoreUnavailable(SyncError):
    """The sync store cannot be used (damaged database, lost device key): the case was NOT stored.
    ``message`` is for the villager; ``str(exc)`` names the problem and the repair command."""

    message = "本机数据存储出现故障，暂停提交申请，请到人工窗口办理。咨询和查询可以继续使用。"


class InvalidCase(SyncError, ValueError):
    """The case fields do not form a valid envelope of the contract (nothing was stored)."""


class CaseExists(InvalidCase):
    """A case with this case_id is already stored on this device (committed earlier: nothing new stored)."""


@dataclass(frozen=True)
class Attachment:
    """A scanned material (JPEG/PDF) to upload before its case; ``material_code`` links it to a
    ``materials`` entry with ``source: scan`` (added if the envelope lacks it)."""

    material_code: str
    data: bytes
    mime: str = "application/pdf"
    pages: int = 1
    blob_id: str | None = None


@dataclass(frozen=True)
class Submitted:
    """The case is durable on this device (it will reach central whatever happens next)."""

    case_id: str
    query_code: str
    msg_id: str
    seq: int = 0


@dataclass(frozen=True)
class Reply:
    """Central's answer to a request, or (``cached``) the last known view and its age in seconds."""

    type: str
    fields: dict[str, Any] = field(default_factory=dict)
    cached: bool = False
    age_s: float | None = None

    def __getitem__(self, key: str) -> Any:
        return self.fields[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.fields.get(key, default)


@dataclass(frozen=True)
class Offline:
    """No answer from central within the caller's timeout and nothing cached to show."""

    reason: str = "offline"

    def __bool__(self) -> bool:   # lets callers write ``if not answer:``
        return False
