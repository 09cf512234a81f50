"""The terminal's TOML configuration for a simulated hall: device ports of the running simulators, the
local broker, the sample catalog and the central simulator's public keys (kiosk/config.py schema plus
edge_sync's ``[sync]`` keys)."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from simulators.hall.stack import Hall

# Technician PIN of the simulated terminal's maintenance page (printed by ``kiosk-sim hall``).
MAINTENANCE_PIN = "246810"
SITE_NAME = "示例市政务服务中心（模拟大厅）"


def central_public_keys(keys_dir: Path) -> tuple[dict[str, str], dict[str, str]]:
    """(command keys, catalog keys) as ``{key_id: base64 raw 32 bytes}`` from the central simulator's
    keys directory (``<key_id>.pub``, one line each). Catalog keys are those named ``cat-…``; update keys
    (``upd-…``) are neither (see ``update_public_keys``)."""
    commands: dict[str, str] = {}
    catalogs: dict[str, str] = {}
    for pub in sorted(keys_dir.glob("*.pub")):
        if pub.stem.startswith("upd"):
            continue
        key = pub.read_text(encoding="ascii").strip()
        (catalogs if pub.stem.startswith("cat") else commands)[pub.stem] = key
    return commands, catalogs


def update_public_keys(keys_dir: Path) -> dict[str, str]:
    """The update bundle keys (``upd-…``) of the central simulator's keys directory."""
    return {pub.stem: pub.read_text(encoding="ascii").strip() for pub in sorted(keys_dir.glob("upd*.pub"))}


def _value(value: Any) -> str:
    """A TOML value: JSON's string escapes are valid in TOML basic strings."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_value(v)}" for k, v in value.items()) + " }"
    return json.dumps(str(value), ensure_ascii=False)


def to_toml(tables: dict[str, dict[str, Any]]) -> str:
    lines = ["# Written by `kiosk-sim hall` for the simulated hall; every port is a local simulator."]
    for name, body in tables.items():
        lines.append(f"\n[{name}]")
        lines += [f"{key} = {_value(value)}" for key, value in body.items()]
    return "\n".join(lines) + "\n"


def terminal_tables(hall: Hall, port: int, camera: str = "sim:page", ack_wait_s: float = 5.0
                    ) -> dict[str, dict[str, Any]]:
    """The configuration tables for ``hall`` (a device whose simulator is missing gets "")."""
    from simulators.hall.stack import DEVICE_ID, SITE_ID

    assert hall.broker is not None
    command_keys, catalog_keys = central_public_keys(hall.keys_dir)
    return {
        "device": {"id": DEVICE_ID, "site_id": SITE_ID, "site_name": SITE_NAME, "hotline": "12345",
                   "data_dir": str(hall.terminal_dir), "mode": "hall", "self_service": True},
        "devices": {"idcard": hall.port("idcard") or "", "scanner": hall.port("scanner") or "",
                    "printer": hall.port("printer") or "", "camera": camera,
                    "ioboard": hall.port("ioboard") or ""},
        "printer": {"profile": "generic", "paper": 80},
        # Long enough that a technician playing the hall by hand is not reset mid-flow.
        "session": {"warn_after_s": 100.0, "reset_after_s": 120.0, "agent_warn_after_s": 540.0,
                    "agent_reset_after_s": 600.0, "ack_wait_s": ack_wait_s},
        "web": {"host": "127.0.0.1", "port": port,
                "maintenance_pin_sha256": hashlib.sha256(MAINTENANCE_PIN.encode()).hexdigest()},
        "catalog": {"file": str(hall.catalog)},
        # The simulated hall lives on a developer's disk: do not refuse cases below 200 MB free.
        "sync": {"mqtt_url": hall.broker.url, "enabled": True, "command_keys": command_keys,
                 "catalog_keys": catalog_keys, "update_keys": update_public_keys(hall.keys_dir),
                 "min_free_mb": 20.0, "reconnect_max_s": 2.0},
    }


def write_terminal_config(hall: Hall, port: int, camera: str = "sim:page", ack_wait_s: float = 5.0) -> Path:
    path = hall.workdir / "terminal.toml"
    path.write_text(to_toml(terminal_tables(hall, port, camera, ack_wait_s)), encoding="utf-8")
    return path
