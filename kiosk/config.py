"""The terminal's configuration: a TOML file validated against a schema, every key overridable by an
environment variable ``KIOSK_<SECTION>_<KEY>`` (plus the short names the sync engine uses).

One loader: the file is read once, by edge_sync's :func:`~edge_sync.config.read_config_file`; the kiosk's
sections are validated here and, with sync on, the sync engine's :class:`~edge_sync.config.SyncConfig` is
built from the same document, environment and identity (``KioskConfig.sync``)."""
from __future__ import annotations

import ipaddress
import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edge_sync.config import ConfigFileError, SyncConfig, SyncConfigError, read_config_file

# Short variables shared with edge_sync (issue 4) → (section, key).
ENV_ALIASES = {
    "KIOSK_DEVICE_ID": ("device", "id"),
    "KIOSK_SITE_ID": ("device", "site_id"),
    "KIOSK_MQTT_URL": ("sync", "mqtt_url"),
    "KIOSK_DATA_DIR": ("device", "data_dir"),
}
# Sections read by other components (edge_sync owns [sync] beyond mqtt_url): unknown keys pass there.
OPEN_SECTIONS = {"sync"}
# Central's ``set_config`` command writes here (in the data dir); ``load_config`` applies it over the file
# and under the environment, so a value set remotely survives a restart but a local variable still wins.
OVERRIDE_FILE = "config-override.json"
# Keys central may set remotely: the ones the running application applies at once. Identity, devices,
# network and paths stay local (a wrong remote value there could cut the terminal off for good).
SETTABLE = frozenset({
    "device.site_name", "device.hotline", "device.self_service", "device.mode",
    "session.warn_after_s", "session.reset_after_s", "session.agent_warn_after_s", "session.agent_reset_after_s",
    "session.ack_wait_s", "session.request_timeout_s", "printer.timeout_s", "web.maintenance_pin_sha256",
    "web.idle_after_s",
})


class ConfigError(ValueError):
    """The configuration is invalid: ``key`` names it (``section.key``), the message says what is wrong
    and what is expected, and ``source`` says where the value came from (file or variable)."""

    def __init__(self, key: str, problem: str, expected: str = "", source: str = "") -> None:
        self.key, self.problem, self.expected, self.source = key, problem, expected, source
        text = f"config {key}: {problem}"
        if expected:
            text += f" (expected {expected})"
        if source:
            text += f" [from {source}]"
        super().__init__(text)


@dataclass(frozen=True)
class Key:
    """One configuration key: its type, default and an optional extra check returning an error text."""

    kind: type
    default: Any
    expected: str
    check: Callable[[Any], str | None] | None = None


def _shown(value: Any, limit: int = 40) -> str:
    """A value as quoted in an error: repr, cut to ``limit`` characters (values may come from central)."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


def _pattern(regex: str, allow_empty: bool = False) -> Callable[[Any], str | None]:
    compiled = re.compile(regex)

    def check(value: str) -> str | None:
        if allow_empty and value == "":
            return None
        return None if compiled.fullmatch(value) else f"{_shown(value)} does not match"
    return check


def _range(low: float, high: float) -> Callable[[Any], str | None]:
    return lambda v: None if low <= v <= high else f"{v} is out of range"


def _one_of(*choices: Any) -> Callable[[Any], str | None]:
    return lambda v: None if v in choices else f"{_shown(v)} is not allowed"


def _loopback(value: str) -> str | None:
    # The UI and its API serve identity data: never reachable from the hall's network.
    if value == "localhost":
        return None
    try:
        return None if ipaddress.ip_address(value).is_loopback else f"{_shown(value)} is not a loopback address"
    except ValueError:
        return f"{_shown(value)} is not an IP address"


def _mqtt_url(value: str) -> str | None:
    return None if re.fullmatch(r"mqtts?://[^\s/:]+(:\d{1,5})?/?", value) else f"{_shown(value)} is not an MQTT URL"


def _sha256_hex(value: str) -> str | None:
    return None if value == "" or re.fullmatch(r"[0-9a-f]{64}", value) else "not 64 lower-case hex digits"


SCHEMA: dict[str, dict[str, Key]] = {
    "device": {
        "id": Key(str, "KSK-000000-0000", "a device id like KSK-511902-0007", _pattern(r"[A-Z]{3}-[0-9]{6}-[0-9]{4}")),
        "site_id": Key(str, "000000-HALL-01", "a site id like 511902-HALL-01", _pattern(r"[0-9A-Za-z_-]{1,64}")),
        "site_name": Key(str, "政务服务中心", "the hall or village point name shown on screen and receipts"),
        "hotline": Key(str, "12345", "a phone number like 12345", _pattern(r"[0-9-]{3,20}")),
        "data_dir": Key(str, "/var/lib/kiosk", "a directory path"),
        "mode": Key(str, "hall", '"hall" or "village"', _one_of("hall", "village")),
        "self_service": Key(bool, True, "true or false (citizens may submit by themselves)"),
    },
    "devices": {
        "idcard": Key(str, "", 'a pyserial URL ("" = no reader)'),
        "scanner": Key(str, "", 'a pyserial URL ("" = no scanner)'),
        "printer": Key(str, "", 'a pyserial URL ("" = no printer)'),
        "camera": Key(str, "", 'a camera spec: /dev/video0, v4l2:/dev/video0, sim:page, sim:blurred or "" (none)'),
        "ioboard": Key(str, "", 'a pyserial URL ("" = no IO board)'),
        "idcard_baud": Key(int, 115200, "a baud rate", _one_of(9600, 19200, 38400, 57600, 115200)),
    },
    "printer": {
        "profile": Key(str, "generic",
                       'a printer profile: "generic" (by paper width), generic-58, generic-80, epson-asb',
                       _pattern(r"[a-z0-9_-]{1,40}")),
        "paper": Key(int, 58, "58 or 80 (paper width in mm)", _one_of(58, 80)),
        "timeout_s": Key(float, 15.0, "seconds 1..120", _range(1, 120)),
        "status_poll_s": Key(float, 5.0, "seconds 1..300", _range(1, 300)),
    },
    "session": {
        "warn_after_s": Key(float, 45.0, "seconds 5..3600", _range(5, 3600)),
        "reset_after_s": Key(float, 60.0, "seconds 10..3600", _range(10, 3600)),
        "agent_warn_after_s": Key(float, 240.0, "seconds 5..7200", _range(5, 7200)),
        "agent_reset_after_s": Key(float, 300.0, "seconds 10..7200", _range(10, 7200)),
        "ack_wait_s": Key(float, 5.0, "seconds 0..30 to wait for central's ack before the offline notice",
                          _range(0, 30)),
        "request_timeout_s": Key(float, 3.0, "seconds 0.2..30", _range(0.2, 30)),
    },
    "web": {
        "host": Key(str, "127.0.0.1", "a loopback address (127.0.0.1 or ::1)", _loopback),
        "port": Key(int, 8080, "a TCP port 1..65535", _range(1, 65535)),
        "maintenance_pin_sha256": Key(str, "", "hex sha256 of the technician PIN (\"\" = maintenance disabled)",
                                      _sha256_hex),
        "idle_after_s": Key(float, 180.0, "seconds 0..3600 without anyone before the screen dims (0 = never)",
                            _range(0, 3600)),
    },
    "catalog": {
        "file": Key(str, "", "path of a catalog JSON used when no version is installed"),
    },
    "sync": {
        "mqtt_url": Key(str, "mqtt://127.0.0.1:1883", "mqtt://host:port or mqtts://host:port", _mqtt_url),
        "enabled": Key(bool, True, "true or false"),
    },
    # Signed software updates (kiosk/update, docs/updates.md); the accepted keys are [sync.update_keys].
    "update": {
        "root": Key(str, "/opt/kiosk", "the folder holding the installed versions (slots/, current, good)"),
        "health_window_s": Key(float, 180.0, "seconds 5..3600 a new version has to prove itself", _range(5, 3600)),
        "confirm_s": Key(float, 10.0, "seconds 1..600 a new version must stay healthy to be confirmed", _range(1, 600)),
        "restart_command": Key(str, "systemctl restart kiosk.service", "the command that restarts the service"),
        "python": Key(str, "", 'the interpreter new versions run on ("" = the one the installer runs on)'),
    },
    "diagnostics": {
        "log_source": Key(str, "journal:kiosk.service",
                          'where upload_logs reads the logs: "journal:UNIT", "file:PATH" or "" (recent lines only)',
                          _pattern(r"(journal:[A-Za-z0-9@._-]+|file:.+)?")),
    },
}


@dataclass(frozen=True)
class KioskConfig:
    """Validated configuration; ``section(name)`` gives a section as a dict, ``raw`` keeps every section read
    (including keys owned by other components, e.g. edge_sync's ``[sync]``)."""

    values: Mapping[str, Mapping[str, Any]]
    raw: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    path: str = ""
    # The sync engine's settings, built from the same file and environment (None when sync is off).
    sync: SyncConfig | None = None

    def get(self, section: str, key: str) -> Any:
        return self.values[section][key]

    def section(self, name: str) -> dict[str, Any]:
        return dict(self.values[name])

    # Shortcuts for what most callers need.
    @property
    def device_id(self) -> str:
        return self.values["device"]["id"]

    @property
    def data_dir(self) -> Path:
        return Path(self.values["device"]["data_dir"])


def _coerce(kind: type, value: Any, key: str, spec: Key, source: str, from_env: bool) -> Any:
    if from_env:
        # Environment values are text: convert by the key's type.
        text = str(value).strip()
        if kind is bool:
            lowered = text.lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
            raise ConfigError(key, f"{_shown(text)} is not a boolean", spec.expected, source)
        if kind in (int, float):
            try:
                return kind(text)
            except ValueError:
                raise ConfigError(key, f"{_shown(text)} is not a number", spec.expected, source) from None
        return value
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ConfigError(key, f"has type {type(value).__name__}, not {kind.__name__}", spec.expected, source)
    return value


def _env_overrides(env: Mapping[str, str]) -> dict[tuple[str, str], tuple[str, str]]:
    """(section, key) → (value, variable name), long names winning over the short aliases."""
    found: dict[tuple[str, str], tuple[str, str]] = {}
    for name, target in ENV_ALIASES.items():
        if name in env:
            found[target] = (env[name], name)
    for section, keys in SCHEMA.items():
        for key in keys:
            name = f"KIOSK_{section.upper()}_{key.upper()}"
            if name in env:
                found[(section, key)] = (env[name], name)
    return found


def load_config(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> KioskConfig:
    """Read ``path`` (or ``$KIOSK_CONFIG``; no file means defaults), apply environment overrides and
    validate. Raises ConfigError naming the key, the problem and what is expected."""
    env = os.environ if env is None else env
    path = path if path is not None else env.get("KIOSK_CONFIG") or None
    raw: dict[str, Any] = {}
    file_label = ""
    if path is not None:
        file_label = str(path)
        try:
            raw = read_config_file(path)
        except ConfigFileError as exc:
            raise ConfigError("(file)", f"{path}: {exc.problem}",
                              "a readable TOML file" if exc.missing else "TOML syntax") from None
    values: dict[str, dict[str, Any]] = {}
    for section, keys in SCHEMA.items():
        given = raw.get(section, {})
        if not isinstance(given, dict):
            raise ConfigError(section, "is not a table", f"[{section}]", file_label)
        if section not in OPEN_SECTIONS:
            for unknown in sorted(set(given) - set(keys)):
                raise ConfigError(f"{section}.{unknown}", "is not a known key",
                                  "one of " + ", ".join(sorted(keys)), file_label)
        values[section] = {}
        for key, spec in keys.items():
            if key in given:
                values[section][key] = _coerce(spec.kind, given[key], f"{section}.{key}", spec, file_label, False)
            else:
                values[section][key] = spec.default
    overrides = _env_overrides(env)
    data_dir = overrides.get(("device", "data_dir"), (values["device"]["data_dir"], ""))[0]
    override_path = Path(str(data_dir)) / OVERRIDE_FILE
    for name, value in read_overrides(override_path).items():
        section, _, key = name.partition(".")
        spec = SCHEMA[section][key]
        values[section][key] = _coerce(spec.kind, value, name, spec, str(override_path), False)
    for (section, key), (text, var) in overrides.items():
        spec = SCHEMA[section][key]
        values[section][key] = _coerce(spec.kind, text, f"{section}.{key}", spec, var, True)
    for section, keys in SCHEMA.items():
        for key, spec in keys.items():
            problem = spec.check(values[section][key]) if spec.check else None
            if problem:
                raise ConfigError(f"{section}.{key}", problem, spec.expected, file_label or "defaults")
    _check_relations(values)
    sections = {name: dict(body) for name, body in raw.items() if isinstance(body, dict)}
    for section, body in values.items():
        sections.setdefault(section, {}).update(body)
    return KioskConfig(values=values, raw=sections, path=file_label, sync=_sync_config(raw, values, env))


def _sync_config(document: Mapping[str, Any], values: dict[str, dict[str, Any]],
                 env: Mapping[str, str]) -> SyncConfig | None:
    """edge_sync's settings from the same document and environment, under the identity validated above
    (device id, site, data dir and broker are the kiosk's, so the two can never disagree)."""
    if not values["sync"]["enabled"]:
        return None
    device = values["device"]
    try:
        return SyncConfig.from_document(document, env=env, device_id=device["id"], site_id=device["site_id"],
                                        data_dir=device["data_dir"], mqtt_url=values["sync"]["mqtt_url"])
    except SyncConfigError as exc:
        raise ConfigError("sync", str(exc), "valid [sync] settings (see kiosk/config.example.toml)") from None


def _check_relations(values: dict[str, dict[str, Any]]) -> None:
    session = values["session"]
    for warn, reset in (("warn_after_s", "reset_after_s"), ("agent_warn_after_s", "agent_reset_after_s")):
        if session[warn] >= session[reset]:
            raise ConfigError(f"session.{warn}", f"{session[warn]} is not before session.{reset} ({session[reset]})",
                              "the warning to come before the reset")
    if session["agent_reset_after_s"] < session["reset_after_s"]:
        raise ConfigError("session.agent_reset_after_s", "is shorter than session.reset_after_s",
                          "agent mode to have the longer timeout")


def read_overrides(path: Path) -> dict[str, Any]:
    """The settable keys stored by ``set_config`` (``{"section.key": value}``); a missing file is empty.
    Raises ConfigError when the file is unreadable or holds a key that may not be set remotely."""
    try:
        data = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ConfigError("(override)", f"{path} is unreadable: {type(exc).__name__}", "a JSON object") from None
    if not isinstance(data, dict):
        raise ConfigError("(override)", f"{path} is not a JSON object", '{"section.key": value}')
    for name in data:
        if name not in SETTABLE:
            raise ConfigError(name, "may not be set remotely", "one of " + ", ".join(sorted(SETTABLE)), str(path))
    return data


def with_setting(config: KioskConfig, name: str, value: Any) -> KioskConfig:
    """``config`` with ``name`` (``section.key``, one of SETTABLE) set to ``value`` (a JSON value; an int
    counts as a float where the key is a float), checked like the file would be. Raises ConfigError
    naming the key and the problem; ``config`` is never changed."""
    if name not in SETTABLE:
        raise ConfigError(name, "is not a key central may set", "one of " + ", ".join(sorted(SETTABLE)), "set_config")
    section, _, key = name.partition(".")
    spec = SCHEMA[section][key]
    value = _coerce(spec.kind, value, name, spec, "set_config", False)
    problem = spec.check(value) if spec.check else None
    if problem:
        raise ConfigError(name, problem, spec.expected, "set_config")
    values = {sec: dict(body) for sec, body in config.values.items()}
    values[section][key] = value
    _check_relations(values)
    raw = {sec: dict(body) for sec, body in config.raw.items()}
    raw.setdefault(section, {})[key] = value
    return KioskConfig(values=values, raw=raw, path=config.path, sync=config.sync)


def save_override(config: KioskConfig, name: str, value: Any) -> Path:
    """Persist one remotely set key in the data dir's override file (atomic replace), keeping the others.
    Raises OSError when the data dir is not writable, ConfigError when the present file is unusable."""
    path = config.data_dir / OVERRIDE_FILE
    data = read_overrides(path)
    data[name] = value
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1), "utf-8")
    os.replace(tmp, path)
    return path
