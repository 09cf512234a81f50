"""Fixtures of the trust tests: one development PKI per session and one TLS mosquitto per module."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.trust.tls_broker import Pki, TlsBroker, make_pki


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(Path(tmp_path_factory.mktemp("pki")))


@pytest.fixture(scope="module")
def tls_broker(pki: Pki):
    broker = TlsBroker(pki).start()
    try:
        yield broker
    finally:
        broker.cleanup()
