"""``kiosk doctor``: checks the configuration, each configured device, the broker, the clock, the disk and
the catalog, and says for each problem what to fix. Exit 0 when nothing failed (warnings allowed)."""
from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from kiosk.config import ConfigError, KioskConfig, load_config

MIN_FREE_MB = 200


@dataclass
class Finding:
    check: str
    level: str  # ok | warn | fail | skip
    detail: str
    fix: str = ""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="TOML configuration file (default: $KIOSK_CONFIG)")
    parser.add_argument("--json", action="store_true", help="one JSON object per check instead of text")
    parser.add_argument("--timeout", type=float, default=3.0, help="seconds per device or network check")


def _device(name: str, url: str, probe: Callable[[], str], fix: str) -> Finding:
    if not url:
        return Finding(name, "skip", "not configured (optional device: its flows are disabled)")
    try:
        return Finding(name, "ok", probe())
    except Exception as exc:  # every failure is a finding, never a crash of the doctor
        return Finding(name, "fail", f"{url}: {getattr(exc, 'code', type(exc).__name__)}: {exc}", fix)


def check_devices(config: KioskConfig, timeout: float) -> list[Finding]:
    dev = config.section("devices")

    def idcard() -> str:
        from drivers.idcard.reader import IdCardReader

        with IdCardReader(dev["idcard"], dev["idcard_baud"]) as reader:
            reader.sam_status()
            return f"{dev['idcard']}: reader and SAM answer"

    def scanner() -> str:
        from drivers.scanner.scanner import Scanner

        with Scanner(dev["scanner"]):
            return f"{dev['scanner']}: port opens"

    def printer() -> str:
        from kiosk.adapters import PrinterAdapter

        printer = PrinterAdapter(dev["printer"], config.get("printer", "profile"), config.get("printer", "paper"))
        state = printer.status()
        if not state.can_print:
            raise RuntimeError(f"online={state.online} paper={state.paper} cover={state.cover} error={state.error}")
        return f"{dev['printer']}: online, paper {state.paper}, cover {state.cover}"

    def camera() -> str:
        from drivers.camera import open_camera

        with open_camera(dev["camera"]) as cam:
            size = len(cam.capture())
        return f"{dev['camera']}: captured a frame ({size // 1024} KB)"

    def ioboard() -> str:
        from drivers.ioboard.driver import IoBoard

        board = IoBoard(dev["ioboard"]).open(timeout=timeout)
        try:
            info = board.info
            return f"{dev['ioboard']}: firmware {getattr(info, 'firmware_version', '?')}"
        finally:
            board.close()

    return [
        _device("idcard", dev["idcard"], idcard, "check the reader's USB cable and [devices] idcard "
                "(use /dev/serial/by-id/…); run `kiosk-device idcard read --port URL`"),
        _device("scanner", dev["scanner"], scanner, "check the scanner's cable and that it is in USB-COM mode; "
                "run `kiosk-device scanner listen --port URL`"),
        _device("printer", dev["printer"], printer, "add paper, close the cover, check power and cable; "
                "run `kiosk-device printer status --port URL`"),
        _device("camera", dev["camera"], camera, "check the document camera's USB cable and [devices] camera"),
        _device("ioboard", dev["ioboard"], ioboard, "check the IO board's USB cable; run `kiosk-device ioboard`"),
    ]


def check_broker(config: KioskConfig, timeout: float) -> Finding:
    if not config.get("sync", "enabled"):
        return Finding("broker", "skip", "sync disabled ([sync] enabled = false)")
    url = urlsplit(config.get("sync", "mqtt_url"))
    host, port = url.hostname or "127.0.0.1", url.port or (8883 if url.scheme == "mqtts" else 1883)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return Finding("broker", "ok", f"{host}:{port} accepts connections")
    except OSError as exc:
        return Finding("broker", "warn", f"{host}:{port} unreachable ({exc}); the terminal works offline",
                       "check the network cable/Wi-Fi and [sync] mqtt_url; submissions queue until it is back")


def check_clock() -> Finding:
    now = datetime.now().astimezone()
    if now.year < 2025:
        return Finding("clock", "fail", f"system time {now.isoformat(timespec='seconds')} is in the past",
                       "the Pi has no battery clock: connect the network (NTP) or set the time; promised dates "
                       "are not printed until the clock is right")
    try:
        out = subprocess.run(["timedatectl", "show", "-p", "NTPSynchronized", "--value"], capture_output=True,
                             text=True, timeout=3).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        out = ""
    if out == "no":
        return Finding("clock", "warn", f"{now.isoformat(timespec='seconds')}, not NTP-synchronised",
                       "enable NTP (`timedatectl set-ntp true`) or check the network")
    return Finding("clock", "ok", now.isoformat(timespec="seconds"))


def check_disk(config: KioskConfig) -> Finding:
    data_dir = config.data_dir
    if not data_dir.is_dir():
        return Finding("disk", "fail", f"{data_dir} does not exist", f"create it: install -d -o kiosk {data_dir}")
    if not os.access(data_dir, os.W_OK):
        return Finding("disk", "fail", f"{data_dir} is not writable by this user",
                       f"chown the directory to the service user (kiosk): chown -R kiosk {data_dir}")
    free_mb = shutil.disk_usage(data_dir).free // (1024 * 1024)
    if free_mb < MIN_FREE_MB:
        return Finding("disk", "fail", f"{free_mb} MB free in {data_dir}",
                       "free space (old logs: journalctl --vacuum-size=100M); new submissions are refused")
    return Finding("disk", "ok", f"{free_mb} MB free in {data_dir}")


def check_store(config: KioskConfig) -> Finding:
    """The sync store can be read and its device key opens it (a lost key is never replaced silently)."""
    from edge_sync.integrity import RECOVER_COMMAND, KeyLost, check_database, check_key
    from edge_sync.store import Store

    if not config.get("sync", "enabled"):
        return Finding("store", "skip", "sync disabled")
    db, key = config.data_dir / "sync.db", config.data_dir / "sync.key"
    if not db.exists():
        return Finding("store", "ok", f"{db} not created yet")
    fix = f"stop the service (systemctl stop kiosk), run `{RECOVER_COMMAND}`, start it again"
    problem = check_database(db)
    if problem is not None:
        return Finding("store", "fail", f"{db} is damaged: {problem[:200]}", fix)
    store = Store(db, readonly=True)
    try:
        if not key.exists() and store.get("key.check") is None and not _has_rows(store):
            return Finding("store", "ok", f"{db} readable (no device key yet)")
        try:
            check_key(store, key, record=False)
        except KeyLost as exc:
            return Finding("store", "fail", str(exc), fix + " (the rows sealed with the lost key stay in quarantine)")
    finally:
        store.close()
    return Finding("store", "ok", f"{db} readable, device key matches")


def _has_rows(store: object) -> bool:
    from edge_sync.integrity import has_sealed_rows

    return has_sealed_rows(store)  # type: ignore[arg-type]


def check_catalog(config: KioskConfig) -> Finding:
    from kiosk.catalog import CatalogError, load_catalog

    installed = None
    db = config.data_dir / "sync.db"
    if db.exists():
        try:
            from edge_sync.store import Store

            store = Store(db, readonly=True)
            try:
                installed = store.get("catalog.version")
            finally:
                store.close()
        except Exception as exc:  # an unreadable store is reported, not fatal here
            return Finding("catalog", "warn", f"store {db} unreadable: {exc}", "run `kiosk sync status`")
    if installed is not None:
        return Finding("catalog", "ok", f"installed version {installed}")
    path = config.get("catalog", "file")
    if not path:
        return Finding("catalog", "fail", "no catalog installed and no [catalog] file",
                       "connect to the platform (the catalog is pushed) or set [catalog] file")
    try:
        catalog = load_catalog(Path(path))
    except CatalogError as exc:
        return Finding("catalog", "fail", str(exc), "replace the catalog file with a valid one")
    return Finding("catalog", "ok", f"{path}: version {catalog.version}, {len(catalog.items)} items")


def run(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        findings = [Finding("config", "fail", str(exc), "edit the configuration file or the KIOSK_* variable")]
    else:
        findings = [Finding("config", "ok", config.path or "defaults + environment")]
        findings += check_devices(config, args.timeout)
        findings += [check_broker(config, args.timeout), check_clock(), check_disk(config), check_store(config),
                     check_catalog(config)]
    for f in findings:
        if args.json:
            print(json.dumps(asdict(f), ensure_ascii=False))
        else:
            line = f"{f.level.upper():4} {f.check:8} {f.detail}"
            print(line + (f"\n     fix: {f.fix}" if f.fix and f.level in ("warn", "fail") else ""))
    return 1 if any(f.level == "fail" for f in findings) else 0
