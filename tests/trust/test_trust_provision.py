"""Provisioning: device key (0600, never silently replaced), request with CN = device id, the local CA's
signatures and what it refuses to sign; through the library and through ``kiosk provision``."""
from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from kiosk.cli.main import main as kiosk_main
from kiosk.trust import (
    AlreadyExists,
    BadDeviceId,
    BadMaterial,
    LocalCA,
    common_name,
    load_cert,
    load_csr,
    provision_device,
)

DEVICE = "KSK-511902-0007"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> LocalCA:
    return LocalCA.create(tmp_path_factory.mktemp("ca"))


def test_device_key_is_private_and_request_names_the_device(tmp_path: Path) -> None:
    files = provision_device(DEVICE, tmp_path)
    assert _mode(files.key) == 0o600
    key = serialization.load_pem_private_key(files.key.read_bytes(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1"
    csr = load_csr(files.csr)
    assert csr.is_signature_valid
    assert common_name(csr.subject) == DEVICE
    assert csr.public_key() == key.public_key()


@pytest.mark.parametrize("bad", ["ksk-511902-0007", "KSK-51190-0007", "KSK-511902-00071", "KSK_511902_0007",
                                 "KSK-511902-0007\n", "", "central", "KSK/511902/0007"])
def test_malformed_device_ids_are_refused(tmp_path: Path, bad: str) -> None:
    with pytest.raises(BadDeviceId):
        provision_device(bad, tmp_path)
    assert not any(tmp_path.iterdir())


def test_existing_key_is_never_replaced_without_force(tmp_path: Path) -> None:
    first = provision_device(DEVICE, tmp_path).key.read_bytes()
    with pytest.raises(AlreadyExists):
        provision_device(DEVICE, tmp_path)
    assert (tmp_path / "device.key").read_bytes() == first
    renewed = provision_device(DEVICE, tmp_path, reuse_key=True)
    assert renewed.key.read_bytes() == first
    replaced = provision_device(DEVICE, tmp_path, force=True)
    assert replaced.key.read_bytes() != first and _mode(replaced.key) == 0o600


def test_ca_signs_a_client_certificate_for_the_device(ca: LocalCA, tmp_path: Path) -> None:
    files = ca.sign_provisioned(provision_device(DEVICE, tmp_path))
    assert files.cert is not None and files.ca is not None
    cert = load_cert(files.cert)
    cert.verify_directly_issued_by(ca.cert)
    assert common_name(cert.subject) == DEVICE
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    assert files.ca.read_bytes() == ca.cert_path.read_bytes()
    assert _mode(ca.directory / "ca.key") == 0o600


def _csr(cn_values: list[str], key=None) -> x509.CertificateSigningRequest:
    key = key or ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn) for cn in cn_values])
    return x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, hashes.SHA256())


@pytest.mark.parametrize("cns, error", [(["central"], BadDeviceId), ([DEVICE, "KSK-511902-0008"], BadMaterial),
                                        ([], BadMaterial), (["KSK-511902-0008"], BadMaterial)])
def test_ca_refuses_requests_that_are_not_for_this_device(ca: LocalCA, cns: list[str], error: type) -> None:
    with pytest.raises(error):
        ca.sign_device(_csr(cns), expected_id=DEVICE)


def test_ca_refuses_a_request_whose_signature_does_not_verify(ca: LocalCA) -> None:
    good = _csr([DEVICE]).public_bytes(serialization.Encoding.DER)
    # Flip one bit of the signature (the DER ends with it).
    forged = x509.load_der_x509_csr(good[:-1] + bytes([good[-1] ^ 1]))
    with pytest.raises(BadMaterial):
        ca.sign_device(forged)


def test_server_certificate_names_loopback(ca: LocalCA, tmp_path: Path) -> None:
    cert = load_cert(ca.issue_server(tmp_path).cert)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]


def test_cli_provisions_ca_device_and_central(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert kiosk_main(["provision", "ca", "--out", str(tmp_path / "ca")]) == 0
    out = json.loads(capsys.readouterr().out)
    assert Path(out["server_cert"]).is_file() and _mode(Path(out["server_key"])) == 0o600
    args = ["provision", "--device-id", DEVICE, "--out", str(tmp_path / "dev"), "--ca-dir", str(tmp_path / "ca")]
    assert kiosk_main([*args, "--sign"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["signed"] and set(out["sync"]) == {"key_file", "cert_file", "ca_file"}
    load_cert(Path(out["sync"]["cert_file"])).verify_directly_issued_by(load_cert(tmp_path / "ca" / "ca.crt"))
    assert kiosk_main(args) == 1          # the key exists: refused, with a message for the technician
    assert "--force" in capsys.readouterr().err
    assert kiosk_main(["provision", "service", "--ca-dir", str(tmp_path / "ca"), "--out", str(tmp_path)]) == 0
    assert common_name(load_cert(Path(json.loads(capsys.readouterr().out)["cert"])).subject) == "central"
    assert kiosk_main(["provision", "--device-id", "bad", "--out", str(tmp_path / "x")]) == 1
