"""Why a captured page is refused: one exception per quality gate, each with a stable technician code and
a sentence a villager can act on (doc-camera.md §4, quality gates)."""
from __future__ import annotations

import enum

from drivers.camera.base import CameraError


class RejectCode(str, enum.Enum):
    """Stable codes for logs and the technician CLI."""

    BLANK = "blank_page"
    BLURRED = "blurred_page"
    NOT_FOUND = "page_not_found"
    OFF_EDGE = "page_off_edge"
    TOO_SMALL = "page_too_small"
    TOO_DARK = "too_dark"
    GLARE = "glare"


_USER_MESSAGES = {
    RejectCode.BLANK: "这一页好像是空白的，请放好材料再拍一次",
    RejectCode.BLURRED: "照片有点模糊，请把材料放平、手别晃，再拍一次",
    RejectCode.NOT_FOUND: "没有找到材料，请把材料放在高拍仪底板中间再拍一次",
    RejectCode.OFF_EDGE: "材料有一部分在拍摄范围外面，请把材料挪到底板中间再拍一次",
    RejectCode.TOO_SMALL: "材料离得太远或太小，请把材料放在底板中间再拍一次",
    RejectCode.TOO_DARK: "照片太暗了，请打开高拍仪的灯再拍一次",
    RejectCode.GLARE: "材料反光看不清，请把材料放平或挪开一点再拍一次",
}


class PageRejected(CameraError):
    """A frame was captured but is not good enough to submit; the user should retake it."""

    code = "page_rejected"

    def __init__(self, reject: RejectCode, detail: str) -> None:
        """``detail`` is the English technician message (measured value against its threshold)."""
        super().__init__(detail, code=reject.value, user_message=_USER_MESSAGES[reject])
        self.reject = reject


class BlankPage(PageRejected):
    """Too little ink on the page: nothing or almost nothing is written on it."""

    def __init__(self, detail: str) -> None:
        super().__init__(RejectCode.BLANK, detail)


class BlurredPage(PageRejected):
    """The page is out of focus or moved during the shot."""

    def __init__(self, detail: str) -> None:
        super().__init__(RejectCode.BLURRED, detail)


class PageNotFound(PageRejected):
    """No page against the dark pad, or the page is not fully in view (reposition and retake)."""

    def __init__(self, detail: str, reject: RejectCode = RejectCode.NOT_FOUND) -> None:
        super().__init__(reject, detail)


class BadExposure(PageRejected):
    """The frame is too dark, or the LED's reflection washed out part of the page."""

    def __init__(self, detail: str, reject: RejectCode) -> None:
        super().__init__(reject, detail)
