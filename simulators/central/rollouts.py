"""Rollouts of update bundles (contract addendum, "Updates"): central publishes a bundle as a downlink
blob and sends each chosen terminal a signed ``update_install`` command — to a list of devices, or to a
percentage of the devices it knows, chosen by a stable hash of rollout and device so that a larger
percentage later includes the earlier ones. Progress comes back as ``update.progress`` /
``update.result`` events (and the commands' ``cmd.result``); each change is printed as a JSON line."""
from __future__ import annotations

import hashlib
import json
import math
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simulators.central.commands import build_command
from simulators.central.context import Outgoing
from simulators.central.contract import DEVICE_RE, down_topic
from simulators.central.downblobs import CHUNK_SIZE, publish_blob
from simulators.central.release import read_manifest
from simulators.central.signing import KeyRing
from simulators.central.update_events import FINAL

INSTALL = "update_install"
ROLLBACK = "update_rollback"
COMMAND_LIFETIME_S = 3600.0


@dataclass
class DeviceProgress:
    """Where one terminal of a rollout stands."""

    device: str
    cmd_id: str
    stage: str = "sent"
    result: str | None = None
    percent: int | None = None
    detail: str = ""
    running: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"cmd_id": self.cmd_id, "stage": self.stage, "result": self.result, "percent": self.percent,
                "detail": self.detail, "running": self.running}


@dataclass
class Rollout:
    rollout_id: str
    version: str
    blob: dict[str, Any]
    devices: dict[str, DeviceProgress] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        results = [d.result for d in self.devices.values()]
        return {"event": "rollout.status", "rollout_id": self.rollout_id, "version": self.version,
                "devices": {name: d.to_json() for name, d in sorted(self.devices.items())},
                "done": sum(r is not None for r in results), "installed": results.count("installed")}


def select_devices(known: Iterable[str], percent: float, rollout_id: str) -> list[str]:
    """``percent`` of ``known`` (at least one when there is any and percent > 0), the same ones for the
    same rollout id; a device chosen at 10 % is also chosen at 50 %."""
    devices = sorted(set(known))
    if not devices or percent <= 0:
        return []
    ranked = sorted(devices, key=lambda d: hashlib.sha256(f"{rollout_id}:{d}".encode()).hexdigest())
    return sorted(ranked[:max(1, math.ceil(len(devices) * min(percent, 100.0) / 100.0))])


class Rollouts:
    """The rollouts this central instance started (in memory; the events table keeps what came back)."""

    def __init__(self, keys: KeyRing, folder: Path, chunk_size: int = CHUNK_SIZE) -> None:
        self.keys, self.folder, self.chunk_size = keys, folder, chunk_size
        self.items: dict[str, Rollout] = {}
        self._by_cmd: dict[str, tuple[str, str]] = {}
        self._lock = threading.Lock()

    def start(self, publish: Callable[[Outgoing], None], bundle: Path, devices: list[str],
              rollout_id: str | None = None, expires_in: float = COMMAND_LIFETIME_S) -> Rollout:
        """Publishes ``bundle`` and sends ``update_install`` to each device. Raises ValueError (ReleaseError)
        on a file that is not a bundle or a malformed device id."""
        bad = [d for d in devices if not DEVICE_RE.match(d)]
        if bad or not devices:
            raise ValueError(f"no devices, or malformed device ids: {bad[:3]}")
        manifest = read_manifest(bundle)
        blob = publish_blob(self.folder, bundle, self.chunk_size)
        rollout = Rollout(rollout_id or f"r-{uuid.uuid4().hex[:12]}", str(manifest["version"]), blob)
        args = {"rollout_id": rollout.rollout_id, "version": rollout.version,
                "min_version": manifest.get("min_version"), "bundle": blob}
        with self._lock:
            self.items[rollout.rollout_id] = rollout
            for device in devices:
                command = build_command(self.keys, INSTALL, args, expires_in)
                rollout.devices[device] = DeviceProgress(device, command["cmd_id"])
                self._by_cmd[command["cmd_id"]] = (rollout.rollout_id, device)
                publish(Outgoing(down_topic(device, "cmd"), command))
        return rollout

    def rollback(self, publish: Callable[[Outgoing], None], rollout_id: str,
                 expires_in: float = COMMAND_LIFETIME_S) -> list[str]:
        """Sends ``update_rollback`` to every device of the rollout; returns them. Raises KeyError."""
        with self._lock:
            rollout = self.items[rollout_id]
            for device, progress in rollout.devices.items():
                command = build_command(self.keys, ROLLBACK, {"rollout_id": rollout_id}, expires_in)
                progress.cmd_id, progress.stage, progress.result = command["cmd_id"], "rollback sent", None
                self._by_cmd[command["cmd_id"]] = (rollout_id, device)
                publish(Outgoing(down_topic(device, "cmd"), command))
            return sorted(rollout.devices)

    def observe(self, device: str, payload: bytes) -> list[dict[str, Any]]:
        """Takes in an event a terminal sent; returns the JSON lines to print (none if it was not ours)."""
        try:
            event = json.loads(payload.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            return []
        if not isinstance(event, dict):
            return []
        kind = event.get("type")
        with self._lock:
            if kind == "cmd.result":
                owner = self._by_cmd.get(str(event.get("cmd_id")))
                if owner is None or owner[1] != device:
                    return []
                progress = self.items[owner[0]].devices[device]
                if event.get("ok") is False:
                    progress.result, progress.stage = "refused", "refused"
                progress.detail = str(event.get("detail"))[:300]
                return [self._line(owner[0], progress)]
            if kind not in ("update.progress", "update.result"):
                return []
            rollout = self.items.get(str(event.get("rollout_id")))
            if rollout is None or device not in rollout.devices:
                return []
            progress = rollout.devices[device]
            if kind == "update.progress":
                progress.stage = str(event.get("stage"))[:40]
                percent = event.get("percent")
                progress.percent = percent if isinstance(percent, int) and not isinstance(percent, bool) else None
            else:
                result = event.get("result")
                progress.result = result if result in FINAL else "failed"
                progress.stage = progress.result
                progress.running = str(event.get("running"))[:40] if event.get("running") else None
            progress.detail = str(event.get("detail", ""))[:300]
            return [self._line(rollout.rollout_id, progress)]

    @staticmethod
    def _line(rollout_id: str, progress: DeviceProgress) -> dict[str, Any]:
        return {"event": "rollout.progress", "rollout_id": rollout_id, "device": progress.device,
                **progress.to_json()}

    def status(self, rollout_id: str) -> dict[str, Any]:
        """Raises KeyError for a rollout this instance did not start."""
        with self._lock:
            return self.items[rollout_id].summary()
