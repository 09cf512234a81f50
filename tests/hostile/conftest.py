"""Writes how many cases each hostile-input suite fed in this run to artifacts/hostile-cases.json."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.hostile.bounded import CASES

REPORT = Path(__file__).resolve().parents[2] / "artifacts" / "hostile-cases.json"


@pytest.fixture(scope="session", autouse=True)
def case_report():
    yield
    if CASES:
        REPORT.parent.mkdir(parents=True, exist_ok=True)
        REPORT.write_text(json.dumps(dict(sorted(CASES.items())), indent=1) + "\n", encoding="utf-8")
