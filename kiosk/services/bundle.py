"""All flow services built over one Context, as the web layer receives them."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge_sync.querycode import ScanKind
from kiosk.ports import ScanEvent
from kiosk.services import Context
from kiosk.services.agent import AgentService, CaseLedger
from kiosk.services.casework import CaseworkService
from kiosk.services.commit import Committer
from kiosk.services.consult import ConsultService
from kiosk.services.correction import CorrectionService
from kiosk.services.evaluation import EvaluationService
from kiosk.services.feedback import FeedbackService
from kiosk.services.maintenance import MaintenanceService
from kiosk.services.pickup import PickupService
from kiosk.services.query import QueryService
from kiosk.services.queue import QueueService
from kiosk.services.records import ServiceRecords
from kiosk.services.scan_reasons import reason_for
from kiosk.services.submit import SubmitService


@dataclass
class Services:
    ctx: Context
    consult: ConsultService
    query: QueryService
    submit: SubmitService
    committer: Committer
    agent: AgentService
    queue: QueueService
    pickup: PickupService
    feedback: FeedbackService
    evaluation: EvaluationService
    casework: CaseworkService
    correction: CorrectionService
    maintenance: MaintenanceService
    records: ServiceRecords

    def on_scan(self, scan: ScanEvent) -> None:
        """A scanner payload: only a receipt code goes anywhere; anything else gets a message."""
        if self.ctx.devices.locked:
            return  # a locked terminal starts no session
        self.ctx.sessions.activity("scan")
        if scan.kind == ScanKind.RECEIPT_CODE and scan.code:
            self.ctx.emit({"type": "scan", "kind": "receipt_code", "code": scan.code})
        else:
            # The text itself never leaves the terminal, not even to the page: only why it was refused.
            self.ctx.emit({"type": "scan", "kind": "other", "message": reason_for(scan.cause)})

    def on_card(self, identity: Any | None) -> None:
        """A card read (``identity``) or removed (None): the agent-mode consent is bound to fresh reads."""
        if identity is None:
            self.submit.card_removed()
        else:
            self.submit.card_read(identity)


def build_services(ctx: Context, ledger_path: Path | None = None, records: ServiceRecords | None = None) -> Services:
    """``records``: the reprint, evaluation and agent-token records (in memory when None)."""
    records = records or ServiceRecords()
    query = QueryService(ctx)
    agent = AgentService(ctx, CaseLedger(ledger_path), records)
    submit = SubmitService(ctx)
    committer = Committer(ctx, submit, records, on_committed=agent.record)
    casework = CaseworkService(ctx, query, agent, committer)
    query.local_notices = committer.notices_for
    return Services(ctx=ctx, consult=ConsultService(ctx), query=query, submit=submit, committer=committer,
                    agent=agent, queue=QueueService(ctx, agent), pickup=PickupService(ctx, query),
                    feedback=FeedbackService(ctx), evaluation=EvaluationService(ctx, records), casework=casework,
                    correction=CorrectionService(ctx, casework), maintenance=MaintenanceService(ctx),
                    records=records)
