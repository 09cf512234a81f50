"""The device registry (设备台账): which terminals exist, in which hall (site), with which certificates, and
whether they are active or revoked. It is what the broker's authorisation is generated from (mosquitto
ACL, EMQX rules) and what the CA's revocation list lists, so that revoking a terminal is one change here
followed by one broker reload.

Kept as one JSON file, written atomically: ``{"devices": {ID: {"site", "status", "enrolled_at",
"revoked_at", "certs": [{"serial", "not_after", "sha256"}]}}}`` (serials as lower-case hex)."""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from kiosk.trust.identity import check_device_id, common_name
from kiosk.trust.mosquitto import SITE_ID_RE
from kiosk.trust.pem import PUBLIC_MODE, BadMaterial, TrustError, write_file

ACTIVE = "active"
REVOKED = "revoked"


class RegistryError(TrustError, ValueError):
    """The registry file is unreadable, or an operation does not fit the device's state."""


@dataclass(frozen=True)
class CertRecord:
    serial: str
    not_after: str
    sha256: str

    @classmethod
    def of(cls, cert: x509.Certificate) -> CertRecord:
        return cls(format(cert.serial_number, "x"), cert.not_valid_after_utc.isoformat(timespec="seconds"),
                   cert.fingerprint(hashes.SHA256()).hex())


@dataclass
class DeviceRecord:
    site: str
    status: str = ACTIVE
    enrolled_at: str = ""
    revoked_at: str | None = None
    certs: list[CertRecord] = field(default_factory=list)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class Registry:
    """Load with :meth:`load` (a missing file is an empty registry), change, then :meth:`save`."""

    def __init__(self, path: Path, devices: dict[str, DeviceRecord] | None = None) -> None:
        self.path = Path(path)
        self.devices = devices or {}

    @classmethod
    def load(cls, path: Path) -> Registry:
        """Raises RegistryError on an unreadable or ill-shaped file."""
        path = Path(path)
        if not path.exists():
            return cls(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            devices = {check_device_id(k): DeviceRecord(site=str(v["site"]), status=str(v.get("status", ACTIVE)),
                                                        enrolled_at=str(v.get("enrolled_at", "")),
                                                        revoked_at=v.get("revoked_at"),
                                                        certs=[CertRecord(**c) for c in v.get("certs", [])])
                       for k, v in data["devices"].items()}
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise RegistryError(f"cannot read registry {path}: {exc}") from exc
        return cls(path, devices)

    def save(self) -> Path:
        doc: dict[str, Any] = {"devices": {k: {"site": d.site, "status": d.status, "enrolled_at": d.enrolled_at,
                                               "revoked_at": d.revoked_at,
                                               "certs": [c.__dict__ for c in d.certs]}
                                           for k, d in sorted(self.devices.items())}}
        return write_file(self.path, json.dumps(doc, ensure_ascii=False, indent=1).encode(), PUBLIC_MODE, force=True)

    # -- lifecycle ------------------------------------------------------------------------------------
    def enrol(self, device_id: str, site: str, cert: x509.Certificate) -> DeviceRecord:
        """Adds a terminal with its first certificate (CN must be its id). A revoked id is not enrolled
        again: a stolen terminal's id stays refused. Raises RegistryError, BadMaterial, BadDeviceId."""
        check_device_id(device_id)
        if not SITE_ID_RE.fullmatch(site or ""):
            raise RegistryError(f"site {site!r}: 1-64 letters, digits, '-', '_' or '.'")
        self._check_cn(device_id, cert)
        known = self.devices.get(device_id)
        if known is not None and known.status == REVOKED:
            raise RegistryError(f"{device_id} was revoked on {known.revoked_at}: enrol it under a new id")
        record = known or DeviceRecord(site=site, enrolled_at=_now())
        record.site = site
        if CertRecord.of(cert) not in record.certs:
            record.certs.append(CertRecord.of(cert))
        self.devices[device_id] = record
        return record

    def renewed(self, device_id: str, cert: x509.Certificate) -> DeviceRecord:
        """Records a renewed certificate of an active terminal (the old one stays valid until it expires,
        so the terminal switches over without a gap). Raises RegistryError, BadMaterial."""
        record = self.active(device_id)
        self._check_cn(device_id, cert)
        if CertRecord.of(cert) not in record.certs:
            record.certs.append(CertRecord.of(cert))
        return record

    def revoke(self, device_id: str) -> DeviceRecord:
        """Marks a terminal revoked: its certificates go into the CRL, its ACL rules are dropped."""
        record = self.devices.get(check_device_id(device_id))
        if record is None:
            raise RegistryError(f"{device_id} is not enrolled")
        if record.status != REVOKED:
            record.status, record.revoked_at = REVOKED, _now()
        return record

    def active(self, device_id: str) -> DeviceRecord:
        record = self.devices.get(device_id)
        if record is None or record.status != ACTIVE:
            raise RegistryError(f"{device_id} is not an active enrolled terminal")
        return record

    # -- what the broker is generated from ------------------------------------------------------------
    def sites(self) -> dict[str, str]:
        """{device id: site} of the active terminals only."""
        return {k: d.site for k, d in self.devices.items() if d.status == ACTIVE}

    def revoked_serials(self) -> list[int]:
        return sorted(int(c.serial, 16) for d in self.devices.values() if d.status == REVOKED for c in d.certs)

    @staticmethod
    def _check_cn(device_id: str, cert: x509.Certificate) -> None:
        if common_name(cert.subject) != device_id:
            raise BadMaterial(f"certificate CN {common_name(cert.subject)!r} is not {device_id}")


def write_crl(ca: Any, serials: list[int], path: Path, days: int = 7) -> Path:
    """The CA's certificate revocation list of ``serials`` (PEM), as mosquitto's ``crlfile`` reads it.
    ``ca`` is a LocalCA (or anything with ``.key`` and ``.cert``). Re-issue it before ``days`` pass."""
    now = dt.datetime.now(dt.UTC)
    builder = (x509.CertificateRevocationListBuilder().issuer_name(ca.cert.subject)
               .last_update(now - dt.timedelta(minutes=5)).next_update(now + dt.timedelta(days=days)))
    for serial in serials:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(now).build())
    crl = builder.sign(ca.key, hashes.SHA256())
    return write_file(Path(path), crl.public_bytes(serialization.Encoding.PEM), PUBLIC_MODE, force=True)
