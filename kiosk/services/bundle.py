"""All flow services built over one Context, as the web layer receives them."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
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
        self.ctx.sessions.activity("scan")
        if scan.kind == "receipt_code" and scan.code:
            self.ctx.emit({"type": "scan", "kind": "receipt_code", "code": scan.code})
        else:
            try:
                self.query.parse(scan.text)
                message = "这不是受理通知书上的二维码。"
            except Exception as exc:  # ServiceError carries the villager message
                message = getattr(exc, "message", "这不是受理通知书上的二维码。")
            self.ctx.emit({"type": "scan", "kind": "other", "message": message})


def build_services(ctx: Context, ledger_path: Path | None = None) -> Services:
    query = QueryService(ctx)
    agent = AgentService(ctx, CaseLedger(ledger_path))
    submit = SubmitService(ctx, on_committed=agent.record)
    return Services(ctx=ctx, consult=ConsultService(ctx), query=query, submit=submit, agent=agent,
                    queue=QueueService(ctx), pickup=PickupService(ctx, query), feedback=FeedbackService(ctx),
                    maintenance=MaintenanceService(ctx))
