"""A local certificate authority for development and tests: signs terminals' requests (client auth, CN =
device id), the broker's server certificate (SAN localhost/127.0.0.1) and the central platform's identity.
Production terminals are signed by the platform's own CA; only the request side (identity.py) ships."""
from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kiosk.trust.identity import CA_COPY, DEVICE_CERT, DeviceFiles, check_service_name, checked_request
from kiosk.trust.pem import (
    AlreadyExists,
    BadMaterial,
    load_cert,
    load_csr,
    load_key,
    new_private_key,
    write_cert,
    write_key,
)

CA_KEY = "ca.key"
CA_CERT = "ca.crt"
SERVER_KEY = "server.key"
SERVER_CERT = "server.crt"
DEFAULT_SERVER_NAMES = ("localhost", "127.0.0.1")
# Certificates start a little in the past so that a terminal whose clock lags (no battery clock) accepts them.
BACKDATE = dt.timedelta(hours=1)


@dataclass(frozen=True)
class Issued:
    """A key and certificate written by the CA."""

    key: Path
    cert: Path


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


class LocalCA:
    """A CA kept as ``ca.key`` (0600) and ``ca.crt`` in one directory. Build with :meth:`create` or :meth:`load`."""

    def __init__(self, directory: Path, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate) -> None:
        self.directory = Path(directory)
        self.key = key
        self.cert = cert

    @property
    def cert_path(self) -> Path:
        return self.directory / CA_CERT

    @classmethod
    def create(cls, directory: Path, name: str = "Kiosk development CA", days: int = 3650,
               force: bool = False) -> LocalCA:
        """Makes a new self-signed CA. Raises AlreadyExists when ``ca.key`` is there and not ``force``."""
        directory = Path(directory)
        if (directory / CA_KEY).exists() and not force:
            raise AlreadyExists(f"{directory / CA_KEY} exists; pass --force to replace the CA")
        key = new_private_key()
        now = dt.datetime.now(dt.UTC)
        ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
        cert = (x509.CertificateBuilder()
                .subject_name(_name(name)).issuer_name(_name(name))
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - BACKDATE).not_valid_after(now + dt.timedelta(days=days))
                .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False,
                                             key_encipherment=False, data_encipherment=False, key_agreement=False,
                                             key_cert_sign=True, crl_sign=True, encipher_only=False,
                                             decipher_only=False), critical=True)
                .add_extension(ski, critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
                .sign(key, hashes.SHA256()))
        write_key(directory / CA_KEY, key, force=force)
        write_cert(directory / CA_CERT, cert)
        return cls(directory, key, cert)

    @classmethod
    def load(cls, directory: Path) -> LocalCA:
        """Raises BadMaterial when ``ca.key`` or ``ca.crt`` is missing or unreadable."""
        directory = Path(directory)
        return cls(directory, load_key(directory / CA_KEY), load_cert(directory / CA_CERT))

    def _leaf(self, cn: str, public_key: ec.EllipticCurvePublicKey, usage: x509.ObjectIdentifier, days: float,
              san: x509.SubjectAlternativeName | None = None) -> x509.Certificate:
        now = dt.datetime.now(dt.UTC)
        builder = (x509.CertificateBuilder()
                   .subject_name(_name(cn)).issuer_name(self.cert.subject)
                   .public_key(public_key).serial_number(x509.random_serial_number())
                   .not_valid_before(now - BACKDATE).not_valid_after(now + dt.timedelta(days=days))
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                   .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                                key_encipherment=False, data_encipherment=False,
                                                key_agreement=True, key_cert_sign=False, crl_sign=False,
                                                encipher_only=False, decipher_only=False), critical=True)
                   .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
                   .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                                  critical=False))
        if san is not None:
            builder = builder.add_extension(san, critical=False)
        return builder.sign(self.key, hashes.SHA256())

    def sign_device(self, csr: x509.CertificateSigningRequest, expected_id: str | None = None,
                    days: float = 730) -> x509.Certificate:
        """A client certificate for a terminal's request. Only the CN (a valid device id) is taken from the
        request; every extension is the CA's own choice. Raises BadMaterial or BadDeviceId."""
        device_id = checked_request(csr, expected_id)
        public_key = csr.public_key()
        if not isinstance(public_key, ec.EllipticCurvePublicKey):
            raise BadMaterial("certificate request key is not an EC key")
        return self._leaf(device_id, public_key, ExtendedKeyUsageOID.CLIENT_AUTH, days)

    def sign_provisioned(self, files: DeviceFiles, days: int = 730) -> DeviceFiles:
        """Signs a provisioned terminal's ``device.csr`` into ``device.crt`` beside it and copies the CA
        certificate there as ``ca.crt`` (the broker's trust anchor for the terminal). Raises BadMaterial."""
        cert = self.sign_device(load_csr(files.csr), expected_id=files.device_id, days=days)
        out = Path(files.csr).parent
        write_cert(out / DEVICE_CERT, cert)
        write_cert(out / CA_COPY, self.cert)
        return replace(files, cert=out / DEVICE_CERT, ca=out / CA_COPY)

    def issue_server(self, out_dir: Path, names: Iterable[str] = DEFAULT_SERVER_NAMES, days: int = 825,
                     force: bool = True) -> Issued:
        """The broker's key and certificate with ``names`` as SAN (IP addresses as IP entries)."""
        names = list(names)
        entries: list[x509.GeneralName] = []
        for item in names:
            try:
                entries.append(x509.IPAddress(ipaddress.ip_address(item)))
            except ValueError:
                entries.append(x509.DNSName(item))
        key = new_private_key()
        cert = self._leaf(names[0], key.public_key(), ExtendedKeyUsageOID.SERVER_AUTH, days,
                          x509.SubjectAlternativeName(entries))
        return self._write(Path(out_dir), SERVER_KEY, SERVER_CERT, key, cert, force)

    def issue_service(self, name: str, out_dir: Path, days: int = 825, force: bool = False) -> Issued:
        """A client identity for a platform service (CN ``central``): ``out_dir/NAME.key`` and ``NAME.crt``.
        Raises TrustError on a bad name, AlreadyExists when the key is there and not ``force``."""
        check_service_name(name)
        key = new_private_key()
        cert = self._leaf(name, key.public_key(), ExtendedKeyUsageOID.CLIENT_AUTH, days)
        return self._write(Path(out_dir), f"{name}.key", f"{name}.crt", key, cert, force)

    def _write(self, out_dir: Path, key_name: str, cert_name: str, key: ec.EllipticCurvePrivateKey,
               cert: x509.Certificate, force: bool) -> Issued:
        key_path = write_key(out_dir / key_name, key, force=force)
        return Issued(key_path, write_cert(out_dir / cert_name, cert))
