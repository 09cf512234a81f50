"""``kiosk provision``: the terminal's key and certificate request (``--device-id ID --out DIR``, signed on
the spot with ``--ca-dir DIR --sign`` in development); ``kiosk provision ca --out DIR`` makes a local CA
with the broker's server certificate; ``kiosk provision service --name central`` a platform identity;
``kiosk provision keys --keys DIR`` prints central's public signing keys as the terminal's config tables."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from kiosk.trust import DEFAULT_SERVER_NAMES, LocalCA, TrustError, provision_device, read_public_keys, toml_tables


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("what", nargs="?", choices=("device", "ca", "service", "keys"), default="device",
                        help="device (default): key + request; ca: a local development CA and the broker's "
                             "server certificate; service: a platform client identity signed by the CA; "
                             "keys: print the accepted signing keys of a keys directory as config TOML")
    parser.add_argument("--out", help="directory to write into (not for keys)")
    parser.add_argument("--keys", help="directory of central's <key_id>.pub files (keys only)")
    parser.add_argument("--device-id", help="device id, e.g. KSK-511902-0007 (the certificate CN)")
    parser.add_argument("--ca-dir", help="directory of the local CA (ca.key, ca.crt) for --sign / service")
    parser.add_argument("--sign", action="store_true", help="sign the request with the local CA (development)")
    parser.add_argument("--name", default="central", help="service identity CN (service only)")
    parser.add_argument("--server-names", default=",".join(DEFAULT_SERVER_NAMES),
                        help="comma-separated SAN entries of the broker certificate (ca only)")
    parser.add_argument("--days", type=int, default=None, help="certificate validity in days")
    parser.add_argument("--force", action="store_true", help="replace an existing private key")
    parser.add_argument("--reuse-key", action="store_true", help="new request for the existing device key")


def run(args: argparse.Namespace) -> int:
    try:
        if args.what == "keys":
            if not args.keys:
                raise TrustError("give --keys DIR (central's public keys)")
            print(toml_tables(read_public_keys(Path(args.keys))), end="")
            return 0
        if not args.out:
            raise TrustError("give --out DIR")
        if args.what == "ca":
            result = _make_ca(args)
        elif args.what == "service":
            result = _make_service(args)
        else:
            result = _make_device(args)
    except (TrustError, OSError) as exc:
        print(f"kiosk provision: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result, ensure_ascii=False))
    return 0


def _make_ca(args: argparse.Namespace) -> dict:
    out = Path(args.out)
    ca = LocalCA.create(out, days=args.days or 3650, force=args.force)
    names = [n.strip() for n in args.server_names.split(",") if n.strip()]
    server = ca.issue_server(out, names or DEFAULT_SERVER_NAMES)
    return {"ca_cert": str(ca.cert_path), "ca_key": str(out / "ca.key"),
            "server_cert": str(server.cert), "server_key": str(server.key)}


def _make_service(args: argparse.Namespace) -> dict:
    if not args.ca_dir:
        raise TrustError("service identities are signed by the local CA: give --ca-dir")
    ca = LocalCA.load(Path(args.ca_dir))
    issued = ca.issue_service(args.name, Path(args.out), days=args.days or 825, force=args.force)
    return {"name": args.name, "cert": str(issued.cert), "key": str(issued.key), "ca_cert": str(ca.cert_path)}


def _make_device(args: argparse.Namespace) -> dict:
    if not args.device_id:
        raise TrustError("give --device-id (e.g. KSK-511902-0007)")
    if args.sign and not args.ca_dir:
        raise TrustError("--sign needs --ca-dir")
    files = provision_device(args.device_id, Path(args.out), force=args.force, reuse_key=args.reuse_key)
    if args.sign:
        files = LocalCA.load(Path(args.ca_dir)).sign_provisioned(files, days=args.days or 730)
    return {"device_id": files.device_id, "csr": str(files.csr), "signed": bool(args.sign),
            "sync": files.sync_settings()}
