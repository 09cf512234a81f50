"""``kiosk broker-config``: writes mosquitto.conf (TLS listener on loopback, client certificates required,
CN as user name) and mosquitto.acl (the contract's authorisation rule) into a directory."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from kiosk.trust import BrokerSettings, TrustError, load_devices, write_broker_config


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, help="directory for mosquitto.conf and mosquitto.acl")
    parser.add_argument("--ca", required=True, help="CA certificate that signed the clients' certificates")
    parser.add_argument("--cert", required=True, help="broker server certificate")
    parser.add_argument("--key", required=True, help="broker server private key")
    parser.add_argument("--port", type=int, default=8883, help="TLS listener port on the host (default 8883)")
    parser.add_argument("--host", default="127.0.0.1", help="listener address (default 127.0.0.1)")
    parser.add_argument("--central-user", action="append", dest="central_users",
                        help="certificate CN of a central platform instance (repeatable; default central)")
    parser.add_argument("--devices", help='JSON file {"KSK-511902-0007": "511902-HALL-01", …}: device → site')
    parser.add_argument("--data-dir", help="persistence directory (default: no persistence)")
    parser.add_argument("--run-as", help="user mosquitto switches to when started as root (must own the key)")
    parser.add_argument("--no-pin-client-id", action="store_true",
                        help="do not force client id = certificate CN (allows session takeover; not advised)")


def run(args: argparse.Namespace) -> int:
    try:
        devices = load_devices(Path(args.devices)) if args.devices else {}
        settings = BrokerSettings(port=args.port, ca_file=Path(args.ca), cert_file=Path(args.cert),
                                  key_file=Path(args.key), central_users=tuple(args.central_users or ("central",)),
                                  devices=devices, host=args.host, data_dir=Path(args.data_dir) if args.data_dir else None,
                                  run_as=args.run_as, pin_client_id=not args.no_pin_client_id)
        files = write_broker_config(settings, Path(args.out))
    except (TrustError, OSError) as exc:
        print(f"kiosk broker-config: {exc}", file=sys.stderr)
        return 1
    print(json.dumps({"conf": str(files.conf), "acl": str(files.acl), "port": settings.port,
                      "devices": len(devices), "run": f"mosquitto -c {files.conf}"}))
    return 0
