"""Receipt layouts (受理通知书 / 预审回执, 一次性告知单, queue ticket, 催办/投诉 receipt, test page) as
printer-independent documents, each from the typed value its service built."""
from kiosk.receipts.data import ChecklistData, ComplaintData, FeeData, MaterialData, SituationData, TicketData
from kiosk.receipts.layouts import (
    OFFLINE_MARK,
    PENDING,
    PICKUP_WITH_NOTICE,
    TEST_ASCII,
    TEST_LINE,
    TEST_QR,
    acceptance_notice,
    checklist_slip,
    complaint_slip,
    qr,
    queue_ticket,
    test_page,
)

__all__ = [
    "OFFLINE_MARK",
    "PENDING",
    "PICKUP_WITH_NOTICE",
    "TEST_ASCII",
    "TEST_LINE",
    "TEST_QR",
    "ChecklistData",
    "ComplaintData",
    "FeeData",
    "MaterialData",
    "SituationData",
    "TicketData",
    "acceptance_notice",
    "checklist_slip",
    "complaint_slip",
    "qr",
    "queue_ticket",
    "test_page",
]
