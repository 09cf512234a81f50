"""At-rest encryption of personal data (AES-GCM with a per-device key file) and verification of
central's Ed25519 signatures over canonical JSON."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_NONCE = 12


class SignatureError(ValueError):
    """A signed downlink message has no signature, an unknown key id, or a signature that does not verify."""


class UnknownKey(SignatureError):
    """Signed by a key id that is not (or not yet) among the accepted keys."""


@dataclass(frozen=True)
class AcceptedKeys:
    """The public keys central's signatures are checked against. Replaced whole, never changed in place,
    so that a reader holding one instance sees one consistent pair of sets."""

    command: Mapping[str, Ed25519PublicKey]
    catalog: Mapping[str, Ed25519PublicKey]

    @classmethod
    def load(cls, command_keys: Mapping[str, str], catalog_keys: Mapping[str, str]) -> AcceptedKeys:
        """From ``{key_id: base64 raw 32 bytes}`` tables. Raises ValueError on a malformed key."""
        return cls(MappingProxyType(load_public_keys(command_keys)), MappingProxyType(load_public_keys(catalog_keys)))


class DeviceKey:
    """The device's 256-bit data key, kept in a file readable only by the service user (mode 0600)."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("device key must be 32 bytes")
        self._aead = AESGCM(key)
        self._mac_key = hashlib.sha256(b"edge_sync lookup key" + key).digest()

    @classmethod
    def load_or_create(cls, path: Path) -> DeviceKey:
        """Reads the key file, creating it (0600, atomically) on first use. Raises OSError/ValueError."""
        path = Path(path)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.write(fd, AESGCM.generate_key(bit_length=256))
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, path)
        os.chmod(path, 0o600)
        return cls(path.read_bytes())

    def seal(self, plain: bytes, context: bytes = b"") -> bytes:
        """nonce ‖ ciphertext ‖ tag; ``context`` (e.g. a row id) is bound as associated data."""
        nonce = os.urandom(_NONCE)
        return nonce + self._aead.encrypt(nonce, plain, context or None)

    def open(self, sealed: bytes, context: bytes = b"") -> bytes:
        """Inverse of :meth:`seal`; raises cryptography.exceptions.InvalidTag when tampered."""
        return self._aead.decrypt(sealed[:_NONCE], sealed[_NONCE:], context or None)

    def seal_json(self, obj: Any, context: bytes = b"") -> bytes:
        return self.seal(json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode(), context)

    def open_json(self, sealed: bytes, context: bytes = b"") -> Any:
        return json.loads(self.open(sealed, context))

    def lookup_id(self, *parts: str) -> str:
        """A keyed hash to index personal data (e.g. an applicant's cases) without storing it in clear."""
        return hmac.new(self._mac_key, "\x1f".join(parts).encode(), hashlib.sha256).hexdigest()


def canonical_json(obj: Mapping[str, Any]) -> bytes:
    """The contract's signing form: keys sorted, no spaces, UTF-8, ``sig`` left out."""
    body = {k: v for k, v in obj.items() if k != "sig"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def load_public_keys(keys: Mapping[str, str]) -> dict[str, Ed25519PublicKey]:
    """{key_id: base64 raw 32 bytes} → key objects. Raises ValueError on a malformed key."""
    return {kid: Ed25519PublicKey.from_public_bytes(base64.b64decode(b64, validate=True))
            for kid, b64 in keys.items()}


def verify_signed(obj: Mapping[str, Any], keys: Mapping[str, Ed25519PublicKey]) -> str:
    """Checks ``obj['sig']`` by ``keys[obj['key_id']]`` over the canonical JSON; returns the key id.

    Raises SignatureError when unsigned or when the signature is wrong, UnknownKey (a SignatureError)
    when signed by a key id not in ``keys``."""
    sig, key_id = obj.get("sig"), obj.get("key_id")
    if not isinstance(sig, str) or not sig:
        raise SignatureError("unsigned")
    if not isinstance(key_id, str) or key_id not in keys:
        raise UnknownKey(f"unknown key id {str(key_id)[:40]!r}")
    try:
        raw = base64.b64decode(sig, validate=True)
        keys[key_id].verify(raw, canonical_json(obj))
    except (InvalidSignature, ValueError) as exc:
        raise SignatureError("bad signature") from exc
    return key_id
