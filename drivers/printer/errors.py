"""Printer faults, each with a stable ``code`` for logs and a plain Chinese ``user_message`` for the screen."""
from __future__ import annotations

from drivers.errors import DeviceError


class PrinterError(DeviceError):
    """The printer could not print."""

    code = "printer_error"
    user_message = "打印机故障，请联系工作人员。"


class PaperOut(PrinterError):
    """The printer has no paper (before or during the job)."""

    code = "paper_out"
    user_message = "打印机缺纸，请联系工作人员补充纸张。"


class CoverOpen(PrinterError):
    """The printer cover is open."""

    code = "cover_open"
    user_message = "打印机盖未关好，请联系工作人员。"


class PrinterOffline(PrinterError):
    """The printer does not answer or reports itself offline."""

    code = "printer_offline"
    user_message = "打印机未就绪，请联系工作人员。"


class PrintTimeout(PrinterError):
    """The printer did not confirm the job within the time allowed."""

    code = "print_timeout"
    user_message = "打印未完成，请联系工作人员。"


class PrinterFault(PrinterError):
    """The printer reports an error (autocutter, mechanism, head temperature)."""

    code = "printer_fault"
