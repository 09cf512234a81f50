"""All flow services built over one Context, as the web layer receives them."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from drivers.scanner.receipt_code import classify
from kiosk.ports import ScanEvent
from kiosk.services import Context
from kiosk.services.agent import AgentService, CaseLedger
from kiosk.services.consult import ConsultService
from kiosk.services.feedback import FeedbackService
from kiosk.services.maintenance import MaintenanceService
from kiosk.services.pickup import PickupService
from kiosk.services.query import QueryService
from kiosk.services.queue import QueueService
from kiosk.services.submit import SubmitService


@dataclass
class Services:
    ctx: Context
    consult: ConsultService
    query: QueryService
    submit: SubmitService
    agent: AgentService
    queue: QueueService
    pickup: PickupService
    feedback: FeedbackService
    maintenance: MaintenanceService

    def on_scan(self, scan: ScanEvent) -> None:
        """A scanner payload: only a receipt code goes anywhere; anything else gets a message."""
        if self.ctx.devices.locked:
            return  # a locked terminal starts no session
        self.ctx.sessions.activity("scan")
        if scan.kind == "receipt_code" and scan.code:
            self.ctx.emit({"type": "scan", "kind": "receipt_code", "code": scan.code})
        else:
            # The text itself never leaves the terminal, not even to the page: only why it was refused.
            reason = classify(scan.text).reason or "这不是受理通知书上的二维码。"
            self.ctx.emit({"type": "scan", "kind": "other", "message": reason})


def build_services(ctx: Context, ledger_path: Path | None = None) -> Services:
    query = QueryService(ctx)
    agent = AgentService(ctx, CaseLedger(ledger_path))
    submit = SubmitService(ctx, on_committed=agent.record)
    query.local_notices = submit.notices.for_holder
    return Services(ctx=ctx, consult=ConsultService(ctx), query=query, submit=submit, agent=agent,
                    queue=QueueService(ctx), pickup=PickupService(ctx, query), feedback=FeedbackService(ctx),
                    maintenance=MaintenanceService(ctx))
