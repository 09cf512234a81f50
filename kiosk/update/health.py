"""The health window's judgement: the service's own ``/api/status`` read over loopback, compared with a
snapshot taken before the switch. A new version is healthy when its UI answers from a new process of
the expected version, sync is connected (if it was before), every device that worked before still
works, and the IO board runs the firmware of its slot (if the slot brings one)."""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

PROBE_TIMEOUT_S = 3.0


@dataclass(frozen=True)
class Snapshot:
    """What the service said about itself at one moment (``answered`` False: it did not answer)."""

    answered: bool
    boot: str | None = None
    version: str | None = None
    online: bool = False
    devices: Mapping[str, bool] = field(default_factory=dict)
    firmware: str | None = None
    problem: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"answered": self.answered, "boot": self.boot, "version": self.version, "online": self.online,
                "devices": dict(self.devices), "firmware": self.firmware}

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Snapshot:
        devices = raw.get("devices")
        return cls(bool(raw.get("answered")), raw.get("boot"), raw.get("version"), bool(raw.get("online")),
                   {str(k): bool(v) for k, v in devices.items()} if isinstance(devices, dict) else {},
                   raw.get("firmware"))


def working_devices(status: Mapping[str, Any]) -> dict[str, bool]:
    """Which devices work, from the fields of ``/api/status`` (absent devices are left out)."""
    out: dict[str, bool] = {}
    printer = status.get("printer")
    if isinstance(printer, dict) and printer.get("installed"):
        out["printer"] = bool(printer.get("online")) and not printer.get("error")
    for name in ("idcard", "scanner", "camera"):
        value = status.get(name)
        if isinstance(value, str) and value != "absent":
            out[name] = value == "ok"
    update = status.get("update")
    board = update.get("ioboard") if isinstance(update, dict) else None
    if isinstance(board, dict) and board.get("configured"):
        out["ioboard"] = bool(board.get("connected"))
    return out


def snapshot_of(status: Mapping[str, Any]) -> Snapshot:
    """A snapshot from a decoded ``/api/status`` answer."""
    update = status.get("update")
    board = update.get("ioboard") if isinstance(update, dict) else None
    firmware = board.get("firmware") if isinstance(board, dict) else None
    version = status.get("version")
    return Snapshot(True, str(status.get("boot")) if status.get("boot") is not None else None,
                    version if isinstance(version, str) else None, status.get("online") is True,
                    working_devices(status), firmware if isinstance(firmware, str) else None)


def probe(url: str, timeout: float = PROBE_TIMEOUT_S) -> Snapshot:
    """GET ``url`` (the service's ``/api/status``); a snapshot that says ``answered=False`` on any failure."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            status = json.loads(response.read(1024 * 1024).decode("utf-8"))
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return Snapshot(False, problem=f"the UI does not answer ({type(exc).__name__})")
    if not isinstance(status, dict):
        return Snapshot(False, problem="the UI answers with something else than a status object")
    return snapshot_of(status)


def problems(baseline: Snapshot, now: Snapshot, version: str, firmware: str | None) -> list[str]:
    """Why ``now`` is not yet healthy for ``version`` (empty: healthy). ``firmware`` is the firmware
    version the slot brings (None: it brings none)."""
    if not now.answered:
        return [now.problem or "the UI does not answer"]
    found = []
    if baseline.boot is not None and now.boot == baseline.boot:
        found.append("still the process from before the switch")
    if now.version != version:
        found.append(f"runs version {now.version!r}, expected {version}")
    if baseline.online and not now.online:
        found.append("sync is not connected (it was before)")
    for device, worked in sorted(baseline.devices.items()):
        if worked and not now.devices.get(device, False):
            found.append(f"{device} worked before and does not now")
    if firmware is not None and baseline.devices.get("ioboard") and now.firmware != firmware:
        found.append(f"IO board firmware {now.firmware!r}, the slot brings {firmware}")
    return found
