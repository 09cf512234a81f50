"""Fixtures shared by every test package."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.broker import Broker

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("KIOSK_SHARED_DIR", REPO.parent / "shared"))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.fail(f"shared/ not found at {SHARED}; set KIOSK_SHARED_DIR")
    return SHARED


@pytest.fixture(scope="session")
def identities_file(shared_dir: Path) -> Path:
    return shared_dir / "data" / "identities-sample.json"


@pytest.fixture(scope="session")
def catalog_file(shared_dir: Path) -> Path:
    return shared_dir / "data" / "catalog-sample.json"


@pytest.fixture
def broker():
    """A fresh mosquitto on a free loopback port; ``broker.stop()``/``broker.start()`` play an outage."""
    b = Broker().start()
    try:
        yield b
    finally:
        b.cleanup()


@pytest.fixture
def artifacts_dir(request) -> Path:
    """Where a test keeps screenshots and receipts for a human to look at (kept after the run)."""
    path = REPO / "artifacts" / request.node.name.replace("/", "_")[:80]
    path.mkdir(parents=True, exist_ok=True)
    return path
