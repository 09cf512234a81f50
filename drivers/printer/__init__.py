"""ESC/POS thermal printer: document model, printer profiles, pure encoder and status decoder, and a
driver that reports a job printed only when the printer confirmed it."""
from drivers.printer.document import QR, Align, Cut, Document, Element, Feed, Image, QrLevel, Rule, Text
from drivers.printer.errors import CoverOpen, PaperOut, PrinterError, PrinterFault, PrinterOffline, PrintTimeout
from drivers.printer.escpos import RenderError, render, render_pieces
from drivers.printer.printer import Printer, PrintResult, raise_for_status
from drivers.printer.profile import (
                                    EPSON_ASB,
                                    GENERIC_58,
                                    GENERIC_80,
                                    PROFILES,
                                    CutType,
                                    FontSet,
                                    PrinterProfile,
                                    profile_for_paper,
)
from drivers.printer.status import Cover, Paper, PrinterStatus

__all__ = [
                                    "EPSON_ASB",
                                    "GENERIC_58",
                                    "GENERIC_80",
                                    "PROFILES",
                                    "QR",
                                    "Align",
                                    "Cover",
                                    "CoverOpen",
                                    "Cut",
                                    "CutType",
                                    "Document",
                                    "Element",
                                    "Feed",
                                    "FontSet",
                                    "Image",
                                    "Paper",
                                    "PaperOut",
                                    "PrintResult",
                                    "PrintTimeout",
                                    "Printer",
                                    "PrinterError",
                                    "PrinterFault",
                                    "PrinterOffline",
                                    "PrinterProfile",
                                    "PrinterStatus",
                                    "QrLevel",
                                    "RenderError",
                                    "Rule",
                                    "Text",
                                    "profile_for_paper",
                                    "raise_for_status",
                                    "render",
                                    "render_pieces",
]
