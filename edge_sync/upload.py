"""A blob sent up on its own, not as a case's attachment (contract addendum, "Updates": the terminal's logs
for central's ``upload_logs``). It travels like an attachment — the outbox's blob rows, chunks of §5,
resumed by chunk, encrypted at rest — and, with no case waiting for it, is deleted once central has
stored it (at the next such blob)."""
from __future__ import annotations

import hashlib
import time
import uuid
from dataclasses import dataclass

from edge_sync.config import SyncConfig
from edge_sync.crypto import DeviceKey
from edge_sync.outbox import check_budget, seal_segments
from edge_sync.store import BlobState, Kind, Store


@dataclass(frozen=True)
class StoredBlob:
    """A blob durable in the outbox: what an event names so that central can match it."""

    blob_id: str
    size: int
    sha256: str
    mime: str

    def ref(self) -> dict[str, object]:
        return {"id": self.blob_id, "size": self.size, "sha256": self.sha256, "mime": self.mime}


def enqueue_blob(store: Store, key: DeviceKey, cfg: SyncConfig, data: bytes, mime: str,
                 prefix: str = "b") -> StoredBlob:
    """Commits the blob for upload; returns once durable. Raises StorageFull (nothing stored)."""
    check_budget(store, cfg, incoming=len(data) + 4096)
    blob = StoredBlob(f"{prefix}-{uuid.uuid4().hex}", len(data), hashlib.sha256(data).hexdigest(), mime)
    sealed = seal_segments(key, blob.blob_id, data)
    with store.tx() as c:
        # Standalone blobs central already holds: their bytes are not needed any more.
        done = "SELECT blob_id FROM blobs WHERE case_id IS NULL AND state != ?"
        c.execute(f"DELETE FROM blob_data WHERE blob_id IN ({done})", (BlobState.PENDING.value,))
        c.execute(f"DELETE FROM blobs WHERE blob_id IN ({done})", (BlobState.PENDING.value,))
        c.execute("INSERT INTO blobs(blob_id, ord, case_id, msg_prefix, size, sha256, mime, pages, state, created_at)"
                  " VALUES (?,?,?,?,?,?,?,?,?,?)",
                  (blob.blob_id, store.next_seq(Kind.BLOB), None, uuid.uuid4().hex, blob.size, blob.sha256, mime, 0,
                   BlobState.PENDING.value, time.time()))
        c.executemany("INSERT INTO blob_data(blob_id, seg, data) VALUES (?, ?, ?)",
                      [(blob.blob_id, n, part) for n, part in enumerate(sealed)])
    return blob
