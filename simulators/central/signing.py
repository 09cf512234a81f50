"""Central's Ed25519 keys and signatures: the keys directory (``<key_id>.key`` PKCS8 PEM,
``<key_id>.pub`` base64 of the raw 32-byte public key) and signing over canonical JSON (§8, §9)."""
from __future__ import annotations

import base64
import json
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

COMMAND_KEY = "cmd-2026"
CATALOG_KEY = "cat-2026"
UPDATE_KEY = "upd-2026"  # signs update bundles' manifests (docs/contract-addendum.md, "Updates")
DEFAULT_KEYS_DIR = Path(os.environ.get("XDG_STATE_HOME", Path.home() / ".local" / "state")) \
    / "kiosk-sim" / "central" / "keys"


def canonical_json(obj: dict) -> bytes:
    """Keys sorted, no spaces, UTF-8 as is: the bytes a signature covers."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


class KeyRing:
    """The private keys central signs with, loaded from (and created in) one directory."""

    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)
        self._keys: dict[str, Ed25519PrivateKey] = {}

    def ensure(self, *key_ids: str) -> KeyRing:
        """Loads each key, creating the pair first when absent. Raises OSError or ValueError on an
        unreadable or malformed key file (a technician must look at it, central does not overwrite it)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        for key_id in key_ids:
            private_path = self.directory / f"{key_id}.key"
            if not private_path.exists():
                self._create(key_id)
            key = serialization.load_pem_private_key(private_path.read_bytes(), password=None)
            if not isinstance(key, Ed25519PrivateKey):
                raise ValueError(f"{private_path} is not an Ed25519 key")
            self._keys[key_id] = key
            if not (self.directory / f"{key_id}.pub").exists():  # a lost public file is derived again
                (self.directory / f"{key_id}.pub").write_text(public_b64(key.public_key()) + "\n")
        return self

    def _create(self, key_id: str) -> None:
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        final = self.directory / f"{key_id}.key"
        tmp = self.directory / f".{key_id}.key.{os.getpid()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
        try:
            os.link(tmp, final)  # atomic "create if absent": of two instances starting together, one wins
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
        winner = serialization.load_pem_private_key(final.read_bytes(), None)
        if not isinstance(winner, Ed25519PrivateKey):
            raise ValueError(f"{final} is not an Ed25519 key")
        pub_tmp = self.directory / f".{key_id}.pub.{os.getpid()}.tmp"
        pub_tmp.write_text(public_b64(winner.public_key()) + "\n")
        os.replace(pub_tmp, self.directory / f"{key_id}.pub")

    def sign(self, obj: dict, key_id: str) -> dict:
        """A copy of ``obj`` with ``key_id`` set and ``sig`` over the canonical JSON of the rest."""
        body = {k: v for k, v in obj.items() if k != "sig"}
        body["key_id"] = key_id
        signature = self._keys[key_id].sign(canonical_json(body))
        return {**body, "sig": base64.b64encode(signature).decode("ascii")}

    def public_keys(self) -> dict[str, str]:
        """``{key_id: base64 raw public key}``, the form a kiosk's config takes."""
        return {key_id: public_b64(key.public_key()) for key_id, key in self._keys.items()}


def public_b64(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


def verify(obj: dict, public_key_b64: str) -> bool:
    """True when ``obj["sig"]`` is a valid signature of the rest of ``obj`` by that key."""
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64))
        key.verify(base64.b64decode(obj["sig"]), canonical_json({k: v for k, v in obj.items() if k != "sig"}))
    except (InvalidSignature, KeyError, ValueError, TypeError):
        return False
    return True
