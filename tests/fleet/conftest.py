"""Fixtures of the fleet tests: a PostgreSQL cluster for the whole module that needs one."""
from __future__ import annotations

import pytest

from tests.support.postgres import PostgresCluster, pg_bindir


@pytest.fixture(scope="module")
def postgres():
    if pg_bindir() is None:
        pytest.fail("PostgreSQL is not installed: run scripts/bootstrap (it installs Debian's postgresql)")
    cluster = PostgresCluster().start()
    try:
        yield cluster
    finally:
        cluster.cleanup()
