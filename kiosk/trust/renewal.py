"""Certificate renewal before expiry without downtime: the terminal keeps its key, asks for a new
certificate for it well before the old one runs out, and swaps the certificate file in one atomic
rename. The connection that is up stays up (TLS checks the certificate at the handshake only); the next
connection presents the new certificate. Keeping the key makes the swap one file, so there is no moment
at which key and certificate do not belong together."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from kiosk.trust.identity import check_device_id, common_name
from kiosk.trust.pem import BadMaterial, load_cert, load_key, write_cert

RENEW_BEFORE = dt.timedelta(days=30)


def time_left(cert_path: Path, now: dt.datetime | None = None) -> dt.timedelta:
    """How long the certificate at ``cert_path`` stays valid. Raises BadMaterial."""
    now = now or dt.datetime.now(dt.UTC)
    return load_cert(cert_path).not_valid_after_utc - now


def needs_renewal(cert_path: Path, before: dt.timedelta = RENEW_BEFORE) -> bool:
    return time_left(cert_path) <= before


def renewal_request(key_path: Path, cert_path: Path) -> x509.CertificateSigningRequest:
    """A request for the key already there, with the CN of the current certificate. Raises BadMaterial."""
    device_id = check_device_id(common_name(load_cert(cert_path).subject))
    return (x509.CertificateSigningRequestBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, device_id)]))
            .sign(load_key(key_path), hashes.SHA256()))


def renew(key_path: Path, cert_path: Path,
          sign: Callable[[x509.CertificateSigningRequest], x509.Certificate]) -> x509.Certificate:
    """Asks ``sign`` (the platform's CA) for a new certificate and installs it atomically once it checks
    out: same CN, same public key as the device key, valid now and longer than the old one. A refused or
    wrong answer leaves the old certificate in place. Raises BadMaterial."""
    old = load_cert(cert_path)
    new = sign(renewal_request(key_path, cert_path))
    pub = serialization.PublicFormat.SubjectPublicKeyInfo
    mine = load_key(key_path).public_key().public_bytes(serialization.Encoding.DER, pub)
    if new.public_key().public_bytes(serialization.Encoding.DER, pub) != mine:
        raise BadMaterial("renewed certificate is not for this device's key")
    if common_name(new.subject) != common_name(old.subject):
        raise BadMaterial("renewed certificate names another device")
    now = dt.datetime.now(dt.UTC)
    if not new.not_valid_before_utc <= now < new.not_valid_after_utc or \
            new.not_valid_after_utc <= old.not_valid_after_utc:
        raise BadMaterial("renewed certificate is not valid now or not longer than the old one")
    write_cert(cert_path, new)
    return new
