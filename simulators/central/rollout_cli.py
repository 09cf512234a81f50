"""The command line of updates at central: ``kiosk-sim central bundle`` (build and sign a bundle) and the
stdin commands ``rollout``, ``rollout-status`` and ``rollout-rollback`` of a running central simulator."""
from __future__ import annotations

import argparse
import shlex
import sqlite3
import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from simulators.central.release import ReleaseError, build_bundle
from simulators.central.rollouts import select_devices
from simulators.central.signing import DEFAULT_KEYS_DIR, UPDATE_KEY, KeyRing
from simulators.link import emit

if TYPE_CHECKING:
    from simulators.central.service import CentralService

DEFAULT_BUNDLES_DIR = DEFAULT_KEYS_DIR.parent / "bundles"
ROLLOUT_COMMANDS = ("rollout", "rollout-status", "rollout-rollback")
USAGE = {"rollout": "rollout BUNDLE_FILE DEVICE[,DEVICE…]|PERCENT%[:PREFIX] [ROLLOUT_ID]",
         "rollout-status": "rollout-status ROLLOUT_ID",
         "rollout-rollback": "rollout-rollback ROLLOUT_ID"}


def add_bundle_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--version", required=True, help="the version the bundle brings, e.g. 1.4.2")
    parser.add_argument("--min-version", help="the oldest version it may be installed over (default: --version)")
    parser.add_argument("--wheels", required=True, type=Path,
                        help="folder of wheels: the terminal's (gov_kiosk), its dependencies and pip")
    parser.add_argument("--firmware", type=Path, help="folder of the IO board firmware files")
    parser.add_argument("--firmware-version", help="the firmware version those files report")
    parser.add_argument("--key-id", default=UPDATE_KEY, help=f"signing key id (default {UPDATE_KEY})")
    parser.add_argument("--out", required=True, type=Path, help="the bundle file to write")
    parser.add_argument("--keys", default=argparse.SUPPRESS)


def run_bundle(args: argparse.Namespace, keys: KeyRing) -> int:
    try:
        keys.ensure(args.key_id)
        manifest = build_bundle(keys, args.out, args.version, sorted(args.wheels.glob("*.whl")),
                                min_version=args.min_version, firmware=args.firmware,
                                firmware_version=args.firmware_version, key_id=args.key_id)
    except (ReleaseError, OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    emit({"event": "bundle", "out": str(args.out), "version": manifest["version"],
          "min_version": manifest["min_version"], "files": len(manifest["files"]), "key_id": manifest["key_id"],
          "size": args.out.stat().st_size})
    return 0


def rollout_command(service: CentralService, name: str, rest: str) -> str | None:
    """One of the stdin commands; returns an error text or None (the outcome is printed as a JSON line)."""
    rollouts = service.rollouts
    if rollouts is None:
        return "rollouts are not enabled"
    try:
        parts = shlex.split(rest)
    except ValueError as exc:
        return str(exc)
    try:
        if name == "rollout" and len(parts) in (2, 3):
            target = parts[1]
            rollout_id = parts[2] if len(parts) == 3 else f"r-{uuid.uuid4().hex[:12]}"
            share, percent_sign, prefix = target.partition("%")
            if percent_sign:
                # PERCENT% of every device central knows, or PERCENT%:PREFIX of those whose id starts so
                # (a region such as KSK-511902).
                known: list[str] = []

                def collect(conn: sqlite3.Connection) -> None:
                    known.extend(row[0] for row in conn.execute("SELECT device FROM devices ORDER BY device"))
                error = service.call(collect)
                if error:
                    return error
                within = [d for d in known if d.startswith(prefix.removeprefix(":"))]
                devices = select_devices(within, float(share), rollout_id)
            else:
                devices = [d for d in target.split(",") if d]
            rollout = rollouts.start(service.publish, Path(parts[0]), devices, rollout_id)
            emit({"event": "rollout", "rollout_id": rollout.rollout_id, "version": rollout.version,
                  "blob": rollout.blob, "devices": sorted(rollout.devices)})
        elif name == "rollout-status" and len(parts) == 1:
            emit(rollouts.status(parts[0]))
        elif name == "rollout-rollback" and len(parts) == 1:
            emit({"event": "rollout.rollback", "rollout_id": parts[0],
                  "devices": rollouts.rollback(service.publish, parts[0])})
        else:
            return f"usage: {USAGE[name]}"
    except KeyError as exc:
        return f"unknown rollout {exc}"
    except (ValueError, OSError) as exc:
        return str(exc)
    return None
