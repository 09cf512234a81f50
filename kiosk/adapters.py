"""Adapters from the real drivers and the sync engine to `kiosk.ports`. Only the composition root builds
them; each imports its driver lazily so that a missing optional module disables one device, not the app."""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from edge_sync.querycode import RejectCause, ScanKind, classify
from kiosk.ports import (
    AlreadyCommitted,
    Attachment,
    CaptureRejected,
    CardEvent,
    CaseAck,
    CaseList,
    CaseLookup,
    Offline,
    PrinterState,
    PrintFailed,
    Reply,
    ScanEvent,
    StorageFull,
    StoreUnavailable,
    Submitted,
)

if TYPE_CHECKING:
    from drivers.scanner.scanner import Scan
    from edge_sync.health import SyncHealth
    from kiosk.receipts.data import ChecklistData, ComplaintData, TicketData
    from kiosk.services.notice import Notice

log = logging.getLogger(__name__)


# How often the reader is asked for a card while nobody uses the terminal: a card put on the reader at
# the home screen is read within this plus the read itself (~0.15 s), and each look costs two wake-ups.
REST_POLL_S = 1.5


class IdReaderAdapter:
    """`drivers.idcard.CardWatcher` as an IdReaderPort: polls every ``poll_interval`` while attended (a
    session is open), every ``rest_interval`` while not."""

    def __init__(self, url: str, baudrate: int = 115200, poll_interval: float = 0.5,
                 rest_interval: float = REST_POLL_S) -> None:
        self.url, self.baudrate, self.poll_interval = url, baudrate, poll_interval
        self.rest_interval = rest_interval
        self._attended = False
        self._watcher: Any = None

    def start(self, on_event: Callable[[CardEvent], None]) -> None:
        from drivers.idcard.watcher import CardWatcher

        def forward(event: Any) -> None:
            kind = getattr(event.kind, "value", event.kind)
            if kind == "read_failed":
                log.info("ID card in the field could not be read (%s)", getattr(event.error, "code", "?"))
                return
            on_event(CardEvent(kind, event.identity))
        self._watcher = CardWatcher(self.url, forward, self.poll_interval, baudrate=self.baudrate,
                                    rest_interval=self.rest_interval, attended=self._attended)
        self._watcher.start()

    def stop(self) -> None:
        if self._watcher is not None:
            self._watcher.stop()

    def attend(self, attended: bool) -> None:
        self._attended = attended
        if self._watcher is not None:
            self._watcher.attend(attended)

    def alive(self) -> bool:
        return self._watcher is not None and self._watcher.running


def scan_event(scan: Scan) -> ScanEvent:
    """The kiosk's view of one payload from the scanner driver: a receipt's query code or "other" with the
    cause, per edge_sync's reading of contract §10. Only text decoded as UTF-8 can be a code (the notice URL
    and the code are ASCII); a GB18030 or hex view of the bytes is always "other"."""
    from drivers.scanner.protocol import TextEncoding

    if scan.encoding is not TextEncoding.UTF8:
        return ScanEvent(scan.text, ScanKind.OTHER, cause=RejectCause.NOT_A_CODE)
    result = classify(scan.text)
    return ScanEvent(scan.text, result.kind, result.code, result.cause)


class ScannerAdapter:
    """`drivers.scanner.ScannerWatcher` as a ScannerPort: each payload is classified by ``scan_event``."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._watcher: Any = None

    def start(self, on_scan: Callable[[ScanEvent], None], on_state: Callable[[bool], None]) -> None:
        from drivers.scanner.scanner import ScannerWatcher

        def scanned(scan: Scan) -> None:
            on_scan(scan_event(scan))

        def state(value: Any) -> None:
            on_state(getattr(value, "value", value) == "online")
        self._watcher = ScannerWatcher(self.url, scanned, state)
        self._watcher.start()

    def stop(self) -> None:
        if self._watcher is not None:
            self._watcher.stop()

    def alive(self) -> bool:
        return self._watcher is not None and self._watcher.running


class PrinterAdapter:
    """`drivers.printer.Printer` as a PrinterPort; one lock serialises status polls and jobs on the port."""

    def __init__(self, url: str, profile_name: str = "generic", paper_mm: int = 80) -> None:
        from drivers.printer import PROFILES, Printer, profile_for_paper

        profile = PROFILES.get(profile_name) if profile_name != "generic" else profile_for_paper(paper_mm)
        if profile is None:
            raise ValueError(f"unknown printer profile {profile_name!r}; known: {', '.join(PROFILES)}")
        self._printer = Printer(url, profile)
        self._lock = threading.Lock()

    def status(self) -> PrinterState:
        from drivers.errors import DeviceError

        with self._lock:
            try:
                st = self._printer.status(timeout=2.0)
            except DeviceError as exc:
                return PrinterState(online=False, error=exc.code)
        return PrinterState(online=st.online, paper=getattr(st.paper, "value", st.paper),
                            cover=getattr(st.cover, "value", st.cover), error=st.error)

    def print(self, document: Any, timeout: float) -> None:
        from drivers.errors import DeviceError

        with self._lock:
            try:
                self._printer.print_document(document, timeout=timeout)
            except DeviceError as exc:
                raise PrintFailed(_print_code(exc.code), str(exc)) from exc

    def close(self) -> None:
        self._printer.close()


def _print_code(code: str) -> str:
    """The driver's error codes, in the words the services use."""
    return {"paper_out": "paper_out", "cover_open": "cover_open", "printer_offline": "offline",
            "print_timeout": "timeout"}.get(code, code)


class ReceiptsAdapter:
    """`kiosk.receipts` layouts, each from the typed value its service built."""

    def __init__(self) -> None:
        import kiosk.receipts as receipts

        self._r = receipts

    def acceptance_notice(self, notice: Notice) -> Any:
        return self._r.acceptance_notice(notice)

    def checklist_slip(self, slip: ChecklistData) -> Any:
        return self._r.checklist_slip(slip)

    def queue_ticket(self, ticket: TicketData) -> Any:
        return self._r.queue_ticket(ticket)

    def complaint_slip(self, data: ComplaintData) -> Any:
        return self._r.complaint_slip(data)

    def test_page(self) -> Any:
        return self._r.test_page()


class CameraAdapter:
    """`drivers.camera` capture + pipeline as a CameraPort; the processed `Page` is kept for the PDF."""

    def __init__(self, spec: str) -> None:
        from drivers.camera import open_camera

        self._camera = open_camera(spec)
        self._lock = threading.Lock()

    def capture_page(self) -> Any:
        from drivers.camera import CameraError, process_capture

        with self._lock:
            try:
                return process_capture(self._camera.capture())
            except CameraError as exc:
                raise CaptureRejected(exc.code, getattr(exc, "user_message", str(exc))) from exc

    def to_pdf(self, pages: list[Any]) -> bytes:
        from drivers.camera import pages_to_pdf

        return pages_to_pdf(pages)

    def close(self) -> None:
        self._camera.close()


class IoBoardAdapter:
    """`drivers.ioboard.IoBoard` as an IoBoardPort; heartbeats are sent by the application while healthy."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._board: Any = None

    def start(self, on_event: Callable[[str, str], None]) -> None:
        from drivers.ioboard.driver import IoBoard

        def forward(event: Any) -> None:
            if event.kind in ("tamper", "presence", "help") and event.value:
                on_event(event.kind, event.value)
            elif event.kind in ("board_lost", "board_back"):
                on_event("board", "lost" if event.kind == "board_lost" else "back")
            elif event.kind == "board_status" and event.status is not None:
                # After every (re)connection and on change: the switch as the board sees it now.
                on_event("board", "status")
                on_event("tamper", "open" if event.status.tamper_open else "closed")
        self._board = IoBoard(self.url, forward)
        self._board.start()

    def stop(self) -> None:
        if self._board is not None:
            self._board.close()

    def alive(self) -> bool:
        return self._board is not None and self._board.running

    def connected(self) -> bool:
        return self._board is not None and self._board.connected

    def firmware(self) -> str | None:
        info = self._board.info if self._board is not None else None
        return info.firmware_version if info is not None else None

    def set_light(self, color: str, pattern: str) -> None:
        if self._board is not None and self._board.connected:
            self._board.set_light(color, pattern)

    def buzz(self, pattern: str) -> None:
        if self._board is not None and self._board.connected:
            self._board.buzz(pattern)

    def heartbeat(self) -> None:
        if self._board is not None and self._board.connected:
            self._board.heartbeat()

    def update_firmware(self, files: Mapping[str, bytes], version: str) -> str:
        """The board brought to ``version`` (kiosk.update.firmware); returns the version it then runs."""
        from kiosk.update.firmware import flash_board

        return flash_board(self._board, files, version)

    def board_info(self) -> dict[str, Any]:
        """For the update health window: connected, and the firmware version from the last handshake."""
        board = self._board
        info = getattr(board, "info", None) if board is not None else None
        return {"configured": True, "connected": bool(board is not None and board.connected),
                "firmware": getattr(info, "firmware_version", None) if info is not None else None}


class SyncAdapter:
    """`edge_sync.SyncEngine` as a SyncPort (result shapes converted to kiosk.ports types)."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine

    def submit_case(self, envelope_fields: dict[str, Any], blobs: dict[str, bytes]) -> Submitted:
        from edge_sync.results import Attachment as EngineAttachment

        attachments = []
        for material in envelope_fields.get("materials", []):
            blob = material.get("blob")
            if material.get("source") == "scan" and blob and blob.get("id") in blobs:
                attachments.append(EngineAttachment(material_code=material["code"], data=blobs[blob["id"]],
                                                    mime=blob.get("mime", "application/pdf"),
                                                    pages=int(blob.get("pages", 1)), blob_id=blob["id"]))
        return self._stored(lambda: Submitted(*self._ids(self.engine.submit_case(envelope_fields, attachments))))

    def submit_cases(self, cases: list[tuple[dict[str, Any], list[Attachment]]],
                     events: list[tuple[str, dict[str, Any]]]) -> list[Submitted]:
        return self._stored(lambda: [Submitted(*self._ids(done)) for done in self.engine.submit_cases(
            [(fields, [self._attachment(a) for a in atts]) for fields, atts in cases], events)])

    def submit_correction(self, fields: dict[str, Any], attachments: list[Attachment]) -> Submitted:
        return self._stored(lambda: Submitted(*self._ids(self.engine.submit_correction(
            fields, [self._attachment(a) for a in attachments]))))

    @staticmethod
    def _ids(done: Any) -> tuple[str, str, str]:
        return done.case_id, done.query_code, done.msg_id

    @staticmethod
    def _attachment(att: Attachment) -> Any:
        from edge_sync.results import Attachment as EngineAttachment

        return EngineAttachment(material_code=att.material_code, data=att.data, mime=att.mime, pages=att.pages,
                                blob_id=att.blob_id)

    @staticmethod
    def _stored(store_it: Callable[[], Any]) -> Any:
        """Runs an engine submission, its errors as the ports' (StorageFull, AlreadyCommitted)."""
        from edge_sync.results import CaseExists
        from edge_sync.results import StorageFull as EngineFull
        from edge_sync.results import StoreUnavailable as EngineUnavailable

        try:
            return store_it()
        except EngineUnavailable as exc:
            raise StoreUnavailable(str(exc)) from exc
        except EngineFull as exc:
            raise StorageFull(str(exc)) from exc
        except CaseExists as exc:
            raise AlreadyCommitted(str(exc)) from exc

    @staticmethod
    def _ack(outcome: dict[str, Any] | None) -> CaseAck | None:
        if outcome is None:
            return None
        detail = {k: v for k, v in outcome.items() if k not in ("result", "state")}
        return CaseAck(str(outcome.get("result", "")), detail)

    def wait_case_ack(self, case_id: str, timeout: float) -> CaseAck | None:
        return self._ack(self.engine.wait_case_ack(case_id, timeout))

    def case_outcome(self, case_id: str) -> CaseAck | None:
        return self._ack(self.engine.case_outcome(case_id))

    def _wait(self, timeout: float) -> float:
        # Known to be offline: answer from the cache (or "offline") at once instead of after the timeout.
        return timeout if self.connected() else 0.0

    def request(self, type: str, fields: dict[str, Any], timeout: float) -> Reply | Offline:
        answer = self.engine.request(type, fields, self._wait(timeout))
        if not answer:
            return Offline(getattr(answer, "reason", "offline"))
        return Reply(answer.type, dict(answer.fields))

    def query_case(self, query_code: str, timeout: float) -> CaseLookup | Offline:
        answer = self.engine.query_case(query_code, self._wait(timeout))
        if not answer:
            return Offline(getattr(answer, "reason", "offline"))
        view = answer.fields.get("case")
        found = bool(answer.fields.get("found")) and isinstance(view, dict)
        return CaseLookup(found, view if found else None, bool(answer.cached), answer.age_s)

    def list_cases(self, applicant: dict[str, Any], timeout: float) -> CaseList | Offline:
        answer = self.engine.list_cases(applicant, self._wait(timeout))
        if not answer:
            return Offline(getattr(answer, "reason", "offline"))
        cases = answer.fields.get("cases")
        found = [c for c in cases if isinstance(c, dict)] if isinstance(cases, list) else []
        return CaseList(found, bool(answer.cached), answer.age_s)

    def send_event(self, type: str, fields: dict[str, Any]) -> None:
        self.engine.send_event(type, fields)

    def status(self) -> dict[str, Any]:
        return {**self.engine.status(), **self.engine.health().to_dict()}

    def health(self) -> SyncHealth:
        return self.engine.health()

    def alive(self) -> bool:
        return self.engine.alive()

    def alarm(self, reason: str, fields: dict[str, Any]) -> None:
        self.engine.alarm(reason, fields)

    def clock_ok(self) -> bool:
        return self.engine.trusted_now() is not None

    def connected(self) -> bool:
        return self.engine.session.connected.is_set()
