"""Fixtures of the catalog and search tests: the project's own sample catalog (with aliases), as the
simulated hall and the central simulator ship it."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kiosk.catalog import Catalog, load_catalog
from simulators.hall.stack import sample_file


@pytest.fixture(scope="session")
def aliased_file() -> Path:
    return sample_file("catalog-sample.json")


@pytest.fixture(scope="session")
def aliased_raw(aliased_file: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(aliased_file.read_text("utf-8"))
    return data


@pytest.fixture(scope="session")
def aliased(aliased_file: Path) -> Catalog:
    return load_catalog(aliased_file)
