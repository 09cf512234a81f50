"""Receipt layouts (受理通知书, 一次性告知单, queue ticket, test page) as printer-independent documents."""
from kiosk.receipts.data import ChecklistData, MaterialData, NoticeData, SituationData, TicketData
from kiosk.receipts.layouts import (
                                    OFFLINE_MARK,
                                    PENDING,
                                    TEST_ASCII,
                                    TEST_LINE,
                                    TEST_QR,
                                    acceptance_notice,
                                    checklist_slip,
                                    qr,
                                    queue_ticket,
                                    test_page,
)

__all__ = [
                                    "OFFLINE_MARK",
                                    "PENDING",
                                    "TEST_ASCII",
                                    "TEST_LINE",
                                    "TEST_QR",
                                    "ChecklistData",
                                    "MaterialData",
                                    "NoticeData",
                                    "SituationData",
                                    "TicketData",
                                    "acceptance_notice",
                                    "checklist_slip",
                                    "qr",
                                    "queue_ticket",
                                    "test_page",
]
