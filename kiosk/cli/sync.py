"""``kiosk sync status|selftest|recover``: the outbox and connection as JSON, an end-to-end self-test that
sends test cases through the real outbox and waits for central's acks, and the repair of a damaged store."""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

from edge_sync import StorageFull, SyncConfig, SyncEngine, read_status
from edge_sync.outbox import now_iso
from edge_sync.store import Store
from kiosk.config import ConfigError, load_config

SELFTEST_CASE = {
    "item": {"code": "SELFTEST", "situation": "S00"},
    "channel": "self",
    "applicant": {"name": "自检", "id_type": "resident", "id_no": "SELFTEST", "phone": ""},
    "materials": [],
    "pickup": {"method": "window", "detail": ""},
    "test": True,
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", default=os.environ.get("KIOSK_CONFIG"),
                        help="the kiosk's TOML file (default $KIOSK_CONFIG); KIOSK_* variables override it")
    sub = parser.add_subparsers(dest="action", required=True)
    sub.add_parser("status", help="print connection and outbox state as JSON")
    sub.add_parser("recover", help="repair a damaged store or one whose device key is lost (service stopped): "
                   "keeps what can be read, moves the rest to <data_dir>/quarantine/")
    test = sub.add_parser("selftest", help="send N test cases through the outbox and wait for their acks")
    test.add_argument("--count", type=int, default=10)
    test.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for all acks")


def run(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config).sync
    except ConfigError as exc:
        print(f"kiosk sync: {exc}", file=sys.stderr)
        return 2
    if config is None:
        print("kiosk sync: sync is off in this configuration ([sync] enabled = false)", file=sys.stderr)
        return 2
    if args.action == "status":
        return _status(config)
    if args.action == "recover":
        return _recover(config)
    return _selftest(config, args.count, args.timeout)


def _recover(config: SyncConfig) -> int:
    from edge_sync.recover import recover

    try:
        report = recover(config.data_dir)
    except FileNotFoundError as exc:
        print(f"kiosk sync recover: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(report.to_dict(), ensure_ascii=False))
    return 0


def _status(config: SyncConfig) -> int:
    try:
        store = Store(config.db_path, readonly=True)
    except (FileNotFoundError, OSError) as exc:
        print(json.dumps({"connected": False, "error": str(exc)}, ensure_ascii=False))
        return 1
    try:
        print(json.dumps(read_status(store, running=False, connected=False), ensure_ascii=False))
    finally:
        store.close()
    return 0


def _selftest(config: SyncConfig, count: int, timeout: float) -> int:
    if count < 1:
        print("kiosk sync selftest: --count must be ≥ 1", file=sys.stderr)
        return 2
    if config.db_path.exists():
        store = Store(config.db_path, readonly=True)
        try:
            running = read_status(store, running=False, connected=False)
        finally:
            store.close()
        if running.get("engine_running"):
            print("kiosk sync selftest: the kiosk service runs the sync engine of this device; stop it first "
                  "(a second engine would take over its MQTT session and share its outbox)", file=sys.stderr)
            return 2
    started = time.monotonic()
    engine = SyncEngine(config).start()
    try:
        try:
            consent = {"version": "selftest", "at": now_iso()}
            case_ids = [engine.submit_case({**SELFTEST_CASE, "consent": consent}).case_id for _ in range(count)]
        except StorageFull as exc:
            print(f"kiosk sync selftest: {exc}", file=sys.stderr)
            return 1
        deadline = started + timeout
        acked = 0
        for case_id in case_ids:
            outcome = engine.wait_case_ack(case_id, max(0.0, deadline - time.monotonic()))
            if outcome is not None and outcome.get("result") in ("accepted", "duplicate"):
                acked += 1
        seconds = round(time.monotonic() - started, 3)
    finally:
        engine.stop()
    print(json.dumps({"sent": count, "acked": acked, "seconds": seconds}))
    return 0 if acked == count else 1
