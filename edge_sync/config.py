"""Configuration of the sync engine: read from the kiosk's TOML file ([device] and [sync] tables, or a
flat table of the same keys), every key overridable by a ``KIOSK_…`` environment variable, validated.

Where each key comes from (later wins): ``[device] id / site_id / data_dir`` → ``device_id / site_id /
data_dir``; every other field of :class:`SyncConfig` from ``[sync]`` under its own name (e.g.
``ack_timeout_s = 20``; ``[sync.command_keys]`` and ``[sync.catalog_keys]`` are tables
``key_id = "<base64 raw 32-byte Ed25519 public key>"``, key ids of 1-64 letters, digits, '.', '_' or '-';
a running engine takes new tables with ``SyncEngine.set_accepted_keys`` / ``reload_keys_from``); in a
file without tables, top-level keys under the field names. Then the environment: ``KIOSK_DEVICE_ID``,
``KIOSK_SITE_ID``, ``KIOSK_MQTT_URL``, ``KIOSK_DATA_DIR``, and ``KIOSK_SYNC_<FIELD>`` for any field
(``KIOSK_SYNC_ACK_TIMEOUT_S=5``; key tables as JSON objects). ``KIOSK_CONFIG`` names the TOML file
for :meth:`SyncConfig.from_env`."""
from __future__ import annotations

import base64
import json
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

DEVICE_ID_RE = re.compile(r"^[A-Z]{3}-[0-9]{6}-[0-9]{4}$")
KEY_ID_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
KEY_TABLES = ("command_keys", "catalog_keys")

# key → (env variable, TOML section). Short names are shared with the kiosk's own config.
_ENV_NAMES = {"device_id": "KIOSK_DEVICE_ID", "site_id": "KIOSK_SITE_ID", "mqtt_url": "KIOSK_MQTT_URL",
              "data_dir": "KIOSK_DATA_DIR"}
_DEVICE_KEYS = {"device_id": "id", "site_id": "site_id", "data_dir": "data_dir"}


class SyncConfigError(ValueError):
    """A configuration value is missing or invalid; the message names the key and where it came from."""


@dataclass(frozen=True)
class SyncConfig:
    """Every setting of edge_sync. Build with :meth:`from_toml` / :meth:`from_env` or directly (tests)."""

    device_id: str
    site_id: str
    mqtt_url: str
    data_dir: Path
    sw_version: str = "1.0.0"
    ca_file: str = ""               # TLS: CA bundle of the broker (mqtts:// only)
    cert_file: str = ""             # TLS client certificate whose CN is the device id
    key_file: str = ""              # its private key
    command_keys: dict[str, str] = field(default_factory=dict)   # key_id → base64 raw Ed25519 public key
    catalog_keys: dict[str, str] = field(default_factory=dict)
    retention_days: float = 7.0     # keep acked cases (encrypted) this long, then purge
    ack_timeout_s: float = 20.0     # re-send an unacked message after this long (same msg_id)
    window: int = 2000              # messages awaiting central's ack at once
    receive_maximum: int = 1000     # cap on MQTT in-flight (un-PUBACKed) publishes
    min_free_mb: float = 200.0      # refuse new cases when the disk has less free space
    reserve_mb: float = 8.0         # held for alarms, tamper, help and audit records when the disk fills
    max_store_mb: float = 4096.0    # refuse new cases when the store exceeds this size
    reconnect_min_s: float = 0.5
    # Bounds how long after a broker's return a terminal comes back (issue 13: outboxes empty ≤ 5 s after
    # a restart); the jitter of [max/2, max] spreads a city's reconnects over a couple of seconds.
    reconnect_max_s: float = 4.0
    keepalive_s: int = 30
    request_expiry_s: int = 30
    clock_tolerance_s: float = 120.0
    chunk_size: int = 256 * 1024

    def __post_init__(self) -> None:
        _validate(self)

    @property
    def db_path(self) -> Path:
        return Path(self.data_dir) / "sync.db"

    @property
    def device_key_path(self) -> Path:
        return Path(self.data_dir) / "sync.key"

    @property
    def broker(self) -> tuple[str, int, bool]:
        """(host, port, tls) of :attr:`mqtt_url`."""
        parts = urlsplit(self.mqtt_url)
        tls = parts.scheme == "mqtts"
        return parts.hostname or "127.0.0.1", parts.port or (8883 if tls else 1883), tls

    @classmethod
    def from_toml(cls, path: str | Path | None, env: Mapping[str, str] | None = None,
                  **overrides: Any) -> SyncConfig:
        """Reads ``path`` (may be None: environment only), applies ``KIOSK_…`` variables, then ``overrides``.

        Keys come from ``[sync]`` and from ``[device]`` (``id``, ``site_id``, ``data_dir``) or, in a
        file without tables, from the top level under their own names (``device_id`` …).
        Raises SyncConfigError on a missing or invalid value or an unreadable file."""
        document = {} if path is None else read_config_file(path)
        return cls.from_document(document, env=env, **overrides)

    @classmethod
    def from_document(cls, document: Mapping[str, Any], env: Mapping[str, str] | None = None,
                      **overrides: Any) -> SyncConfig:
        """The same from a document :func:`read_config_file` has read (the kiosk reads its file once)."""
        return cls.from_mapping(_sync_keys(document), env=os.environ if env is None else env, **overrides)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> SyncConfig:
        """Environment only (``KIOSK_CONFIG`` names a TOML file to read first, when set)."""
        env = os.environ if env is None else env
        return cls.from_toml(env.get("KIOSK_CONFIG") or None, env=env, **overrides)

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any], env: Mapping[str, str] | None = None,
                     **overrides: Any) -> SyncConfig:
        """Builds from plain keys; ``KIOSK_<NAME>`` (short names) and ``KIOSK_SYNC_<KEY>`` override them."""
        known = {f.name: f for f in fields(cls)}
        values: dict[str, Any] = {k: v for k, v in raw.items() if k in known}
        for name in known:
            for var in (_ENV_NAMES.get(name), f"KIOSK_SYNC_{name.upper()}"):
                if var and env and var in env:
                    values[name] = _from_env(name, env[var], var)
        values.update(overrides)
        missing = [n for n in ("device_id", "site_id", "mqtt_url", "data_dir") if not values.get(n)]
        if missing:
            raise SyncConfigError("missing setting(s): " + ", ".join(
                f"{m} (env {_ENV_NAMES[m]})" for m in missing))
        values["data_dir"] = Path(values["data_dir"])
        for name, value in list(values.items()):
            values[name] = _coerce(name, value, known[name].type)
        return cls(**values)

    def with_(self, **changes: Any) -> SyncConfig:
        return replace(self, **changes)


def read_key_tables(path: str | Path, env: Mapping[str, str] | None = None) -> tuple[dict[str, str], dict[str, str]]:
    """(command_keys, catalog_keys) as a restart would read them: from the TOML file ``path``, then
    ``KIOSK_SYNC_COMMAND_KEYS`` / ``KIOSK_SYNC_CATALOG_KEYS``; a table absent from both is empty.
    Other settings in the file are not looked at. Raises SyncConfigError on an unreadable file or a
    malformed key id or key."""
    raw = _sync_keys(read_config_file(path))
    env = os.environ if env is None else env
    tables = []
    for name in KEY_TABLES:
        var = f"KIOSK_SYNC_{name.upper()}"
        tables.append(_from_env(name, env[var], var) if var in env else raw.get(name, {}))
    command_keys, catalog_keys = tables
    return check_key_table("command_keys", command_keys), check_key_table("catalog_keys", catalog_keys)


def check_key_table(name: str, keys: Any) -> dict[str, str]:
    """A copy of ``keys`` ({key_id: base64 of a raw 32-byte Ed25519 public key}, ids of 1-64 letters,
    digits, '.', '_' or '-'). Raises SyncConfigError naming the first bad entry."""
    if not isinstance(keys, Mapping):
        raise SyncConfigError(f"{name}: expected a table {{key_id = base64 public key}}")
    for key_id, b64 in keys.items():
        if not isinstance(key_id, str) or not KEY_ID_RE.fullmatch(key_id):
            raise SyncConfigError(f"{name}: key id {str(key_id)[:70]!r} is not 1-64 letters, digits, '.', '_' or '-'")
        try:
            ok = isinstance(b64, str) and len(base64.b64decode(b64, validate=True)) == 32
        except ValueError:
            ok = False
        if not ok:
            raise SyncConfigError(f"{name}.{key_id}: expected base64 of a raw 32-byte Ed25519 public key")
    return dict(keys)


class ConfigFileError(SyncConfigError):
    """The configuration file cannot be used: ``missing`` when it does not exist, else unreadable or not TOML."""

    def __init__(self, path: str | Path, problem: str, missing: bool = False) -> None:
        self.path, self.problem, self.missing = str(path), problem, missing
        super().__init__(f"cannot read config file {path}: {problem}")


def read_config_file(path: str | Path) -> dict[str, Any]:
    """The terminal's configuration file as a TOML document: the one place that reads it, for the kiosk's
    settings and the sync engine's alike. Raises ConfigFileError when it is missing, unreadable or not TOML."""
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigFileError(path, "it does not exist", missing=True) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigFileError(path, f"it is not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigFileError(path, f"{type(exc).__name__}: {exc}") from None


def _sync_keys(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The plain keys of a kiosk TOML document: top-level scalars, ``[device]`` under their field names, ``[sync]``."""
    raw: dict[str, Any] = {k: v for k, v in doc.items() if not isinstance(v, dict) or k in KEY_TABLES}
    device = doc.get("device", {})
    for key, name in _DEVICE_KEYS.items():
        if isinstance(device, dict) and name in device:
            raw[key] = device[name]
    sync = doc.get("sync", {})
    raw.update(sync if isinstance(sync, dict) else {})
    return raw


def _from_env(name: str, text: str, var: str) -> Any:
    if name in ("command_keys", "catalog_keys"):
        try:
            return json.loads(text)
        except ValueError as exc:
            raise SyncConfigError(f"{var}: expected a JSON object {{key_id: base64}}: {exc}") from exc
    return text


def _coerce(name: str, value: Any, kind: Any) -> Any:
    kind = str(kind)
    try:
        if kind in ("float", "<class 'float'>"):
            return float(value)
        if kind in ("int", "<class 'int'>"):
            return int(value)
    except (TypeError, ValueError) as exc:
        raise SyncConfigError(f"{name}: {value!r} is not a number") from exc
    return value


def _validate(cfg: SyncConfig) -> None:
    if not isinstance(cfg.device_id, str) or not DEVICE_ID_RE.fullmatch(cfg.device_id):
        raise SyncConfigError(f"device_id {cfg.device_id!r} does not match AAA-000000-0000 (KIOSK_DEVICE_ID)")
    if not isinstance(cfg.site_id, str) or not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", cfg.site_id):
        raise SyncConfigError(f"site_id {cfg.site_id!r}: 1-64 letters, digits, '-', '_' or '.' (KIOSK_SITE_ID)")
    parts = urlsplit(str(cfg.mqtt_url))
    try:
        port_ok = parts.port is None or 0 < parts.port < 65536
    except ValueError:
        port_ok = False
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname or not port_ok or parts.path not in ("", "/"):
        raise SyncConfigError(f"mqtt_url {cfg.mqtt_url!r}: expected mqtt://host:port or mqtts://host:port "
                              "(KIOSK_MQTT_URL)")
    for name in KEY_TABLES:
        if not isinstance(getattr(cfg, name), dict):
            raise SyncConfigError(f"{name}: expected a table {{key_id = base64 public key}}")
        check_key_table(name, getattr(cfg, name))
    if parts.scheme == "mqtts" and bool(cfg.cert_file) != bool(cfg.key_file):
        raise SyncConfigError("cert_file and key_file go together (TLS client certificate)")
    for name in ("ack_timeout_s", "reconnect_min_s", "reconnect_max_s", "clock_tolerance_s"):
        if getattr(cfg, name) <= 0:
            raise SyncConfigError(f"{name} must be > 0")
    if cfg.window < 1 or cfg.receive_maximum < 1:
        raise SyncConfigError("window and receive_maximum must be ≥ 1")
    if not 1024 <= cfg.chunk_size <= 256 * 1024:
        raise SyncConfigError("chunk_size must be between 1024 and 262144 bytes")
    if cfg.retention_days < 0 or cfg.min_free_mb < 0 or cfg.max_store_mb <= 0 or cfg.reserve_mb < 0:
        raise SyncConfigError("retention_days, min_free_mb, reserve_mb must be ≥ 0 and max_store_mb > 0")
