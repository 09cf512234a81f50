"""The terminal's accepted downlink signing keys (Ed25519, contract §8/§9): read central's published public
keys (``<key_id>.pub``, one line of base64 of the raw 32 bytes) into the ``{key_id: base64}`` tables of the
configuration, and plan a rotation window in which old and new keys are both accepted."""
from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from kiosk.trust.pem import BadMaterial

KEY_ID_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
# Which table a key id belongs to, by the prefix central uses (cmd-2026, cat-2026).
TABLES = {"cmd-": "command_keys", "cat-": "catalog_keys"}


def check_public_key(key_id: str, b64: str) -> str:
    """Returns ``b64`` stripped; raises BadMaterial unless it is base64 of exactly 32 bytes and the key id
    is 1-64 letters, digits, '.', '_' or '-'."""
    if not KEY_ID_RE.fullmatch(key_id or ""):
        raise BadMaterial(f"key id {key_id!r}: 1-64 letters, digits, '.', '_' or '-'")
    text = (b64 or "").strip()
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError as exc:
        raise BadMaterial(f"{key_id}: not base64") from exc
    if len(raw) != 32:
        raise BadMaterial(f"{key_id}: expected a raw 32-byte Ed25519 public key, got {len(raw)} bytes")
    return text


def read_public_keys(keys_dir: Path) -> dict[str, dict[str, str]]:
    """``{"command_keys": {...}, "catalog_keys": {...}}`` from the ``cmd-*.pub`` / ``cat-*.pub`` files of a
    keys directory (central's, or what it published). Raises BadMaterial on a malformed file, OSError."""
    tables: dict[str, dict[str, str]] = {name: {} for name in TABLES.values()}
    for path in sorted(Path(keys_dir).glob("*.pub")):
        key_id = path.name[:-len(".pub")]
        table = next((name for prefix, name in TABLES.items() if key_id.startswith(prefix)), None)
        if table is not None:
            tables[table][key_id] = check_public_key(key_id, path.read_text(encoding="ascii", errors="replace"))
    return tables


def toml_tables(tables: Mapping[str, Mapping[str, str]]) -> str:
    """The ``[sync.command_keys]`` / ``[sync.catalog_keys]`` TOML for a terminal's configuration."""
    out = []
    for name in ("command_keys", "catalog_keys"):
        out.append(f"[sync.{name}]")
        out += [f'"{key_id}" = "{b64}"' for key_id, b64 in sorted(tables.get(name, {}).items())]
        out.append("")
    return "\n".join(out)


@dataclass(frozen=True)
class Rotation:
    """The accepted key sets of one rotation: ``during`` (old and new: deploy first, before central signs
    with the new key) and ``after`` (the retired key removed once every terminal has the new one)."""

    during: dict[str, str]
    after: dict[str, str]


def plan_rotation(accepted: Mapping[str, str], new_id: str, new_b64: str, retire: str | None = None) -> Rotation:
    """Raises BadMaterial on a malformed new key, a key id already in use with another key, or when
    retiring would leave no accepted key."""
    new_b64 = check_public_key(new_id, new_b64)
    if accepted.get(new_id, new_b64) != new_b64:
        raise BadMaterial(f"key id {new_id} is already accepted with a different key: key ids are never reused")
    during = {**accepted, new_id: new_b64}
    after = {k: v for k, v in during.items() if k != retire}
    if not after:
        raise BadMaterial("the rotation would leave no accepted key")
    return Rotation(during, after)
