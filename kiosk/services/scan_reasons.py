"""What a villager reads when a scanned or typed text is not a receipt's query code: plain Simplified
Chinese, keyed by edge_sync's RejectCause (the text itself is never echoed back)."""
from __future__ import annotations

from edge_sync.querycode import RejectCause

_REASONS = {
    RejectCause.EMPTY: "没有读到内容。请把受理通知书上的二维码对准扫描窗口，再扫一次。",
    RejectCause.BAD_CHECK: ("查询码有误，可能是二维码污损或输入有误。"
                            "请再扫一次，或核对受理通知书上的查询码后重新输入；仍不行请找工作人员。"),
    RejectCause.FOREIGN_URL: ("这个二维码不是受理通知书上的二维码，不能用来查询办件。"
                              "请扫描受理通知书上的二维码，或在屏幕上输入查询码。"),
}
_DEFAULT_REASON = "这不是受理通知书上的二维码。请扫描受理通知书上的二维码，或在屏幕上输入查询码。"


def reason_for(cause: RejectCause | None) -> str:
    """The villager-readable message for a rejected scan or typed code (a general one without a cause)."""
    return _REASONS.get(cause, _DEFAULT_REASON) if cause is not None else _DEFAULT_REASON
