"""The small interfaces the services need from the devices and from edge_sync. The composition root
(`kiosk.app`) adapts the real drivers and the sync engine to them; unit tests use in-process doubles."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:  # the typed slip values: the notice belongs to the services, the others to the receipts
    from kiosk.receipts.data import ChecklistData, ComplaintData, TicketData
    from kiosk.services.notice import Notice

from edge_sync.health import SyncHealth
from edge_sync.querycode import RejectCause, ScanKind


# --- ID-card reader -------------------------------------------------------------------------------
class CardIdentity(Protocol):
    """What the services read from an ID card (`drivers.idcard.Identity` has these fields)."""

    name: str
    id_number: str
    address: str

    @property
    def id_type(self) -> str: ...


class CardEventKind(StrEnum):
    PRESENT = "card_present"
    REMOVED = "card_removed"
    READER_LOST = "reader_lost"
    READER_BACK = "reader_back"


@dataclass(frozen=True)
class CardEvent:
    kind: str
    identity: Any = None


class IdReaderPort(Protocol):
    def start(self, on_event: Callable[[CardEvent], None]) -> None: ...
    def stop(self) -> None: ...
    def attend(self, attended: bool) -> None:
        """Someone is at the terminal (a session is open): look for a card often; False: nobody is, so
        look seldom (each look wakes the resting terminal). Kept across a restart of the watcher."""
    def alive(self) -> bool:
        """False once the watcher's thread is gone (the application's supervisor then restarts it)."""


# --- QR scanner ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ScanEvent:
    """One scanned payload, classified: ``code`` is the canonical query code when ``kind`` is receipt_code,
    ``cause`` says why anything else is not one. The repr shows neither the text nor the code (a code is a
    capability: whoever holds it sees the case)."""

    text: str = field(repr=False)
    kind: ScanKind
    code: str | None = field(default=None, repr=False)
    cause: RejectCause | None = None


class ScannerPort(Protocol):
    def start(self, on_scan: Callable[[ScanEvent], None], on_state: Callable[[bool], None]) -> None: ...
    def stop(self) -> None: ...
    def alive(self) -> bool: ...


# --- printer ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PrinterState:
    online: bool
    paper: str = "ok"      # ok | near_end | out
    cover: str = "closed"  # closed | open
    error: str | None = None

    @property
    def can_print(self) -> bool:
        return self.online and self.paper != "out" and self.cover == "closed" and not self.error


class PrintFailed(Exception):
    """A job was not confirmed by the printer; ``code`` is the driver's stable error code
    (paper_out, cover_open, offline, timeout, no_printer)."""

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(message or code)
        self.code = code


class PrinterPort(Protocol):
    def status(self) -> PrinterState: ...
    def print(self, document: Any, timeout: float) -> None:
        """Return only when the printer confirmed the job. Raises PrintFailed."""


class ReceiptsPort(Protocol):
    """Receipt layouts (`kiosk.receipts`) as document values for PrinterPort.print."""

    def acceptance_notice(self, notice: Notice) -> Any: ...
    def checklist_slip(self, slip: ChecklistData) -> Any: ...
    def queue_ticket(self, ticket: TicketData) -> Any: ...
    def complaint_slip(self, data: ComplaintData) -> Any: ...
    def test_page(self) -> Any: ...


# --- document camera -------------------------------------------------------------------------------
@dataclass(frozen=True)
class CapturedPage:
    """A processed page: the compressed JPEG kept for the PDF, and its size in pixels."""

    jpeg: bytes
    width: int
    height: int


class CaptureRejected(Exception):
    """The capture is unusable; ``reason`` is the driver's code (blank, blurred, not_found, …) and
    ``user_message`` what a villager reads (empty: the service words it)."""

    def __init__(self, reason: str, user_message: str = "") -> None:
        super().__init__(user_message or reason)
        self.reason = reason
        self.user_message = user_message


class CameraPort(Protocol):
    def capture_page(self) -> CapturedPage:
        """Raises CaptureRejected."""

    def to_pdf(self, pages: list[CapturedPage]) -> bytes: ...


# --- IO board --------------------------------------------------------------------------------------
class IoBoardPort(Protocol):
    def start(self, on_event: Callable[[str, str], None]) -> None:
        """``on_event(kind, value)``: ("tamper", "open"|"closed"), ("presence", "on"|"off"), ("help", "pressed"),
        ("board", "lost"|"back"); after every (re)connection the board's tamper state as ("tamper", …)."""

    def stop(self) -> None: ...
    def set_light(self, color: str, pattern: str) -> None: ...
    def buzz(self, pattern: str) -> None: ...
    def heartbeat(self) -> None: ...
    def alive(self) -> bool: ...
    def connected(self) -> bool: ...
    def firmware(self) -> str | None: ...


# --- edge_sync -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Submitted:
    case_id: str
    query_code: str
    msg_id: str


@dataclass(frozen=True)
class CaseAck:
    """Central's ack of a case: result accepted|duplicate|rejected and its detail
    (``case_no``, ``promised_by``, ``status``; ``reason`` when rejected)."""

    result: str
    detail: dict[str, Any] = field(default_factory=dict)
    server_time: str | None = None


@dataclass(frozen=True)
class Reply:
    type: str
    fields: dict[str, Any]


@dataclass(frozen=True)
class Offline:
    """No answer from central within the timeout."""

    reason: str = "offline"


@dataclass(frozen=True)
class CaseLookup:
    """A case view from central (``age_s`` 0) or from the local cache (``cached`` with its age)."""

    found: bool
    view: dict[str, Any] | None = None
    cached: bool = False
    age_s: float | None = None


@dataclass(frozen=True)
class CaseList:
    """A card holder's cases from central, or (``cached``) the list this terminal last saw, with its age."""

    cases: list[dict[str, Any]]
    cached: bool = False
    age_s: float | None = None


class StorageFull(Exception):
    """The terminal's store is full: new submissions are refused (consultation goes on)."""


class StoreUnavailable(StorageFull):
    """The terminal's store is damaged or its key lost: new submissions are refused (consultation goes on)."""


class AlreadyCommitted(Exception):
    """A case with this case_id is already stored on this terminal: nothing new was stored."""


@dataclass(frozen=True)
class Attachment:
    """A scanned material to upload before its message (one PDF per material)."""

    material_code: str
    data: bytes
    pages: int
    blob_id: str
    mime: str = "application/pdf"


class SyncPort(Protocol):
    """What the services use of `edge_sync.SyncEngine` (same names, results as the types above)."""

    def submit_case(self, envelope_fields: dict[str, Any], blobs: dict[str, bytes]) -> Submitted:
        """Durable before return. Raises StorageFull, AlreadyCommitted."""

    def submit_cases(self, cases: list[tuple[dict[str, Any], list[Attachment]]],
                     events: list[tuple[str, dict[str, Any]]]) -> list[Submitted]:
        """All cases and events durable in one transaction, or none. Raises StorageFull, AlreadyCommitted."""

    def submit_correction(self, fields: dict[str, Any], attachments: list[Attachment]) -> Submitted:
        """A 补正 (case.correction), durable like a case; its outcome by ``case_outcome(correction_id)``.
        Raises StorageFull, AlreadyCommitted."""

    def wait_case_ack(self, case_id: str, timeout: float) -> CaseAck | None: ...
    def case_outcome(self, case_id: str) -> CaseAck | None: ...
    def request(self, type: str, fields: dict[str, Any], timeout: float) -> Reply | Offline: ...
    def query_case(self, query_code: str, timeout: float) -> CaseLookup | Offline: ...
    def list_cases(self, applicant: dict[str, Any], timeout: float) -> CaseList | Offline: ...
    def send_event(self, type: str, fields: dict[str, Any]) -> None: ...
    def status(self) -> dict[str, Any]: ...
    def clock_ok(self) -> bool: ...
    def connected(self) -> bool: ...
    def health(self) -> SyncHealth:
        """The sync engine's part of ``device.health`` (edge_sync's typed value)."""

    def alive(self) -> bool:
        """Every sync worker runs or is being restarted: what the watchdog is fed on."""

    def alarm(self, reason: str, fields: dict[str, Any]) -> None:
        """A staff alarm to central (``help.requested`` from the terminal), stored before any budget."""


class SyncControl(Protocol):
    """What central's commands change in the sync engine itself, beyond the services' SyncPort
    (`edge_sync.SyncEngine` has both methods)."""

    def set_accepted_keys(self, command_keys: Mapping[str, str], catalog_keys: Mapping[str, str]) -> None:
        """Replaces the accepted signing keys at once. Raises ValueError (SyncConfigError) on a malformed
        key, and then keeps the keys it had."""

    def purge_cache(self) -> int:
        """Deletes the cached case views; returns how many there were."""


@runtime_checkable
class Closable(Protocol):
    def close(self) -> None: ...
