"""Who publishes a catalog version, and when (contract addendum, "Fleet"): exactly one instance per
version, only when the broker does not already hold it retained (a central restart re-sends nothing),
and the retained parts of older versions are cleared so that a new terminal fetches only the current one.

The decision is a row in ``catalog_pubs`` claimed with an insert that only one instance can win; a
claim older than ``REPUBLISH_AFTER_S`` may be taken over when the broker lost the retained copy (a
broker restarted without persistence)."""
from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from typing import Any

from simulators.central.catalog import Catalog, build_publication, part_topic

log = logging.getLogger("central.catalog")

REPUBLISH_AFTER_S = 10.0


@dataclass(frozen=True)
class Publication:
    """The bytes of one version as every instance builds them (gzip with a fixed time)."""
    version: int
    parts: list[bytes]
    manifest: dict

    @property
    def sha256(self) -> str:
        return hashlib.sha256(b"".join(self.parts)).hexdigest()


def publication(catalog: Catalog, published_at: str) -> Publication:
    parts, manifest = build_publication(catalog, published_at)
    return Publication(catalog.version, parts, manifest)


def on_broker(retained: dict | None, pub: Publication) -> bool:
    """True when the broker's retained manifest already announces these very bytes."""
    return isinstance(retained, dict) and retained.get("version") == pub.version \
        and str(retained.get("sha256", "")).lower() == pub.sha256


def claim(conn: Any, pub: Publication, instance: str, retained: dict | None, now: float | None = None) -> bool:
    """Inside the caller's transaction: True when this instance should publish ``pub`` now."""
    now = time.time() if now is None else now
    if isinstance(retained, dict) and isinstance(retained.get("version"), int) and retained["version"] > pub.version:
        log.warning("broker holds catalog v%s, newer than v%d: not publishing", retained["version"], pub.version)
        return False
    won = conn.execute("INSERT INTO catalog_pubs (version, sha256, parts, publisher, published_at) "
                       "VALUES (?,?,?,?,?) ON CONFLICT DO NOTHING RETURNING version",
                       (pub.version, pub.sha256, len(pub.parts), instance, now)).fetchone()
    if won is not None:
        return True
    if on_broker(retained, pub):
        return False
    # Claimed before, yet the broker lacks it: take the claim over unless another instance just did.
    taken = conn.execute("UPDATE catalog_pubs SET publisher = ?, published_at = ?, sha256 = ?, parts = ? "
                         "WHERE version = ? AND published_at < ? RETURNING version",
                         (instance, now, pub.sha256, len(pub.parts), pub.version, now - REPUBLISH_AFTER_S)).fetchone()
    return taken is not None


def stale_parts(conn: Any, current: int) -> list[str]:
    """Inside the caller's transaction: the part topics of older versions still retained on the broker
    (marked cleared; the caller publishes an empty retained message to each)."""
    rows = conn.execute("SELECT version, parts FROM catalog_pubs WHERE version < ? AND cleared = 0",
                        (current,)).fetchall()
    conn.execute("UPDATE catalog_pubs SET cleared = 1 WHERE version < ? AND cleared = 0", (current,))
    return [part_topic(int(version), n) for version, parts in rows for n in range(int(parts))]
