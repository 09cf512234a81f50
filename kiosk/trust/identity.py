"""Device identity (设备身份): the terminal's own private key and the certificate request whose common name
is its device id, as the contract's TLS rule requires (CN = device id = MQTT user name)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from edge_sync.config import DEVICE_ID_RE
from kiosk.trust.pem import (
    PUBLIC_MODE,
    AlreadyExists,
    BadMaterial,
    TrustError,
    load_key,
    new_private_key,
    write_file,
    write_key,
)

DEVICE_KEY = "device.key"
DEVICE_CSR = "device.csr"
DEVICE_CERT = "device.crt"
CA_COPY = "ca.crt"
# Broker-side identities that are not terminals (the central platform): never shaped like a device id.
SERVICE_NAME_RE = re.compile(r"^[a-z][a-z0-9_.-]{0,63}$")


class BadDeviceId(TrustError, ValueError):
    """The device id does not match ``^[A-Z]{3}-[0-9]{6}-[0-9]{4}$``."""


def check_device_id(device_id: str) -> str:
    """Returns ``device_id`` unchanged; raises BadDeviceId when it is not a contract device id."""
    if not isinstance(device_id, str) or not DEVICE_ID_RE.fullmatch(device_id):
        raise BadDeviceId(f"device id {device_id!r} does not match AAA-000000-0000 (e.g. KSK-511902-0007)")
    return device_id


def check_service_name(name: str) -> str:
    """Returns ``name``; raises TrustError unless it is a lower-case service name (``central``)."""
    if not isinstance(name, str) or not SERVICE_NAME_RE.fullmatch(name):
        raise TrustError(f"service identity {name!r}: 1-64 lower-case letters, digits, '.', '_' or '-'")
    return name


def common_name(name: x509.Name) -> str:
    """The single CN of ``name``; raises BadMaterial when there is none or more than one."""
    cns = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    if len(cns) != 1:
        raise BadMaterial(f"expected exactly one CN, found {len(cns)}")
    return str(cns[0].value)


@dataclass(frozen=True)
class DeviceFiles:
    """Where a provisioned terminal's material lies; ``cert``/``ca`` are None until signed."""

    device_id: str
    key: Path
    csr: Path
    cert: Path | None = None
    ca: Path | None = None

    def sync_settings(self) -> dict[str, str]:
        """The ``[sync]`` keys of the kiosk configuration that point at these files."""
        out = {"key_file": str(self.key)}
        if self.cert:
            out["cert_file"] = str(self.cert)
        if self.ca:
            out["ca_file"] = str(self.ca)
        return out


def provision_device(device_id: str, out_dir: Path, force: bool = False, reuse_key: bool = False) -> DeviceFiles:
    """Creates ``out_dir/device.key`` (EC P-256, mode 0600) and ``out_dir/device.csr`` (CN = device id).

    An existing key is never replaced unless ``force``; with ``reuse_key`` a new request is made for the
    key already there (certificate renewal). Raises BadDeviceId, AlreadyExists, BadMaterial, OSError."""
    check_device_id(device_id)
    out_dir = Path(out_dir)
    key_path = out_dir / DEVICE_KEY
    if key_path.exists() and reuse_key and not force:
        key = load_key(key_path)
    elif key_path.exists() and not force:
        raise AlreadyExists(f"{key_path} exists: this device already has a key "
                            "(--reuse-key to make a new request for it, --force to replace it)")
    else:
        key = new_private_key()
        write_key(key_path, key, force=force)
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, device_id)]))
           .sign(key, hashes.SHA256()))
    csr_path = write_file(out_dir / DEVICE_CSR, csr.public_bytes(serialization.Encoding.PEM), PUBLIC_MODE,
                          force=True)
    return DeviceFiles(device_id, key_path, csr_path)


def checked_request(csr: x509.CertificateSigningRequest, expected_cn: str | None = None) -> str:
    """The device id a certificate request asks for, after checking its self-signature and CN.

    Raises BadMaterial (bad signature, CN count, mismatch) or BadDeviceId."""
    if not csr.is_signature_valid:
        raise BadMaterial("certificate request signature does not verify")
    cn = check_device_id(common_name(csr.subject))
    if expected_cn is not None and cn != expected_cn:
        raise BadMaterial(f"certificate request is for {cn!r}, not {expected_cn!r}")
    return cn
