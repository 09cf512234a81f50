"""Signed commands to one kiosk (§8): built, signed with the command key and published once."""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from simulators.central.broker import TlsFiles
from simulators.central.contract import COMMAND_NAMES, DEVICE_RE, down_topic
from simulators.central.signing import COMMAND_KEY, KeyRing
from simulators.central.workdays import CHINA_TZ, iso


def build_command(keys: KeyRing, name: str, args: dict | None = None, expires_in: float = 300.0,
                  cmd_id: str | None = None, sig_mode: str = "good") -> dict[str, Any]:
    """A command object. ``sig_mode`` "good" signs it; "none" leaves ``sig`` out; "bad" signs and then
    changes the arguments (for kiosk tests). A negative ``expires_in`` makes an expired command.
    Raises ValueError on an unknown sig_mode."""
    now = datetime.now(CHINA_TZ)
    body = {"type": "cmd", "v": 1, "cmd_id": cmd_id or f"c-{uuid.uuid4()}", "name": name, "args": args or {},
            "issued_at": iso(now), "expires_at": iso(now + timedelta(seconds=expires_in))}
    if sig_mode == "none":
        return {**body, "key_id": COMMAND_KEY}
    signed = keys.sign(body, COMMAND_KEY)
    if sig_mode == "bad":
        signed["args"] = {**signed["args"], "tampered": True}
    elif sig_mode != "good":
        raise ValueError(f"sig_mode must be good, none or bad, not {sig_mode!r}")
    return signed


def publish_command(client: mqtt.Client, device: str, command: dict, timeout: float = 10.0) -> None:
    """Publishes on ``down/{device}/cmd`` (QoS 1) and waits for the broker's PUBACK.
    Raises ValueError on a malformed device id, RuntimeError when the broker did not take it."""
    if not DEVICE_RE.match(device):
        raise ValueError(f"bad device id {device!r}")
    data = json.dumps(command, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    info = client.publish(down_topic(device, "cmd"), data, qos=1)
    info.wait_for_publish(timeout)
    if not info.is_published():
        raise RuntimeError("broker did not acknowledge the command")


def send_once(broker: tuple[str, int, bool], device: str, command: dict, timeout: float = 10.0,
              tls_files: TlsFiles | None = None) -> None:
    """Connects, publishes one command, disconnects. ``tls_files`` are used for an ``mqtts://`` broker
    (its CA, central's client certificate and key). Raises OSError when the broker is unreachable or a
    TLS file is unusable, ValueError when TLS files are given for a plain broker, RuntimeError when the
    broker did not take the command."""
    host, port, tls = broker
    tls_files = tls_files or TlsFiles()
    tls_files.check_for(tls)
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"central-cmd-{uuid.uuid4().hex[:12]}",
                         protocol=mqtt.MQTTv5)
    if tls:
        tls_files.apply(client)
    # A broker with ACLs answers a publish it does not allow (e.g. a certificate whose CN is not a
    # central user) with a failing PUBACK reason code, which paho still counts as "published".
    refusals: list = []
    client.on_publish = lambda _c, _u, _mid, reason, _p: refusals.append(reason) if reason.is_failure else None
    client.connect(host, port, keepalive=30)
    client.loop_start()
    try:
        publish_command(client, device, command, timeout)
    finally:
        client.disconnect()
        client.loop_stop()
    if refusals:
        raise RuntimeError(f"broker refused the command: {refusals[0]}")


def known_name(name: str) -> bool:
    return name in COMMAND_NAMES
