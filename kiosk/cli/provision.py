"""``kiosk provision``: the terminal's key and certificate request (``--device-id ID --out DIR``, signed on
the spot with ``--ca-dir DIR --sign`` in development); ``kiosk provision ca --out DIR`` makes a local CA
with the broker's server certificate; ``kiosk provision service --name central`` a platform identity;
``kiosk provision keys --keys DIR`` prints central's public signing keys as the terminal's config tables.
The device registry (docs/fleet.md): ``enrol`` records a signed terminal and its site, ``renew`` gives a
terminal a new certificate for its key before the old one expires, ``revoke`` revokes it and rewrites the
CA's revocation list (then regenerate the broker configuration and reload the broker)."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from kiosk.trust import DEFAULT_SERVER_NAMES, LocalCA, TrustError, provision_device, read_public_keys, toml_tables
from kiosk.trust.identity import DEVICE_CERT, DEVICE_KEY
from kiosk.trust.pem import load_cert
from kiosk.trust.registry import Registry, write_crl
from kiosk.trust.renewal import renew


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("what", nargs="?", choices=("device", "ca", "service", "keys", "enrol", "renew", "revoke"),
                        default="device",
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
    parser.add_argument("--registry", help="device registry JSON (enrol, renew, revoke)")
    parser.add_argument("--site", help="the terminal's hall / site id (enrol)")
    parser.add_argument("--dir", help="the terminal's folder with device.key and device.crt (enrol, renew)")
    parser.add_argument("--crl", help="where to write the CA's revocation list (revoke)")


def run(args: argparse.Namespace) -> int:
    try:
        if args.what in ("enrol", "renew", "revoke"):
            print(json.dumps(_registry_action(args), ensure_ascii=False))
            return 0
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


def _registry_action(args: argparse.Namespace) -> dict:
    if not args.registry or not args.device_id:
        raise TrustError(f"{args.what} needs --registry and --device-id")
    registry = Registry.load(Path(args.registry))
    if args.what == "enrol":
        if not args.site or not args.dir:
            raise TrustError("enrol needs --site and --dir (the terminal's signed device.crt)")
        record = registry.enrol(args.device_id, args.site, load_cert(Path(args.dir) / DEVICE_CERT))
    elif args.what == "renew":
        if not args.dir or not args.ca_dir:
            raise TrustError("renew needs --dir (device.key, device.crt) and --ca-dir")
        registry.active(args.device_id)
        ca = LocalCA.load(Path(args.ca_dir))
        cert = renew(Path(args.dir) / DEVICE_KEY, Path(args.dir) / DEVICE_CERT,
                     lambda csr: ca.sign_device(csr, expected_id=args.device_id, days=args.days or 730))
        record = registry.renewed(args.device_id, cert)
    else:
        if not args.ca_dir or not args.crl:
            raise TrustError("revoke needs --ca-dir and --crl (the revocation list to write)")
        record = registry.revoke(args.device_id)
        write_crl(LocalCA.load(Path(args.ca_dir)), registry.revoked_serials(), Path(args.crl))
    registry.save()
    return {"device_id": args.device_id, "status": record.status, "site": record.site,
            "certs": [c.serial for c in record.certs], "registry": str(registry.path)}
