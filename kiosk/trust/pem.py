"""Writing and reading key material on disk: private keys are created with mode 0600 from the first byte,
and nothing existing is replaced unless the caller asks for it."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

PRIVATE_MODE = 0o600
PUBLIC_MODE = 0o644


class TrustError(Exception):
    """Base of the trust package's errors; the message is for a technician (English)."""


class AlreadyExists(TrustError):
    """A key or certificate file is already there and ``force`` was not given."""


class BadMaterial(TrustError):
    """A key, request or certificate cannot be read or does not meet the rules (wrong CN, bad signature)."""


def write_file(path: Path, data: bytes, mode: int, force: bool = False) -> Path:
    """Writes ``data`` atomically with ``mode`` (the temporary file has the mode before any byte is written,
    so a private key is never readable by others, not even for a moment).

    Raises AlreadyExists when ``path`` exists and ``force`` is false; OSError on I/O failure."""
    path = Path(path)
    if path.exists() and not force:
        raise AlreadyExists(f"{path} exists; pass --force to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def new_private_key() -> ec.EllipticCurvePrivateKey:
    """An EC P-256 key: what OpenSSL, mosquitto and every TLS 1.2 stack accept for client authentication."""
    return ec.generate_private_key(ec.SECP256R1())


def key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    # Unencrypted PKCS8: the service must read it unattended at boot; file mode 0600 protects it.
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def write_key(path: Path, key: ec.EllipticCurvePrivateKey, force: bool = False) -> Path:
    """Raises AlreadyExists (see :func:`write_file`)."""
    return write_file(path, key_pem(key), PRIVATE_MODE, force)


def write_cert(path: Path, cert: x509.Certificate, force: bool = True) -> Path:
    return write_file(path, cert.public_bytes(serialization.Encoding.PEM), PUBLIC_MODE, force)


def load_key(path: Path) -> ec.EllipticCurvePrivateKey:
    """Raises BadMaterial when the file is missing, unreadable or not an EC private key."""
    try:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise BadMaterial(f"cannot read private key {path}: {exc}") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise BadMaterial(f"{path}: expected an EC private key")
    return key


def load_cert(path: Path) -> x509.Certificate:
    """Raises BadMaterial when the file is missing or not a PEM certificate."""
    try:
        return x509.load_pem_x509_certificate(Path(path).read_bytes())
    except (OSError, ValueError) as exc:
        raise BadMaterial(f"cannot read certificate {path}: {exc}") from exc


def load_csr(path: Path) -> x509.CertificateSigningRequest:
    """Raises BadMaterial when the file is missing or not a PEM certificate request."""
    try:
        return x509.load_pem_x509_csr(Path(path).read_bytes())
    except (OSError, ValueError) as exc:
        raise BadMaterial(f"cannot read certificate request {path}: {exc}") from exc
