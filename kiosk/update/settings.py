"""The installer's settings, from the terminal's configuration: the ``[update]`` table, the accepted update
signing keys (``[sync.update_keys]``, or ``KIOSK_SYNC_UPDATE_KEYS`` as a JSON object — key ids and rotation
as for commands), the web port the health window reads, and the data dir where the service leaves
downloaded bundles and install requests for the installer."""
from __future__ import annotations

import json
import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from edge_sync.config import check_key_table
from edge_sync.crypto import load_public_keys
from kiosk.config import KioskConfig
from kiosk.update.build import base_python
from kiosk.update.errors import UpdateError
from kiosk.update.slots import Layout

KEYS_ENV = "KIOSK_SYNC_UPDATE_KEYS"


class UpdateConfigError(UpdateError):
    """The update settings or the accepted update keys are wrong (the message names which)."""

    code = "config"


@dataclass(frozen=True)
class UpdateSettings:
    layout: Layout
    spool: Path                      # written by the service: bundles/, request.json (read by the installer)
    window_s: float                  # how long a new version has to prove itself
    confirm_s: float                 # how long it must stay healthy, without a break, to be confirmed
    restart: tuple[str, ...]         # the command that restarts the service
    status_url: str                  # the service's /api/status on loopback
    keys: Mapping[str, str]          # accepted update keys: key_id → base64 of the raw Ed25519 key
    python: str                      # interpreter new environments are made from

    @classmethod
    def from_config(cls, config: KioskConfig, env: Mapping[str, str] | None = None) -> UpdateSettings:
        """Raises UpdateConfigError on a malformed key table or restart command."""
        env = os.environ if env is None else env
        update = config.section("update")
        web = config.section("web")
        try:
            restart = tuple(shlex.split(update["restart_command"]))
        except ValueError as exc:
            raise UpdateConfigError(f"update.restart_command: {exc}") from None
        if not restart:
            raise UpdateConfigError("update.restart_command is empty")
        host = web["host"] if ":" not in web["host"] else f"[{web['host']}]"
        return cls(layout=Layout(Path(update["root"])), spool=config.data_dir / "update",
                   window_s=float(update["health_window_s"]), confirm_s=float(update["confirm_s"]), restart=restart,
                   status_url=f"http://{host}:{web['port']}/api/status", keys=update_keys(config, env),
                   python=base_python(update["python"]))

    def public_keys(self) -> dict[str, Ed25519PublicKey]:
        try:
            return load_public_keys(self.keys)
        except ValueError as exc:
            raise UpdateConfigError(f"update_keys: {exc}") from None

    @property
    def bundles(self) -> Path:
        return self.spool / "bundles"

    @property
    def request(self) -> Path:
        return self.spool / "request.json"


def update_keys(config: KioskConfig, env: Mapping[str, str]) -> dict[str, str]:
    """The accepted update keys as a restart reads them: ``KIOSK_SYNC_UPDATE_KEYS`` (JSON) over
    ``[sync.update_keys]``. Raises UpdateConfigError naming the bad entry."""
    raw: object = config.raw.get("sync", {}).get("update_keys", {})
    if KEYS_ENV in env:
        try:
            raw = json.loads(env[KEYS_ENV])
        except ValueError as exc:
            raise UpdateConfigError(f"{KEYS_ENV}: expected a JSON object {{key_id: base64}}: {exc}") from None
    try:
        return check_key_table("update_keys", raw)
    except ValueError as exc:
        raise UpdateConfigError(str(exc)) from None
