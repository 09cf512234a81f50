"""The platform's release step: an update bundle for the terminals, signed with central's update key.

A bundle is an uncompressed tar (ustar): ``manifest.json`` first, then every wheel under ``wheels/`` and
every IO board firmware file under ``firmware/``. The manifest (contract addendum, "Updates") gives the
version, the oldest version it may be installed over, and each file's size and sha256; it is signed like
a command (Ed25519 over the canonical JSON without ``sig``). Written from the addendum, independently of
the terminal's reader."""
from __future__ import annotations

import hashlib
import io
import json
import os
import re
import tarfile
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

from simulators.central.signing import UPDATE_KEY, KeyRing
from simulators.central.workdays import CHINA_TZ, iso

TERMINAL_DIST = "gov_kiosk"
SIMULATOR_DIST = "gov_kiosk_sim"
_WHEEL = re.compile(r"^([A-Za-z0-9_.]+)-([A-Za-z0-9_.!+]+)-.+\.whl$")
_VERSION = re.compile(r"^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*)){1,3}$")


class ReleaseError(ValueError):
    """The inputs do not make a bundle a terminal would accept (said why)."""


def wheel_dist(path: Path) -> tuple[str, str]:
    """(normalised distribution name, version) from a wheel's file name. Raises ReleaseError."""
    match = _WHEEL.match(path.name)
    if match is None:
        raise ReleaseError(f"{path.name}: not a wheel file name")
    return match.group(1).lower().replace(".", "_").replace("-", "_"), match.group(2)


def _file_entry(path: str, kind: str, data: bytes) -> dict[str, Any]:
    return {"path": path, "kind": kind, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def _check_wheels(wheels: list[Path], version: str) -> None:
    dists = [wheel_dist(w) for w in wheels]
    names = [d for d, _ in dists]
    if SIMULATOR_DIST in names:
        raise ReleaseError("the simulators' distribution never goes into a terminal's bundle")
    if len(set(names)) != len(names):
        raise ReleaseError("two wheels of one distribution")
    terminal = [w for w, (d, v) in zip(wheels, dists, strict=True) if d == TERMINAL_DIST and v == version]
    if len(terminal) != 1 or names.count(TERMINAL_DIST) != 1:
        raise ReleaseError(f"expected exactly one {TERMINAL_DIST} wheel of version {version}")
    if "pip" not in names:
        raise ReleaseError("add a pip wheel: terminals install the bundle with the pip it carries")
    with zipfile.ZipFile(terminal[0]) as wheel:
        if any(name.startswith("simulators/") for name in wheel.namelist()):
            raise ReleaseError(f"{terminal[0].name} contains the simulators package")


_FIRMWARE_NAME = re.compile(r"^[a-z0-9_]{1,21}\.(py|mpy)$")
_FIRMWARE_VERSION = re.compile(r"^(\d{1,3})\.(\d{1,3})\.(\d{1,3})$")


def firmware_files(folder: Path) -> list[tuple[str, bytes]]:
    """(path inside the bundle, bytes) of every firmware file in ``folder`` (flat, as the board keeps
    them). Raises ReleaseError on a name the board would not take, or no files."""
    found = []
    for path in sorted(folder.iterdir()):
        if not path.is_file():
            continue
        if not _FIRMWARE_NAME.match(path.name) or len(path.name) > 24:
            raise ReleaseError(f"{path.name}: a firmware file is 1-24 characters of a-z, 0-9 and _, .py or .mpy")
        found.append((f"firmware/{path.name}", path.read_bytes()))
    if not found:
        raise ReleaseError(f"no firmware files in {folder}")
    return found


def build_manifest(version: str, min_version: str, files: list[dict[str, Any]], firmware_version: str | None,
                   created_at: str | None = None) -> dict[str, Any]:
    """The manifest object before signing. Raises ReleaseError on a malformed version."""
    for name, value in (("version", version), ("min_version", min_version)):
        if not _VERSION.match(value):
            raise ReleaseError(f"{name} {value!r}: expected numbers like 1.4.2")
    if tuple(map(int, min_version.split("."))) > tuple(map(int, version.split("."))):
        raise ReleaseError("min_version is newer than version")
    return {"type": "update.manifest", "v": 1, "version": version, "min_version": min_version,
            "created_at": created_at or iso(datetime.now(CHINA_TZ)), "firmware_version": firmware_version,
            "files": files}


def write_bundle(out: Path, manifest: dict[str, Any], contents: list[tuple[str, bytes]]) -> None:
    """The tar file: the manifest, then the files in manifest order; fixed owners and times (reproducible)."""
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    with tarfile.open(tmp, "w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data in [("manifest.json", canonical(manifest)), *contents]:
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    os.replace(tmp, out)


def canonical(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def build_bundle(keys: KeyRing, out: Path, version: str, wheels: list[Path], min_version: str | None = None,
                 firmware: Path | None = None, firmware_version: str | None = None, key_id: str = UPDATE_KEY,
                 created_at: str | None = None) -> dict[str, Any]:
    """Writes a signed bundle to ``out`` and returns its signed manifest. Raises ReleaseError on inputs a
    terminal would refuse, OSError on unreadable files."""
    wheels = sorted(wheels, key=lambda p: p.name)
    _check_wheels(wheels, version)
    contents = [(f"wheels/{w.name}", w.read_bytes()) for w in wheels]
    if firmware is not None:
        match = _FIRMWARE_VERSION.match(firmware_version or "")
        if match is None or any(int(part) > 255 for part in match.groups()):
            raise ReleaseError("firmware files need --firmware-version MAJOR.MINOR.PATCH (each 0-255)")
        contents += firmware_files(firmware)
    entries = [_file_entry(path, "firmware" if path.startswith("firmware/") else "wheel", data)
               for path, data in contents]
    manifest = build_manifest(version, min_version or version, entries,
                              firmware_version if firmware is not None else None, created_at)
    signed = keys.sign(manifest, key_id)
    write_bundle(out, signed, contents)
    return signed


def blob_descriptor(path: Path, chunk_size: int) -> dict[str, Any]:
    """How a bundle file travels as a downlink blob: id (from its sha256), size, sha256, chunk size."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    sha = digest.hexdigest()
    return {"blob_id": f"upd-{sha[:32]}", "size": path.stat().st_size, "sha256": sha, "chunk_size": chunk_size}


def read_manifest(path: Path) -> dict[str, Any]:
    """The manifest of a bundle file (not verified: central built it). Raises ReleaseError."""
    try:
        with tarfile.open(path, "r:") as tar:
            member = tar.next()
            if member is None or member.name != "manifest.json":
                raise ReleaseError(f"{path.name}: does not start with manifest.json")
            handle = tar.extractfile(member)
            data = json.loads(handle.read() if handle is not None else b"")
    except (tarfile.TarError, OSError, ValueError) as exc:
        raise ReleaseError(f"{path.name}: not a bundle ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("version"), str):
        raise ReleaseError(f"{path.name}: manifest without a version")
    return data
