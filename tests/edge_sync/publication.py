"""Central's side of a catalog version for the edge_sync tests: the signed manifest and gzip parts
(contract §9), published retained as central does, and the RFC 3339 times commands and manifests carry."""
from __future__ import annotations

import gzip
import hashlib
import json
from datetime import datetime, timedelta
from typing import Any


def iso(delta_s: float = 0) -> str:
    """Now (plus ``delta_s``) in RFC 3339 with this machine's offset."""
    return (datetime.now().astimezone() + timedelta(seconds=delta_s)).isoformat(timespec="seconds")


def publication(signer: Any, catalog: dict[str, Any], version: int,
                part_size: int = 4096) -> tuple[dict[str, Any], list[bytes]]:
    """(signed manifest, parts) of ``catalog`` as ``version``."""
    blob = gzip.compress(json.dumps(catalog, ensure_ascii=False).encode())
    parts = [blob[i:i + part_size] for i in range(0, len(blob), part_size)]
    manifest = signer.sign({"type": "catalog.manifest", "v": 1, "version": version, "published_at": iso(),
                            "parts": len(parts), "size": len(blob), "sha256": hashlib.sha256(blob).hexdigest(),
                            "encoding": "gzip"})
    return manifest, parts


def publish_catalog(peer: Any, manifest: dict[str, Any], parts: list[bytes]) -> None:
    """The parts, then the manifest, retained, as central publishes a version."""
    for n, part in enumerate(parts):
        peer.publish(f"gov/v1/catalog/{manifest['version']}/part/{n}", part, retain=True)
    peer.publish("gov/v1/catalog/manifest", json.dumps(manifest).encode(), retain=True)
