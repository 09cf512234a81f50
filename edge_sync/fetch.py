"""Downlink blobs (contract addendum, "Updates"): a file central holds — an update bundle — fetched by
chunk. The device asks with a ``blob.fetch`` request for a few missing chunk indexes; central publishes
them on ``gov/v1/down/{device}/blob`` (binary, user properties as for uplink chunks plus the chunk's own
sha256) and then answers the request. Chunks are written in place into ``<dest>.part``; the indexes
held are kept in ``<dest>.have`` (after an fsync of the data), so a fetch interrupted by a restart, a
lost connection or a kill asks only for what is still missing. The whole file's sha256 (from the signed
command that named the blob) is checked before ``<dest>`` appears."""
from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge_sync.requests import Requests
from edge_sync.results import SyncError
from edge_sync.session import CONTRACT_MAX_PAYLOAD, Session

log = logging.getLogger("edge_sync.fetch")

WINDOW = 8                  # chunks asked for at once (2 MiB at 256 KiB)
REPLY_TIMEOUT_S = 20.0
GRACE_S = 5.0               # after central's answer, for chunks still on their way
MAX_BLOB_BYTES = 2 * 1024 ** 3
_ID_RE = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")
_SHA_RE = re.compile(r"^[0-9a-f]{64}$")


class FetchError(SyncError):
    """A downlink blob could not be fetched; ``code`` says why (``unknown_blob``, ``corrupt``, …)."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code, self.detail = code, detail


@dataclass(frozen=True)
class DownBlob:
    """A blob central offers: its id, size, sha256 and the chunk size it is cut into."""

    blob_id: str
    size: int
    sha256: str
    chunk_size: int

    @property
    def count(self) -> int:
        return max(1, -(-self.size // self.chunk_size))

    def chunk_len(self, index: int) -> int:
        return min(self.chunk_size, self.size - index * self.chunk_size) if self.size else 0

    @classmethod
    def parse(cls, obj: Any) -> DownBlob:
        """From ``{"blob_id", "size", "sha256", "chunk_size"}``; raises ValueError naming the bad field."""
        if not isinstance(obj, Mapping):
            raise ValueError("blob: expected an object")
        blob_id, size, sha, chunk = obj.get("blob_id"), obj.get("size"), obj.get("sha256"), obj.get("chunk_size")
        if not isinstance(blob_id, str) or not _ID_RE.fullmatch(blob_id):
            raise ValueError("blob.blob_id: 1-128 letters, digits, '.', '_' or '-'")
        if not isinstance(size, int) or isinstance(size, bool) or not 0 < size <= MAX_BLOB_BYTES:
            raise ValueError(f"blob.size: expected 1..{MAX_BLOB_BYTES}")
        if not isinstance(sha, str) or not _SHA_RE.fullmatch(sha):
            raise ValueError("blob.sha256: expected 64 lower-case hex digits")
        if not isinstance(chunk, int) or isinstance(chunk, bool) or not 1024 <= chunk <= CONTRACT_MAX_PAYLOAD:
            raise ValueError(f"blob.chunk_size: expected 1024..{CONTRACT_MAX_PAYLOAD}")
        return cls(blob_id, size, sha, chunk)


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class Chunk:
    """One received downlink chunk, checked against the blob being fetched."""

    blob_id: str
    index: int
    data: bytes


def parse_chunk(blob: DownBlob, payload: bytes, user: Mapping[str, str]) -> Chunk:
    """The chunk, if its user properties and bytes fit ``blob``; raises ValueError otherwise."""
    try:
        index, count, size = int(user["index"]), int(user["count"]), int(user["size"])
        blob_id, sha, chunk_sha = user["blob_id"], user["sha256"], user["chunk_sha256"]
    except (KeyError, ValueError, TypeError):
        raise ValueError("chunk without the blob user properties") from None
    if blob_id != blob.blob_id or sha != blob.sha256 or count != blob.count or size != blob.size:
        raise ValueError("chunk of another blob")
    if not 0 <= index < blob.count or len(payload) != blob.chunk_len(index):
        raise ValueError("chunk index or length outside the blob")
    if hashlib.sha256(payload).hexdigest() != chunk_sha:
        raise ValueError("chunk sha256 mismatch")
    return Chunk(blob_id, index, bytes(payload))


class BlobFetcher:
    """Fetches one downlink blob at a time; ``take_chunk`` is fed from the network thread."""

    def __init__(self, session: Session, requests: Requests) -> None:
        self.session, self.requests = session, requests
        self._lock = threading.Lock()
        self._active: tuple[DownBlob, int, set[int]] | None = None   # blob, file descriptor, indexes held
        self._arrived = threading.Event()
        self.dropped = 0       # chunks that did not fit the blob being fetched
        self.written = 0       # chunks written (each index once per fetch)

    def take_chunk(self, payload: bytes, user: Sequence[tuple[str, str]] | None) -> None:
        """One chunk from ``gov/v1/down/{device}/blob``; anything that does not fit is dropped (counted)."""
        with self._lock:
            active = self._active
            if active is None:
                self.dropped += 1
                return
            blob, fd, have = active
            try:
                chunk = parse_chunk(blob, payload, dict(user or []))
            except ValueError as exc:
                self.dropped += 1
                log.debug("downlink chunk dropped: %s", exc)
                return
            if chunk.index not in have:
                os.pwrite(fd, chunk.data, chunk.index * blob.chunk_size)
                have.add(chunk.index)
                self.written += 1
        self._arrived.set()

    def fetch(self, blob: DownBlob, dest: Path, progress: Callable[[int, int], None] | None = None,
              stop: threading.Event | None = None) -> Path:
        """Fetches ``blob`` into ``dest`` (resuming from ``dest.part``/``dest.have``) and returns ``dest``;
        blocks, waiting for a connection as long as it takes. Raises FetchError (``unknown_blob``: central
        does not offer it; ``corrupt``: the whole file's sha256 differs twice; ``cancelled``: ``stop``)."""
        stop = stop or threading.Event()
        part, have_path = dest.with_name(dest.name + ".part"), dest.with_name(dest.name + ".have")
        dest.parent.mkdir(parents=True, exist_ok=True)
        for attempt in (1, 2):
            have = _load_have(have_path, blob)
            fd = os.open(part, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                os.ftruncate(fd, blob.size)
                with self._lock:
                    self._active = (blob, fd, have)
                self._fill(blob, fd, have, have_path, progress, stop)
            finally:
                with self._lock:
                    self._active = None
                os.close(fd)
            if _sha256(part) == blob.sha256:
                os.replace(part, dest)
                have_path.unlink(missing_ok=True)
                return dest
            log.error("downlink blob %s: sha256 differs after all chunks (attempt %d)", blob.blob_id, attempt)
            have_path.unlink(missing_ok=True)
            part.unlink(missing_ok=True)
        raise FetchError("corrupt", f"{blob.blob_id}: the whole blob's sha256 does not match")

    def _fill(self, blob: DownBlob, fd: int, have: set[int], have_path: Path,
              progress: Callable[[int, int], None] | None, stop: threading.Event) -> None:
        delay = 1.0
        while True:
            with self._lock:
                missing = [i for i in range(blob.count) if i not in have]
            if progress is not None:
                progress(blob.count - len(missing), blob.count)
            if not missing:
                return
            if stop.is_set():
                raise FetchError("cancelled", "stopped")
            if not self.session.connected.is_set():
                stop.wait(1.0)
                continue
            batch = missing[:WINDOW]
            reply = self.requests.call("blob.fetch", {"blob_id": blob.blob_id, "indexes": batch}, REPLY_TIMEOUT_S)
            if reply is None:
                stop.wait(delay)
                delay = min(30.0, delay * 2)
                continue
            delay = 1.0
            if reply.get("ok") is False:
                code = str(reply.get("error") or "refused")[:40]
                raise FetchError(code, f"central will not send {blob.blob_id}")
            self._await(set(batch), have, stop)
            os.fsync(fd)
            with self._lock:
                held = sorted(have)
            _save_have(have_path, blob.sha256, held)

    def _await(self, wanted: set[int], have: set[int], stop: threading.Event) -> None:
        deadline = time.monotonic() + GRACE_S
        while time.monotonic() < deadline and not stop.is_set():
            with self._lock:
                if wanted <= have:
                    return
            self._arrived.wait(0.1)
            self._arrived.clear()


def _load_have(path: Path, blob: DownBlob) -> set[int]:
    try:
        raw = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return set()
    if not isinstance(raw, dict) or raw.get("sha256") != blob.sha256 or not isinstance(raw.get("have"), list):
        return set()
    return {i for i in raw["have"] if _int(i) and 0 <= i < blob.count}


def _save_have(path: Path, sha256: str, have: list[int]) -> None:
    """Written only after the chunks' bytes were fsynced: it never claims a chunk a power loss took away
    (a torn or lost list only means asking again)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({"sha256": sha256, "have": have}), "utf-8")
    os.replace(tmp, path)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
