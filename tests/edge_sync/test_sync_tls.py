"""TLS with a client certificate (CN = device id) against a real mosquitto TLS listener."""
from __future__ import annotations

import datetime as dt
import ipaddress
import shutil
import tempfile
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.edge_sync.central_peer import CentralPeer
from tests.edge_sync.conftest import DEVICE, sample_case
from tests.support.broker import Broker
from tests.support.net import free_port

pytestmark = pytest.mark.integration


def _cert(name: str, issuer_key, issuer_name, key, ca: bool = False, ip: str | None = None) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    builder = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
               .issuer_name(issuer_name or x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ip:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))]),
                                        critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _write(path: Path, cert=None, key=None) -> str:
    if cert is not None:
        path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    else:
        path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    path.chmod(0o644)
    return str(path)


@pytest.fixture
def cert_dir():
    # mosquitto started as root reads its files as the "mosquitto" user: a world-readable directory.
    path = Path(tempfile.mkdtemp(prefix="edge-sync-tls-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_mqtts_with_client_certificate(cert_dir, make_engine):
    tmp_path = cert_dir
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _cert("test-ca", ca_key, None, ca_key, ca=True)
    server_key, client_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    server = _cert("broker", ca_key, ca.subject, server_key, ip="127.0.0.1")
    client = _cert(DEVICE, ca_key, ca.subject, client_key)
    files = {"ca": _write(tmp_path / "ca.pem", cert=ca), "scert": _write(tmp_path / "s.pem", cert=server),
             "skey": _write(tmp_path / "s.key", key=server_key), "ccert": _write(tmp_path / "c.pem", cert=client),
             "ckey": _write(tmp_path / "c.key", key=client_key)}
    tls_port = free_port()
    conf = (f"listener {tls_port} 127.0.0.1\ncafile {files['ca']}\ncertfile {files['scert']}\n"
            f"keyfile {files['skey']}\nrequire_certificate true\nuse_identity_as_username true\n")
    with Broker(extra_conf=conf) as broker, CentralPeer(broker.url) as peer:
        engine = make_engine(f"mqtts://127.0.0.1:{tls_port}", ca_file=files["ca"], cert_file=files["ccert"],
                             key_file=files["ckey"])
        sub = engine.submit_case(sample_case())
        assert engine.wait_case_ack(sub.case_id, 20)["result"] == "accepted"
        assert peer.cases[sub.case_id]["device"] == DEVICE
