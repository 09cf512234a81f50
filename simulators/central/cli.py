"""``kiosk-sim central``: the central-platform simulator, and ``kiosk-sim central cmd NAME --device ID``
which signs and publishes one command. See docs/central-simulator.md."""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import threading
from datetime import datetime
from pathlib import Path

from simulators.central.broker import TlsFiles, parse_broker
from simulators.central.catalog import Catalog
from simulators.central.commands import build_command, known_name, publish_command, send_once
from simulators.central.context import Context, Controls, SimClock
from simulators.central.requests import load_agents
from simulators.central.rollout_cli import (
    DEFAULT_BUNDLES_DIR,
    ROLLOUT_COMMANDS,
    add_bundle_arguments,
    rollout_command,
    run_bundle,
)
from simulators.central.rollouts import Rollouts
from simulators.central.service import CentralService
from simulators.central.signing import CATALOG_KEY, COMMAND_KEY, DEFAULT_KEYS_DIR, UPDATE_KEY, KeyRing
from simulators.link import emit, print_ready, run_stdin_commands, wait_until_stopped

log = logging.getLogger("central")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--broker", default="mqtt://127.0.0.1:1883", help="mqtt://host:port (mqtts:// for TLS)")
    parser.add_argument("--db", help="SQLite file shared by every instance (default: a temporary file)")
    parser.add_argument("--catalog", help="catalog JSON (shape of shared/data/catalog-sample.json)")
    parser.add_argument("--keys", help=f"keys directory (default {DEFAULT_KEYS_DIR})")
    parser.add_argument("--agents", help='agents JSON {"agents": [{agent_id, name, id_no, pin_sha256, villages}]}')
    parser.add_argument("--speed", type=float, default=1.0,
                        help="simulated seconds per real second for case progress (1440 = a day a minute)")
    parser.add_argument("--clock-start", type=datetime.fromisoformat, default=None, metavar="ISO",
                        help="simulated time to start at, e.g. 2026-03-02T09:00:00+08:00 (default: now)")
    parser.add_argument("--pace", type=float, default=None,
                        help="share of each step's limit every step takes (default: mixed 0.5/0.9/1.3 per case)")
    parser.add_argument("--client-id", help="MQTT client id; given, the session persists across restarts")
    parser.add_argument("--instance", help="name in central's retained online state gov/v1/central/state/NAME "
                                           "(default: the client id, else central-PID)")
    parser.add_argument("--busy-after", type=float, default=10.0, metavar="S",
                        help="answer busy when the backlog ahead of a message exceeds S seconds of work "
                             "(events at S/2; 0: never)")
    parser.add_argument("--registry", help="device registry JSON ({\"devices\": {ID: {\"site\", \"status\"}}} or "
                                           "{ID: SITE}): the hall of each device, for per-hall queue numbers")
    parser.add_argument("--bundles", help=f"folder of the downlink blobs it serves (default {DEFAULT_BUNDLES_DIR})")
    _add_tls_arguments(parser, None)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="action", metavar="ACTION")
    cmd = sub.add_parser("cmd", help="sign and publish one command (§8) and exit")
    cmd.add_argument("name", help="lock, unlock, reboot, reload_config, print_test, set_config, upload_logs, "
                                  "purge_cache")
    cmd.add_argument("--device", required=True, help="target device id, e.g. KSK-511902-0007")
    cmd.add_argument("--args", default="{}", help="command arguments as a JSON object")
    cmd.add_argument("--broker", default=argparse.SUPPRESS)
    cmd.add_argument("--keys", default=argparse.SUPPRESS)
    _add_tls_arguments(cmd, argparse.SUPPRESS)
    cmd.add_argument("--expires-in", type=float, default=300.0, help="seconds until it expires (negative: expired)")
    cmd.add_argument("--cmd-id", help="reuse a cmd_id (to play a replay)")
    cmd.add_argument("--sig", choices=("good", "none", "bad"), default="good", help="signature to send")
    add_bundle_arguments(sub.add_parser("bundle", help="build a signed update bundle (docs/updates.md) and exit"))


def _add_tls_arguments(parser: argparse.ArgumentParser, default: str | None) -> None:
    """``--ca/--cert/--key``, on the main parser and again on ``cmd`` (default SUPPRESS there, so that
    they may be written before or after the sub-action without one hiding the other)."""
    parser.add_argument("--ca", default=default, metavar="FILE",
                        help="mqtts://: CA certificate that signed the broker's (default: the system CAs)")
    parser.add_argument("--cert", default=default, metavar="FILE",
                        help="mqtts://: central's client certificate; its CN is central's user name")
    parser.add_argument("--key", default=default, metavar="FILE", help="mqtts://: the private key of --cert")


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(stream=sys.stderr, level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    keys_dir = Path(args.keys) if args.keys else DEFAULT_KEYS_DIR
    try:
        keys = KeyRing(keys_dir).ensure(COMMAND_KEY, CATALOG_KEY, UPDATE_KEY)
        broker = parse_broker(args.broker)
        tls_files = TlsFiles(args.ca, args.cert, args.key)
        tls_files.check_for(broker[2])
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.action == "cmd":
        return run_cmd(args, keys, broker, tls_files)
    if args.action == "bundle":
        return run_bundle(args, keys)
    return run_central(args, keys, tls_files)


def run_cmd(args: argparse.Namespace, keys: KeyRing, broker: tuple[str, int, bool], tls_files: TlsFiles) -> int:
    try:
        cmd_args = json.loads(args.args)
        if not isinstance(cmd_args, dict):
            raise ValueError("--args must be a JSON object")
        command = build_command(keys, args.name, cmd_args, args.expires_in, args.cmd_id, args.sig)
        if not known_name(args.name):
            log.warning("command name %r is not in the contract's list; sending it anyway", args.name)
        send_once(broker, args.device, command, tls_files=tls_files)
    except (OSError, ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    emit(command)
    return 0


def run_central(args: argparse.Namespace, keys: KeyRing, tls_files: TlsFiles) -> int:
    temp_db: str | None = None
    db = args.db
    if not db:
        fd, temp_db = tempfile.mkstemp(prefix="central-", suffix=".db")
        os.close(fd)
        db = temp_db
    try:
        bundles = Path(args.bundles) if args.bundles else DEFAULT_BUNDLES_DIR
        start = args.clock_start.timestamp() if args.clock_start else None
        ctx = Context(catalog=Catalog.load(args.catalog), keys=keys, agents=load_agents(args.agents),
                      clock=SimClock(args.speed, start),
                      controls=Controls(), pace=args.pace, bundles=bundles)
        service = CentralService(ctx, args.broker, db, args.client_id, tls_files, instance=args.instance,
                                 busy_after_s=args.busy_after, registry=load_registry(args.registry))
        service.rollouts = Rollouts(keys, bundles)
        service.start()
    except (OSError, ValueError, TimeoutError) as exc:
        print(f"error: central could not start: {exc}", file=sys.stderr)
        return 1
    print_ready("central", args.broker, broker=args.broker, db=db, keys=str(keys.directory),
                catalog=ctx.catalog.version, client_id=service.client_id, instance=service.announcer.instance)
    stop = threading.Event()
    try:
        run_stdin_commands(lambda name, rest: command(service, keys, name, rest), stop)
        wait_until_stopped(stop)
    finally:
        service.stop()
        if temp_db:
            for suffix in ("", "-wal", "-shm"):
                Path(temp_db + suffix).unlink(missing_ok=True)
    return 0


def load_registry(path: str | None) -> dict[str, dict]:
    """``{device: {"site", "status"}}`` from a registry file (see ``--registry``); {} without one.
    Raises OSError or ValueError on an unreadable or ill-shaped file."""
    if not path:
        return {}
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    devices = data.get("devices", data) if isinstance(data, dict) else None
    if not isinstance(devices, dict):
        raise ValueError(f"{path}: expected {{\"devices\": {{ID: {{site, status}}}}}} or {{ID: SITE}}")
    out = {}
    for device, entry in devices.items():
        if isinstance(entry, str):
            entry = {"site": entry, "status": "active"}
        if not isinstance(entry, dict) or not isinstance(entry.get("site"), str):
            raise ValueError(f"{path}: device {str(device)[:40]!r} has no site")
        out[str(device)] = {"site": entry["site"], "status": str(entry.get("status", "active"))}
    return out


def command(service: CentralService, keys: KeyRing, name: str, rest: str) -> str | None:
    """One stdin command; returns an error text or None, and prints a JSON line with the outcome."""
    error = _apply(service, keys, name, rest.strip())
    emit({"event": "command", "name": name, "ok": error is None, **({"error": error} if error else {})})
    return error


def _apply(service: CentralService, keys: KeyRing, name: str, rest: str) -> str | None:
    controls = service.ctx.controls
    parts = rest.split()
    if name == "drop-acks":
        with controls.lock:
            controls.drop_acks = int(parts[0]) if parts else 1
    elif name == "dup-acks":
        if parts not in (["on"], ["off"]):
            return "usage: dup-acks on|off"
        with controls.lock:
            controls.dup_acks = parts[0] == "on"
    elif name == "reject-next":
        with controls.lock:
            controls.reject_next = rest or "rejected by the operator"
    elif name in ("pause", "resume"):
        controls.paused = name == "pause"
    elif name == "advance":
        days = float(parts[0]) if parts else 1.0
        if not days >= 0:
            return "usage: advance DAYS (DAYS ≥ 0: time only moves forward)"
        service.ctx.clock.advance(days)
        service.tick_soon()
    elif name == "status":
        if len(parts) != 2:
            return "usage: status CASE_ID|QUERY_CODE|CASE_NO STATUS"
        return service.force(parts[0], parts[1])
    elif name == "correction":
        if len(parts) < 2:
            return "usage: correction CASE_ID|QUERY_CODE|CASE_NO CODE[,CODE…] [NOTE]"
        return service.request_correction(parts[0], parts[1].split(","), rest.split(None, 2)[2] if len(parts) > 2
                                          else "请补正以下材料")
    elif name == "publish-catalog":
        if not parts:
            return "usage: publish-catalog FILE"
        service.publish_catalog(Catalog.load(parts[0]), wait=True)
    elif name == "stats":
        emit({"event": "stats", **service.stats, "paused": controls.paused, "held": service.held_count(),
              "busy": service.flow.answered_busy, "parked": service.sequencer.parked,
              "taken_with_gap": service.sequencer.taken_with_gap, "missing_withdrawn": service.grace.withdrawn,
              "catalog_publications": service.catalog_publications})
    elif name in ROLLOUT_COMMANDS:
        return rollout_command(service, name, rest)
    elif name == "cmd":
        if len(parts) < 2:
            return "usage: cmd DEVICE NAME [ARGS_JSON]"
        cmd_args = json.loads(rest.split(None, 2)[2]) if len(parts) > 2 else {}
        publish_command(service.client, parts[0], build_command(keys, parts[1], cmd_args))
    else:
        return f"unknown command {name!r}"
    return None
