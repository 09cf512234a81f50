"""Fixtures of the fault suite: a rig per test (the faults leave a terminal in states no other test wants),
always stopped, and the figures each fault reports collected for docs/faults.md."""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.catalog import Catalog, load_catalog
from tests.faults.rig import Rig

FIGURES = Path(__file__).resolve().parents[2] / "artifacts" / "faults"


@pytest.fixture
def rig_factory(tmp_path: Path) -> Iterator:
    rigs: list[Rig] = []

    def make(**options) -> Rig:
        rig = Rig(tmp_path / f"hall{len(rigs)}", **options)
        rigs.append(rig)
        return rig
    try:
        yield make
    finally:
        for rig in rigs:
            rig.stop()


@pytest.fixture
def record_figures(request):
    """``record_figures(dict)`` keeps a fault's figures in artifacts/faults/<test>.json (docs/faults.md)."""
    def record(figures: dict) -> None:
        FIGURES.mkdir(parents=True, exist_ok=True)
        (FIGURES / f"{request.node.name}.json").write_text(json.dumps(figures, ensure_ascii=False, indent=1))
    return record


@pytest.fixture(scope="session")
def sample_catalog(catalog_file: Path) -> Catalog:
    return load_catalog(catalog_file)
