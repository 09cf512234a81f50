"""``kiosk broker-config``: writes mosquitto.conf (TLS listener, client certificates required, CN as user
name, the contract's packet size, queues sized for fleet bursts, persistence) and mosquitto.acl (the
contract's authorisation rule) into a directory; from a device registry (``--registry``) the ACL grants
only active terminals and ``--crl`` refuses revoked certificates; ``--emqx DIR`` also writes an EMQX
cluster configuration with the same rules (docs/fleet.md)."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from kiosk.trust import BrokerSettings, TrustError, load_devices, write_broker_config
from kiosk.trust.emqx import EmqxCluster, write_emqx_config
from kiosk.trust.registry import Registry

DEFAULT_DATA_DIR = "/var/lib/mosquitto"


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
    parser.add_argument("--registry", help="device registry JSON (kiosk provision enrol): rules for its active "
                                           "terminals only (instead of --devices)")
    parser.add_argument("--crl", help="the CA's revocation list (PEM, kiosk provision revoke): revoked "
                                      "certificates are refused at the handshake")
    parser.add_argument("--data-dir", default=DEFAULT_DATA_DIR,
                        help=f"persistence directory (default {DEFAULT_DATA_DIR})")
    parser.add_argument("--no-persistence", action="store_true", help="keep nothing across a broker restart")
    parser.add_argument("--run-as", help="user mosquitto switches to when started as root (must own the key)")
    parser.add_argument("--no-pin-client-id", action="store_true",
                        help="do not force client id = certificate CN (allows session takeover; not advised)")
    parser.add_argument("--emqx", metavar="DIR", help="also write an EMQX 5 cluster configuration (emqx.conf, "
                                                      "acl.conf) with the same rules into DIR")
    parser.add_argument("--emqx-node", action="append", dest="emqx_nodes",
                        help="EMQX node name (repeatable; default emqx@127.0.0.1)")


def run(args: argparse.Namespace) -> int:
    try:
        if args.registry:
            devices = Registry.load(Path(args.registry)).sites()
        else:
            devices = load_devices(Path(args.devices)) if args.devices else {}
        central = tuple(args.central_users or ("central",))
        settings = BrokerSettings(port=args.port, ca_file=Path(args.ca), cert_file=Path(args.cert),
                                  key_file=Path(args.key), central_users=central, devices=devices, host=args.host,
                                  data_dir=None if args.no_persistence else Path(args.data_dir),
                                  run_as=args.run_as, pin_client_id=not args.no_pin_client_id,
                                  per_device=bool(args.registry), crl_file=Path(args.crl) if args.crl else None)
        files = write_broker_config(settings, Path(args.out))
        emqx = None
        if args.emqx:
            cluster = EmqxCluster(tuple(args.emqx_nodes or ("emqx@127.0.0.1",)), str(Path(args.ca).resolve()),
                                  str(Path(args.cert).resolve()), str(Path(args.key).resolve()), args.port)
            emqx = [str(p) for p in write_emqx_config(cluster, devices, central, Path(args.emqx))]
    except (TrustError, OSError) as exc:
        print(f"kiosk broker-config: {exc}", file=sys.stderr)
        return 1
    print(json.dumps({"conf": str(files.conf), "acl": str(files.acl), "port": settings.port,
                      "devices": len(devices), "run": f"mosquitto -c {files.conf}",
                      "reload": "kill -HUP <mosquitto pid> (after a revocation: ACL and CRL are read again)",
                      **({"emqx": emqx} if emqx else {})}))
    return 0
