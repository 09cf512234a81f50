"""Fixtures of the edge_sync tests: engines on a temporary data dir (always stopped), the in-test
central peer, signing keys, and a sample case."""
from __future__ import annotations

import base64
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from edge_sync import SyncConfig, SyncEngine
from tests.edge_sync.central_peer import CentralPeer

DEVICE = "KSK-511902-0007"
SITE = "511902-HALL-01"
ID_NUMBERS = ["51190219800101123X", "110101199003070011", "440301198811223344"]


def sample_case(n: int = 0, **extra: Any) -> dict[str, Any]:
    return {"item": {"code": "511900-XK-0007", "situation": "S02", "catalog": 42}, "channel": "self",
            "applicant": {"name": "张三", "id_type": "resident", "id_no": ID_NUMBERS[n % len(ID_NUMBERS)],
                          "phone": "13800000000"},
            "materials": [{"code": "M01", "source": "shared"}], "pickup": {"method": "window", "detail": ""},
            "consent": {"version": "2026-01", "at": datetime.now().astimezone().isoformat(timespec="seconds")},
            "test": False, **extra}


class Signer:
    """Central's side of a signing key: private key + the base64 public key the kiosk configures."""

    def __init__(self, key_id: str) -> None:
        self.key_id = key_id
        self.private = Ed25519PrivateKey.generate()
        raw = self.private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.public_b64 = base64.b64encode(raw).decode()

    def sign(self, obj: dict[str, Any]) -> dict[str, Any]:
        from edge_sync.crypto import canonical_json
        body = {**{k: v for k, v in obj.items() if k != "sig"}, "key_id": self.key_id}
        return {**body, "sig": base64.b64encode(self.private.sign(canonical_json(body))).decode()}


@pytest.fixture(scope="session")
def cmd_signer() -> Signer:
    return Signer("cmd-2026")


@pytest.fixture(scope="session")
def cat_signer() -> Signer:
    return Signer("cat-2026")


@pytest.fixture
def make_config(tmp_path: Path, cmd_signer: Signer, cat_signer: Signer) -> Callable[..., SyncConfig]:
    def make(url: str, **overrides: Any) -> SyncConfig:
        values: dict[str, Any] = dict(device_id=DEVICE, site_id=SITE, mqtt_url=url, data_dir=tmp_path / "data",
                                      ack_timeout_s=3.0, reconnect_min_s=0.2, reconnect_max_s=2.0,
                                      command_keys={cmd_signer.key_id: cmd_signer.public_b64},
                                      catalog_keys={cat_signer.key_id: cat_signer.public_b64}, min_free_mb=1)
        values.update(overrides)
        return SyncConfig(**values)
    return make


@pytest.fixture
def make_engine(make_config):
    engines: list[SyncEngine] = []

    def make(url: str, start: bool = True, **overrides: Any) -> SyncEngine:
        engine = SyncEngine(make_config(url, **overrides))
        engines.append(engine)
        return engine.start() if start else engine
    yield make
    for engine in engines:
        if engine._running:
            engine.stop()


@pytest.fixture
def peer(broker):
    p = CentralPeer(broker.url).start()
    try:
        yield p
    finally:
        p.stop()


def wait_until(predicate: Callable[[], Any], timeout: float, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)
