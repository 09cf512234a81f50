"""In-process doubles of the application's OWN port interfaces (kiosk.ports), for unit tests only;
the real drivers and edge_sync are exercised by the integration and browser tests. There is no receipts
double: the services' tests print through the real `kiosk.receipts` layouts (`ReceiptsAdapter`)."""
from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from edge_sync.clock import ClockState
from edge_sync.health import StoreState, SyncHealth
from kiosk.ports import (
    Attachment,
    CapturedPage,
    CaptureRejected,
    CaseAck,
    CaseList,
    CaseLookup,
    Offline,
    PrinterState,
    PrintFailed,
    Reply,
    StorageFull,
    Submitted,
)

CN = timezone(timedelta(hours=8))


@dataclass(frozen=True)
class Person:
    """Shape of drivers.idcard.Identity as the services use it."""

    name: str
    id_number: str
    address: str = "四川省示例市示例区示例路1号"
    id_type: str = "resident"


ALICE = Person("张三丰", "51190219800101123X")
BOB = Person("李四", "511902199001011234")


class FakeClock:
    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class FakeSync:
    """Records what the services commit; answers requests from ``replies`` (type → fields) or Offline."""

    online: bool = True
    clock_good: bool = True
    ack: CaseAck | None = field(default_factory=lambda: CaseAck("accepted", {"case_no": "SL2026-000123",
                                                                           "promised_by": "2026-12-09"}))
    replies: dict[str, dict[str, Any]] = field(default_factory=dict)
    views: dict[str, dict[str, Any]] = field(default_factory=dict)
    cached: dict[str, tuple[dict[str, Any], float]] = field(default_factory=dict)
    cases: list[tuple[dict[str, Any], dict[str, bytes]]] = field(default_factory=list)
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    full: bool = False
    listed: list[dict[str, Any]] = field(default_factory=list)
    listed_cache: tuple[list[dict[str, Any]], float] | None = None  # what edge_sync's cache answers offline
    alarms: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    corrections: list[tuple[dict[str, Any], list[Attachment]]] = field(default_factory=list)

    def submit_case(self, envelope_fields: dict[str, Any], blobs: dict[str, bytes]) -> Submitted:
        if self.full:
            raise StorageFull("disk nearly full")
        self.cases.append((dict(envelope_fields), dict(blobs)))
        return Submitted(envelope_fields["case_id"], envelope_fields["query_code"], f"m-{len(self.cases)}")

    def submit_cases(self, cases: list[tuple[dict[str, Any], list[Attachment]]],
                     events: list[tuple[str, dict[str, Any]]]) -> list[Submitted]:
        if self.full:
            raise StorageFull("disk nearly full")
        done = [self.submit_case(fields, {a.blob_id: a.data for a in atts}) for fields, atts in cases]
        self.events.extend((t, dict(f)) for t, f in events)
        return done

    def submit_correction(self, fields: dict[str, Any], attachments: list[Attachment]) -> Submitted:
        if self.full:
            raise StorageFull("disk nearly full")
        self.corrections.append((dict(fields), list(attachments)))
        return Submitted(fields["correction_id"], fields["query_code"], f"c-{len(self.corrections)}")

    def wait_case_ack(self, case_id: str, timeout: float) -> CaseAck | None:
        return self.ack if self.online else None

    def case_outcome(self, case_id: str) -> CaseAck | None:
        return self.wait_case_ack(case_id, 0)

    def request(self, type: str, fields: dict[str, Any], timeout: float) -> Reply | Offline:
        self.requests.append((type, dict(fields)))
        if not self.online or type not in self.replies:
            return Offline()
        return Reply(type, dict(self.replies[type]))

    def query_case(self, query_code: str, timeout: float) -> CaseLookup | Offline:
        if self.online:
            view = self.views.get(query_code)
            return CaseLookup(view is not None, view, False, 0.0)
        if query_code in self.cached:
            view, age = self.cached[query_code]
            return CaseLookup(True, view, True, age)
        return Offline()

    def list_cases(self, applicant: dict[str, Any], timeout: float) -> CaseList | Offline:
        self.requests.append(("case.list", {"applicant": dict(applicant)}))
        if self.online:
            return CaseList(list(self.listed))
        if self.listed_cache is not None:
            return CaseList(list(self.listed_cache[0]), True, self.listed_cache[1])
        return Offline()

    def send_event(self, type: str, fields: dict[str, Any]) -> None:
        self.events.append((type, dict(fields)))

    def status(self) -> dict[str, Any]:
        return {"connected": self.online, "outbox": {"case": len(self.cases)}}

    def clock_ok(self) -> bool:
        return self.clock_good

    def connected(self) -> bool:
        return self.online

    def health(self) -> SyncHealth:
        return SyncHealth(connected=self.online, outbox_depth=len(self.cases), outbox_oldest_s=None,
                          disk_free_mb=1000, clock=ClockState.OK if self.clock_good else ClockState.WRONG,
                          clock_offset_s=None, clock_step_s=None,
                          store=StoreState.FULL if self.full else StoreState.OK, store_mb=0.1,
                          reserve_held=True, reserve_released=0)

    def alive(self) -> bool:
        return True

    def alarm(self, reason: str, fields: dict[str, Any]) -> None:
        self.alarms.append((reason, dict(fields)))


class FakePrinter:
    def __init__(self) -> None:
        self.state = PrinterState(online=True)
        self.printed: list[Any] = []
        self.fail_next: str | None = None

    def status(self) -> PrinterState:
        return self.state

    def print(self, document: Any, timeout: float) -> None:
        if self.fail_next:
            code, self.fail_next = self.fail_next, None
            raise PrintFailed(code)
        if not self.state.can_print:
            raise PrintFailed("paper_out" if self.state.paper == "out" else "offline")
        self.printed.append(document)


class FakeCamera:
    def __init__(self) -> None:
        self.reject_next: str | None = None
        self.captures = 0

    def capture_page(self) -> CapturedPage:
        if self.reject_next:
            reason, self.reject_next = self.reject_next, None
            raise CaptureRejected(reason)
        self.captures += 1
        return CapturedPage(b"\xff\xd8page%d\xff\xd9" % self.captures, 1240, 1754)

    def to_pdf(self, pages: list[CapturedPage]) -> bytes:
        return b"%PDF-1.4\n" + b"".join(p.jpeg for p in pages)


class FakeReader:
    """Holds the callback so a test can play card events."""

    def __init__(self) -> None:
        self.on_event: Callable[[Any], None] | None = None
        self.stopped = threading.Event()
        self.attended: list[bool] = []  # every attend() call, in order

    def start(self, on_event: Callable[[Any], None]) -> None:
        self.on_event = on_event
        self.stopped.clear()

    def attend(self, attended: bool) -> None:
        self.attended.append(attended)

    def stop(self) -> None:
        self.stopped.set()

    def alive(self) -> bool:
        return self.on_event is not None and not self.stopped.is_set()


def fixed_wall_clock(day: datetime = datetime(2026, 11, 24, 10, 0, tzinfo=CN)) -> Callable[[], datetime]:
    return lambda: day


class FakeIo:
    """An IO board: remembers the lights and buzzes asked of it; events come through ``on_event``."""

    def __init__(self) -> None:
        self.lights: list[tuple[str, str]] = []
        self.buzzes: list[str] = []

    def start(self, on_event) -> None:
        self.on_event = on_event

    def stop(self) -> None:
        pass

    def set_light(self, color: str, pattern: str) -> None:
        self.lights.append((color, pattern))

    def buzz(self, pattern: str) -> None:
        self.buzzes.append(pattern)

    def heartbeat(self) -> None:
        pass

    def alive(self) -> bool:
        return True

    def connected(self) -> bool:
        return True

    def firmware(self) -> str | None:
        return "fake-1"
