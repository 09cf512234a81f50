"""``kiosk update status|install|rollback|resume``: signed software updates for technicians (install from
a bundle on a USB stick in an offline village) and for systemd (``resume`` finishes an interrupted install
and carries out what central asked the service for). See docs/updates.md.

Exit codes: 0 done (installed, rolled back as asked, status shown); 1 the new version did not prove
itself and the previous one runs again, or staging failed; 2 bundle refused or bad usage/configuration;
3 another installer is running; 4 nothing to roll back to."""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

EXIT_OK, EXIT_FAILED, EXIT_REFUSED, EXIT_BUSY, EXIT_NO_PREVIOUS = 0, 1, 2, 3, 4


def add_arguments(parser: argparse.ArgumentParser) -> None:
    config_help = "TOML configuration file (default: $KIOSK_CONFIG, else defaults)"
    parser.add_argument("--config", help=config_help)
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions = {"status": sub.add_parser("status", help="installed versions, the update under way, the last outcome"),
               "install": sub.add_parser("install", help="install a bundle (a .bundle file, or a folder of them)"),
               "rollback": sub.add_parser("rollback", help="switch back to the previous version (same health window)"),
               "resume": sub.add_parser("resume", help="finish or undo an interrupted install, then do what "
                                                       "central asked (run by systemd)")}
    actions["install"].add_argument("--from", dest="source", required=True, metavar="PATH",
                                    help="the bundle file, or the mounted USB folder: its newest bundle is taken")
    for action in actions.values():  # --config before or after the action
        action.add_argument("--config", default=argparse.SUPPRESS, help=config_help)


def run(args: argparse.Namespace) -> int:
    from kiosk.config import ConfigError, load_config
    from kiosk.update.errors import (
        BundleRefused,
        InstallBusy,
        NothingToRollBack,
        UpdateError,
    )
    from kiosk.update.installer import Installer
    from kiosk.update.settings import UpdateSettings
    from kiosk.update.state import Result
    from kiosk.update.status import update_state

    def say(text: str) -> None:
        print(f"kiosk update: {text}", file=sys.stderr, flush=True)

    try:
        settings = UpdateSettings.from_config(load_config(args.config))
    except (ConfigError, UpdateError) as exc:
        say(str(exc))
        return EXIT_REFUSED
    if args.action == "status":
        status = update_state(settings.layout.root)
        print(json.dumps({"root": str(settings.layout.root), **asdict(status)}, ensure_ascii=False))
        return EXIT_OK
    installer = Installer(settings, say)
    try:
        if args.action == "install":
            outcome = installer.install(choose_bundle(Path(args.source)))
        elif args.action == "rollback":
            outcome = installer.rollback()
        else:
            state = installer.resume()
            print(json.dumps({"phase": state.phase.value,
                              "version": state.current.version if state.current else None}))
            return EXIT_OK
    except BundleRefused as exc:
        say(f"bundle refused ({exc.code}): {exc}")
        return EXIT_REFUSED
    except InstallBusy as exc:
        say(str(exc))
        return EXIT_BUSY
    except NothingToRollBack as exc:
        say(str(exc))
        return EXIT_NO_PREVIOUS
    except (UpdateError, ValueError) as exc:
        say(str(exc))
        return EXIT_FAILED
    print(json.dumps({"result": outcome.result.value, "version": outcome.version,
                      "from_version": outcome.from_version, "code": outcome.code, "detail": outcome.detail},
                     ensure_ascii=False))
    if outcome.result is Result.REFUSED:
        return EXIT_REFUSED
    wanted = Result.ROLLED_BACK if args.action == "rollback" else Result.INSTALLED
    return EXIT_OK if outcome.result is wanted else EXIT_FAILED


def choose_bundle(source: Path) -> Path:
    """``source`` itself, or the bundle of the newest version in the folder ``source``.
    Raises BundleMalformed when the folder holds no readable bundle."""
    from kiosk.update.bundle import read_manifest
    from kiosk.update.errors import BundleMalformed, BundleRefused

    if not source.is_dir():
        return source
    found = []
    for path in sorted(source.glob("*.bundle")):
        try:
            found.append((read_manifest(path).version, path))
        except BundleRefused:
            continue
    if not found:
        raise BundleMalformed(f"no readable .bundle file in {source}")
    return max(found)[1]
