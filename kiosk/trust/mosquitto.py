"""mosquitto configuration for the contract's broker (central-mqtt-v1 §1): one TLS listener that demands a
client certificate and takes its CN as the user name, and an ACL file that gives each terminal its own
``up/`` (write), its own ``down/``, the catalog and its site (read), and the central platform the rest."""
from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from kiosk.trust.identity import check_device_id, check_service_name
from kiosk.trust.pem import PUBLIC_MODE, TrustError, write_file

SITE_ID_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")   # same rule as edge_sync's site_id: no '/', '+', '#'
CONF_NAME = "mosquitto.conf"
ACL_NAME = "mosquitto.acl"
# Contract §1: no payload above 256 KiB. A blob chunk of that size still carries its topic, seven user
# properties and the fixed header: 8 KiB of room, and anything larger is refused at the broker.
MAX_PACKET = 262144 + 8192
CASE_BYTES = 2048            # a case envelope on the wire, rounded up (for sizing the queues)
TERMINAL_WINDOW = 2000       # messages a terminal may have awaiting central's ack (edge_sync's window)


def queue_limits(devices: int, window: int = TERMINAL_WINDOW) -> tuple[int, int]:
    """(max_queued_messages, max_queued_bytes) per client, sized so that central's queue holds a burst
    of every terminal's full window (a city after an outage) instead of dropping it: mosquitto's default
    of 1000 messages lost 44 % of a 2 000-case burst. Memory stays bounded by the byte limit."""
    messages = max(100_000, devices * window)
    size = min(4 * 1024**3, max(512 * 1024**2, devices * window * CASE_BYTES))
    return messages, size


class BadBrokerSettings(TrustError, ValueError):
    """A port, path, device id or site id cannot go into the broker configuration."""


@dataclass(frozen=True)
class BrokerSettings:
    """Everything the generated broker configuration depends on."""

    port: int
    ca_file: Path
    cert_file: Path
    key_file: Path
    # Certificate CNs of the central platform's instances. Each instance of a scaled-out central needs its
    # own CN, because the broker forces client id = CN (see pin_client_id).
    central_users: tuple[str, ...] = ("central",)
    devices: Mapping[str, str] = field(default_factory=dict)   # device id → site id (站点)
    host: str = "127.0.0.1"
    data_dir: Path | None = None      # persistence location; None: no persistence
    log_types: tuple[str, ...] = ("error", "warning", "notice")
    # mosquitto started as root switches to this user before it reads the key: that user must own
    # server.key (0600). None: mosquitto's default user ``mosquitto``.
    run_as: str | None = None
    # use_username_as_clientid: the client id becomes the certificate CN, so a terminal cannot take over
    # another terminal's MQTT session by connecting with its client id.
    pin_client_id: bool = True
    # Registry mode: only the devices listed get rules (one block each, no pattern lines), so a revoked
    # or unknown certificate is refused everything even on a connection made before its revocation.
    per_device: bool = False
    crl_file: Path | None = None      # certificate revocation list of the CA (refused at the handshake)

    def __post_init__(self) -> None:
        if not 0 < int(self.port) < 65536:
            raise BadBrokerSettings(f"port {self.port} is not 1-65535")
        if not self.central_users:
            raise BadBrokerSettings("at least one central identity is needed")
        for name in self.central_users:
            try:
                check_service_name(name)
            except TrustError as exc:
                raise BadBrokerSettings(str(exc)) from exc
        for device_id, site in self.devices.items():
            check_device_id(device_id)
            if not isinstance(site, str) or not SITE_ID_RE.fullmatch(site):
                raise BadBrokerSettings(f"site of {device_id}: {site!r} is not 1-64 letters, digits, '-', '_', '.'")


@dataclass(frozen=True)
class BrokerFiles:
    conf: Path
    acl: Path


def load_devices(path: Path) -> dict[str, str]:
    """Reads ``{device_id: site_id}`` JSON. Raises BadBrokerSettings on unreadable or ill-shaped content."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BadBrokerSettings(f"cannot read devices file {path}: {exc}") from exc
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise BadBrokerSettings(f"{path}: expected a JSON object {{device_id: site_id}}")
    return data


def acl_text(devices: Mapping[str, str], central_users: tuple[str, ...] = ("central",),
             per_device: bool = False) -> str:
    """The ACL file. No line precedes the first ``user``/``pattern``: an anonymous client gets nothing.
    ``per_device`` (registry mode): rules only for the listed devices, none for any other CN."""
    lines = [
        "# Generated by `kiosk broker-config` from contract central-mqtt-v1 §1. Do not edit by hand.",
        "# User name = certificate CN (use_identity_as_username). Anything not granted here is denied.",
    ]
    if not per_device:
        lines += ["",
                  "# Every terminal: publish only under its own up/, read its own down/, the catalog and",
                  "# central's online state (contract addendum, Fleet).",
                  "pattern write gov/v1/up/%u/#",
                  "pattern read gov/v1/down/%u/#",
                  "pattern read gov/v1/catalog/#",
                  "pattern read gov/v1/central/state/+"]
    for name in central_users:
        lines += ["", f"# The central platform ({name}): reads every terminal's uplink, also through the",
                  "# shared subscription group `central`, writes downlink, catalog and site broadcasts and",
                  "# its online state; reads the catalog back (publishes a version only when missing).",
                  f"user {name}", "topic read gov/v1/up/#", "topic read $share/central/gov/v1/up/#",
                  "topic write gov/v1/down/#", "topic readwrite gov/v1/catalog/#", "topic write gov/v1/site/#",
                  "topic write gov/v1/central/#"]
    for device_id, site in sorted(devices.items()):
        lines += ["", f"user {device_id}"]
        if per_device:
            lines += [f"topic write gov/v1/up/{device_id}/#", f"topic read gov/v1/down/{device_id}/#",
                      "topic read gov/v1/catalog/#", "topic read gov/v1/central/state/+"]
        lines.append(f"topic read gov/v1/site/{site}/#")
    return "\n".join(lines) + "\n"


def conf_text(settings: BrokerSettings, acl_path: Path) -> str:
    """The mosquitto.conf text; paths are made absolute because mosquitto resolves them from its cwd."""
    lines = [
        "# Generated by `kiosk broker-config` (contract central-mqtt-v1 §1).",
        "per_listener_settings false",
        *([f"user {settings.run_as}"] if settings.run_as else []),
        "allow_anonymous false",
        f"acl_file {Path(acl_path).resolve()}",
        f"listener {int(settings.port)} {settings.host}",
        "protocol mqtt",
        f"cafile {Path(settings.ca_file).resolve()}",
        f"certfile {Path(settings.cert_file).resolve()}",
        f"keyfile {Path(settings.key_file).resolve()}",
        "require_certificate true",
        "use_identity_as_username true",
        f"use_username_as_clientid {'true' if settings.pin_client_id else 'false'}",
        "tls_version tlsv1.2",            # the minimum: TLS 1.3 clients are accepted too
    ]
    if settings.crl_file is not None:
        lines.append(f"crlfile {Path(settings.crl_file).resolve()}")
    queued, queued_bytes = queue_limits(len(settings.devices))
    lines += [
        # Fleet limits (issue 13): chunks of the contract fit, bigger packets are refused; central's
        # queue holds a city's burst; central may have many messages in flight (it acks after commit).
        f"max_packet_size {MAX_PACKET}",
        "max_inflight_messages 2000",
        f"max_queued_messages {queued}",
        f"max_queued_bytes {queued_bytes}",
    ]
    if settings.data_dir is not None:
        # Retained catalog, sessions and queued messages survive a broker restart.
        lines += ["persistence true", f"persistence_location {Path(settings.data_dir).resolve()}/",
                  "autosave_interval 60"]
    else:
        lines.append("persistence false")
    lines.append("log_dest stderr")
    lines += [f"log_type {kind}" for kind in settings.log_types]
    return "\n".join(lines) + "\n"


def write_broker_config(settings: BrokerSettings, out_dir: Path) -> BrokerFiles:
    """Writes ``mosquitto.conf`` and ``mosquitto.acl`` into ``out_dir`` (replacing earlier ones).

    Raises BadBrokerSettings when a TLS file is missing; OSError on write failure."""
    for name in ("ca_file", "cert_file", "key_file"):
        if not Path(getattr(settings, name)).is_file():
            raise BadBrokerSettings(f"{name} {getattr(settings, name)} does not exist")
    out_dir = Path(out_dir)
    acl = write_file(out_dir / ACL_NAME, acl_text(settings.devices, settings.central_users,
                                                  settings.per_device).encode(), PUBLIC_MODE, force=True)
    conf = write_file(out_dir / CONF_NAME, conf_text(settings, acl).encode(), PUBLIC_MODE, force=True)
    return BrokerFiles(conf, acl)
