"""What the simulated hall produced: receipts the printer simulator wrote (``job-NNNN.png`` + ``.json``)
and the cases central's database holds (read-only), for the control panel and the scripted morning."""
from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class PrintedJob:
    """One printed job: its number, image, the QR payloads the printer decoded and a title line."""

    n: int
    png: Path
    qr: list[str] = field(default_factory=list)
    text: list[str] = field(default_factory=list)

    @property
    def title(self) -> str:
        """The first non-empty text line (the receipt's heading), or ``job N``."""
        for line in self.text:
            if line.strip():
                return line.strip()[:40]
        return f"job {self.n}"

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "png": self.png.name, "qr": self.qr, "title": self.title}


def printed_jobs(receipts_dir: Path) -> list[PrintedJob]:
    """Every finished job in ``receipts_dir``, oldest first (a JSON file still being written is skipped)."""
    jobs = []
    for meta in sorted(receipts_dir.glob("job-*.json")):
        try:
            data = json.loads(meta.read_text(encoding="utf-8"))
            n = int(meta.stem.split("-")[1])
        except (OSError, ValueError, IndexError):
            continue
        jobs.append(PrintedJob(n=n, png=meta.with_suffix(".png"), qr=[str(q) for q in data.get("qr", [])],
                               text=[str(t) for t in data.get("text", [])]))
    return jobs


@dataclass(frozen=True)
class CentralCase:
    """A case as central holds it (no personal data: the panel shows item, number, code and status)."""

    case_id: str
    case_no: str
    query_code: str
    item_code: str
    status: str
    device: str

    def to_dict(self) -> dict[str, Any]:
        return {"case_id": self.case_id, "case_no": self.case_no, "query_code": self.query_code,
                "item_code": self.item_code, "status": self.status}


def central_cases(db: Path) -> list[CentralCase]:
    """Cases in central's database in the order central received them; [] while there is no database."""
    if not db.exists():
        return []
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5.0)
    except sqlite3.Error:
        return []
    try:
        rows = conn.execute("SELECT case_id, case_no, query_code, item_code, COALESCE(forced_status, status), "
                            "device FROM cases ORDER BY recv_order").fetchall()
    except sqlite3.Error:  # schema not created yet
        return []
    finally:
        conn.close()
    return [CentralCase(*row) for row in rows]
