"""``kiosk doctor`` against real device simulators: what works is OK, what fails says what to fix."""
from __future__ import annotations

import argparse
import json

import pytest

from kiosk.cli import doctor
from tests.support.simproc import SimProcess

pytestmark = pytest.mark.integration


def run_doctor(monkeypatch, capsys, env: dict[str, str]) -> tuple[int, dict[str, dict]]:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("KIOSK_CONFIG", raising=False)
    code = doctor.run(argparse.Namespace(config=None, json=True, timeout=3.0))
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    return code, {r["check"]: r for r in rows}


def test_doctor_with_simulated_devices(monkeypatch, capsys, tmp_path, identities_file, catalog_file):
    with SimProcess("idcard", "--identities", str(identities_file)) as idcard, \
         SimProcess("printer", "--out", str(tmp_path / "out"), "--paper-state", "out") as printer:
        code, found = run_doctor(monkeypatch, capsys, {
            "KIOSK_DEVICES_IDCARD": idcard.port, "KIOSK_DEVICES_PRINTER": printer.port,
            "KIOSK_DEVICE_DATA_DIR": str(tmp_path), "KIOSK_CATALOG_FILE": str(catalog_file),
            "KIOSK_MQTT_URL": "mqtt://127.0.0.1:1"})
    assert found["idcard"]["level"] == "ok"
    assert found["printer"]["level"] == "fail" and "paper=out" in found["printer"]["detail"]
    assert "add paper" in found["printer"]["fix"]
    assert found["camera"]["level"] == "skip"
    assert found["broker"]["level"] == "warn"
    assert found["catalog"]["level"] == "ok" and "18 items" in found["catalog"]["detail"]
    assert found["disk"]["level"] == "ok"
    assert code == 1


def test_doctor_reports_a_bad_config(monkeypatch, capsys):
    code, found = run_doctor(monkeypatch, capsys, {"KIOSK_WEB_HOST": "0.0.0.0"})
    assert code == 1 and found["config"]["level"] == "fail" and "loopback" in found["config"]["detail"]
