"""The generated mosquitto configuration and ACL text, and what the generator refuses to write.
(Whether mosquitto enforces it is test_trust_acl_mosquitto.py.)"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from kiosk.cli.main import main as kiosk_main
from kiosk.trust import BadBrokerSettings, BadDeviceId, BrokerSettings, acl_text, write_broker_config
from tests.trust.tls_broker import Pki

DEVICES = {"KSK-511902-0007": "511902-HALL-01", "KSK-511903-0001": "511903-VILLAGE-02"}


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def test_acl_is_the_contract_rule() -> None:
    assert _lines(acl_text(DEVICES)) == [
        "pattern write gov/v1/up/%u/#",
        "pattern read gov/v1/down/%u/#",
        "pattern read gov/v1/catalog/#",
        "pattern read gov/v1/central/state/+",
        "user central",
        "topic read gov/v1/up/#",
        "topic read $share/central/gov/v1/up/#",
        "topic write gov/v1/down/#",
        "topic readwrite gov/v1/catalog/#",
        "topic write gov/v1/site/#",
        "topic write gov/v1/central/#",
        "user KSK-511902-0007",
        "topic read gov/v1/site/511902-HALL-01/#",
        "user KSK-511903-0001",
        "topic read gov/v1/site/511903-VILLAGE-02/#",
    ]


def test_conf_requires_certificates_on_a_loopback_tls_listener(pki: Pki, tmp_path: Path) -> None:
    settings = BrokerSettings(port=18883, ca_file=pki.ca.cert_path, cert_file=pki.server.cert,
                              key_file=pki.server.key, devices=DEVICES)
    files = write_broker_config(settings, tmp_path)
    lines = _lines(files.conf.read_text())
    for expected in ("allow_anonymous false", "listener 18883 127.0.0.1", "require_certificate true",
                     "use_identity_as_username true", "use_username_as_clientid true", "tls_version tlsv1.2",
                     f"acl_file {files.acl.resolve()}", f"keyfile {pki.server.key.resolve()}"):
        assert expected in lines
    assert not any(line.startswith("password_file") for line in lines)


@pytest.mark.parametrize("devices, error", [
    ({"KSK-511902-0007": "HALL/#"}, BadBrokerSettings),       # a site id must not widen the topic
    ({"KSK-511902-0007": "+"}, BadBrokerSettings),
    ({"KSK-511902-0007": ""}, BadBrokerSettings),
    ({"ksk-1": "HALL"}, BadDeviceId),
    ({"KSK-511902-0007\nuser central": "HALL"}, BadDeviceId),  # no line injection into the ACL file
])
def test_generator_refuses_ids_that_would_widen_the_acl(pki: Pki, devices: dict, error: type) -> None:
    with pytest.raises(error):
        BrokerSettings(port=18883, ca_file=pki.ca.cert_path, cert_file=pki.server.cert, key_file=pki.server.key,
                       devices=devices)


def test_generator_refuses_bad_central_names_and_missing_files(pki: Pki, tmp_path: Path) -> None:
    with pytest.raises(BadBrokerSettings):
        BrokerSettings(port=1, ca_file=pki.ca.cert_path, cert_file=pki.server.cert, key_file=pki.server.key,
                       central_users=("central\ntopic readwrite #",))
    with pytest.raises(BadBrokerSettings):
        BrokerSettings(port=0, ca_file=pki.ca.cert_path, cert_file=pki.server.cert, key_file=pki.server.key)
    settings = BrokerSettings(port=1, ca_file=tmp_path / "none.crt", cert_file=pki.server.cert,
                              key_file=pki.server.key)
    with pytest.raises(BadBrokerSettings):
        write_broker_config(settings, tmp_path)


def test_cli_writes_conf_and_acl(pki: Pki, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    devices = tmp_path / "devices.json"
    devices.write_text(json.dumps(DEVICES))
    base = ["broker-config", "--out", str(tmp_path / "b"), "--ca", str(pki.ca.cert_path), "--cert",
            str(pki.server.cert), "--key", str(pki.server.key), "--port", "18883"]
    assert kiosk_main([*base, "--devices", str(devices), "--central-user", "central-1",
                       "--central-user", "central-2"]) == 0
    out = json.loads(capsys.readouterr().out)
    acl = Path(out["acl"]).read_text()
    assert "user central-1" in acl and "user central-2" in acl and "user central\n" not in acl
    assert out["devices"] == 2
    devices.write_text('["not a map"]')
    assert kiosk_main([*base, "--devices", str(devices)]) == 1
