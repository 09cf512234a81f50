"""Attachments on the wire: chunking (≤ 256 KiB and ≤ the broker's limit), the contract's user
properties, and the per-blob sending state that lets an upload resume with only what is missing."""
from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties


def chunk_count(size: int, chunk_size: int) -> int:
    return max(1, -(-size // chunk_size))


def chunk_properties(blob_id: str, index: int, count: int, size: int, sha256: str, mime: str,
                     msg_id: str) -> Properties:
    """User properties of one chunk (§5)."""
    props = Properties(PacketTypes.PUBLISH)
    props.UserProperty = [("blob_id", blob_id), ("index", str(index)), ("count", str(count)),
                          ("size", str(size)), ("sha256", sha256), ("mime", mime), ("msg_id", msg_id)]
    return props


def chunk_msg_id(prefix: str, index: int) -> str:
    """Stable, unique msg_id of chunk ``index`` (re-sends of a chunk keep it)."""
    return f"{prefix}.{index}"


def split_chunk_msg_id(msg_id: str) -> tuple[str, int] | None:
    prefix, dot, index = msg_id.rpartition(".")
    if not dot or not index.isdigit() or len(prefix) != 32:
        return None
    return prefix, int(index)


@dataclass
class BlobJob:
    """A blob being uploaded; ``read_segment(n)`` gives decrypted storage segment n (``segment`` bytes
    each), so only the segments of the chunk being sent are in memory."""

    blob_id: str
    case_id: str | None
    prefix: str
    size: int
    sha256: str
    mime: str
    chunk_size: int
    count: int
    read_segment: Callable[[int], bytes]
    segment: int
    pubacked: set[int] = field(default_factory=set)
    todo: deque = field(default_factory=deque)
    outstanding: int = 0
    last_activity: float = field(default_factory=time.monotonic)
    dirty: bool = False

    _cache: dict = field(default_factory=dict)

    def chunk(self, index: int) -> bytes:
        start = index * self.chunk_size
        end = min(self.size, start + self.chunk_size)
        if end <= start:
            return b""
        parts = []
        for seg in range(start // self.segment, (end - 1) // self.segment + 1):
            if seg not in self._cache:
                if len(self._cache) >= 2:
                    self._cache.pop(next(iter(self._cache)))
                self._cache[seg] = self.read_segment(seg)
            base = seg * self.segment
            parts.append(self._cache[seg][max(0, start - base):end - base])
        return b"".join(parts)

    def properties(self, index: int) -> Properties:
        return chunk_properties(self.blob_id, index, self.count, self.size, self.sha256, self.mime,
                                chunk_msg_id(self.prefix, index))

    def plan_resume(self) -> None:
        """After an interruption, ask before sending: the last chunk alone makes central answer
        ``stored`` or ``missing`` with the exact list, so at most that one chunk travels twice.
        A blob never sent before goes whole."""
        if self.pubacked:
            self.todo = deque([self.count - 1])
        else:
            self.todo = deque(range(self.count))

    def plan_missing(self, indexes: Any) -> bool:
        """Central listed missing chunks; returns False when the list is unusable."""
        if not isinstance(indexes, list) or not indexes:
            return False
        wanted = sorted({i for i in indexes if isinstance(i, int) and 0 <= i < self.count})
        if not wanted:
            return False
        self.pubacked.difference_update(wanted)
        self.todo = deque(wanted)
        self.dirty = True
        return True

    def plan_all(self) -> None:
        self.pubacked.clear()
        self.todo = deque(range(self.count))
        self.dirty = True

    def pubacked_json(self) -> str:
        return json.dumps(sorted(self.pubacked))
