"""Downlink blobs (contract addendum, "Updates"): central serves files it published — update bundles —
chunk by chunk on request. A ``blob.fetch`` request names a blob and up to 32 chunk indexes; each chunk
goes to ``gov/v1/down/{device}/blob`` (binary, user properties ``blob_id``, ``index``, ``count``, ``size``,
``sha256``, ``chunk_sha256``), then the request is answered with ``blob.sent``. Blobs live as files in one
folder (``<blob_id>.blob`` and ``<blob_id>.json``), so every central instance can serve every blob."""
from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
from pathlib import Path
from typing import Any

from simulators.central.context import Incoming, Outgoing, real_now
from simulators.central.contract import down_topic
from simulators.central.handlers import parse_json, usable_msg_id

log = logging.getLogger("central.downblobs")

CHUNK_SIZE = 256 * 1024
MAX_INDEXES = 32
BLOB_ID_RE = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")


def publish_blob(folder: Path, source: Path, chunk_size: int = CHUNK_SIZE, prefix: str = "upd") -> dict[str, Any]:
    """Makes ``source`` fetchable; returns its descriptor ``{blob_id, size, sha256, chunk_size}`` (the id
    follows from the content, so publishing the same file twice gives the same blob)."""
    digest = hashlib.sha256()
    with open(source, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    sha = digest.hexdigest()
    desc = {"blob_id": f"{prefix}-{sha[:32]}", "size": source.stat().st_size, "sha256": sha,
            "chunk_size": chunk_size}
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{desc['blob_id']}.blob"
    if not target.exists():
        tmp = folder / f".{target.name}.{os.getpid()}.tmp"
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)
    (folder / f"{desc['blob_id']}.json").write_text(json.dumps(desc), "utf-8")
    return desc


def is_blob_fetch(incoming: Incoming) -> bool:
    payload = parse_json(incoming)
    return isinstance(payload, dict) and payload.get("type") == "blob.fetch"


def handle_blob_fetch(folder: Path | None, device: str, incoming: Incoming) -> list[Outgoing]:
    """The chunks asked for, then the answer (``ok`` false with ``error`` when they cannot be sent)."""
    payload = parse_json(incoming)
    reply: dict[str, Any] = {"type": "blob.sent", "v": 1, "ref": usable_msg_id(payload), "server_time": real_now()}
    topic = incoming.response_topic or down_topic(device, "reply")
    blob_id = payload.get("blob_id") if isinstance(payload, dict) else None
    indexes = payload.get("indexes") if isinstance(payload, dict) else None
    if not isinstance(blob_id, str) or not BLOB_ID_RE.match(blob_id):
        return [Outgoing(topic, {**reply, "ok": False, "error": "bad_request"}, correlation=incoming.correlation)]
    reply["blob_id"] = blob_id
    if not isinstance(indexes, list) or not 0 < len(indexes) <= MAX_INDEXES \
            or not all(isinstance(i, int) and not isinstance(i, bool) for i in indexes):
        return [Outgoing(topic, {**reply, "ok": False, "error": "bad_request"}, correlation=incoming.correlation)]
    desc = _descriptor(folder, blob_id)
    if desc is None or folder is None:
        log.warning("%s asked for unknown blob %s", device, blob_id)
        return [Outgoing(topic, {**reply, "ok": False, "error": "unknown_blob"}, correlation=incoming.correlation)]
    count = max(1, -(-desc["size"] // desc["chunk_size"]))
    wanted = sorted({i for i in indexes if 0 <= i < count})
    out = []
    with open(folder / f"{blob_id}.blob", "rb") as handle:
        for index in wanted:
            handle.seek(index * desc["chunk_size"])
            data = handle.read(desc["chunk_size"])
            user = [("blob_id", blob_id), ("index", str(index)), ("count", str(count)), ("size", str(desc["size"])),
                    ("sha256", desc["sha256"]), ("chunk_sha256", hashlib.sha256(data).hexdigest())]
            out.append(Outgoing(down_topic(device, "blob"), {}, raw=data, user=user))
    out.append(Outgoing(topic, {**reply, "ok": True, "indexes": wanted, "count": count},
                        correlation=incoming.correlation))
    return out


def _descriptor(folder: Path | None, blob_id: str) -> dict[str, Any] | None:
    if folder is None:
        return None
    try:
        desc = json.loads((folder / f"{blob_id}.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if not (folder / f"{blob_id}.blob").is_file() or not isinstance(desc, dict):
        return None
    return desc
