"""Reading an update bundle: an uncompressed tar whose first member is the signed ``manifest.json``,
followed by exactly the files it lists (the wheels are compressed already). The signature is checked
before anything else is trusted, then the version rules, then every file's size and sha256 while it is
streamed (into a staging folder, or nowhere for a check only). Any cut, change or surplus is refused."""
from __future__ import annotations

import hashlib
import os
import tarfile
from collections.abc import Mapping
from pathlib import Path
from typing import IO

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from edge_sync.crypto import SignatureError, UnknownKey, verify_signed
from kiosk.update.errors import (
    BundleBadSignature,
    BundleCorrupt,
    BundleDowngrade,
    BundleMalformed,
    BundleNeedsNewer,
    BundleSameVersion,
    BundleTruncated,
    BundleUnknownKey,
    BundleUnsigned,
)
from kiosk.update.manifest import MANIFEST_NAME, MAX_MANIFEST_BYTES, Manifest, parse_manifest_bytes
from kiosk.update.versions import Version

BLOCK = 1024 * 1024
_END_MARKER = 1024  # a tar archive ends with two 512-byte blocks of zeros
RECORD = 10240      # and is padded with zeros to a whole record (tar's default; the addendum requires it)
_TAR_ERRORS = (tarfile.TarError, EOFError, OSError)


def check_signature(manifest: Manifest, keys: Mapping[str, Ed25519PublicKey]) -> None:
    """Raises BundleUnsigned, BundleUnknownKey or BundleBadSignature unless one of the accepted update
    keys signed the manifest (canonical JSON without ``sig``, as for commands)."""
    sig = manifest.signed.get("sig")
    if not isinstance(sig, str) or not sig:
        raise BundleUnsigned("the bundle's manifest is not signed: not installed")
    try:
        verify_signed(manifest.signed, keys)
    except UnknownKey:
        raise BundleUnknownKey(f"signed by key {manifest.key_id!r}, which this terminal does not accept "
                               "(deploy the new key first, see docs/security.md)") from None
    except SignatureError:
        raise BundleBadSignature("the manifest's signature does not verify: the bundle was changed "
                                 "or signed by another key") from None


def check_versions(manifest: Manifest, running: Version | None) -> None:
    """Refuses a downgrade, the running version again, and a bundle whose min_version is newer than the
    running version. Without a running version (first install) every version is allowed."""
    if running is None:
        return
    if manifest.version < running:
        raise BundleDowngrade(f"bundle {manifest.version} is older than the running {running}: "
                              "not installed (use `kiosk update rollback` to go back)")
    if manifest.version == running:
        raise BundleSameVersion(f"version {running} is already running")
    if running < manifest.min_version:
        raise BundleNeedsNewer(f"bundle {manifest.version} installs only over {manifest.min_version} or newer; "
                               f"this terminal runs {running}")


def read_manifest(path: Path) -> Manifest:
    """The bundle's manifest (shape checked, signature NOT checked). Raises BundleMalformed or
    BundleTruncated."""
    with _open(path) as tar:
        return _first_manifest(tar)


def verify_bundle(path: Path, keys: Mapping[str, Ed25519PublicKey], running: Version | None,
                  dest: Path | None = None) -> Manifest:
    """Checks the whole bundle and returns its manifest; with ``dest`` (an empty or absent folder) the
    files are written there as they are checked (``dest/wheels/…``, ``dest/firmware/…``), each fsynced.

    Raises a BundleRefused subclass (nothing installed; ``dest`` may hold part of the files)."""
    with _open(path) as tar:
        manifest = _first_manifest(tar)
        check_signature(manifest, keys)
        check_versions(manifest, running)
        if dest is not None:
            dest.mkdir(parents=True, exist_ok=True)
        seen: set[str] = set()
        while True:
            try:
                member = tar.next()
            except _TAR_ERRORS:
                raise BundleTruncated(_missing_text(manifest, seen)) from None
            if member is None:
                break
            entry = manifest.file(member.name)
            if entry is None or member.name in seen:
                raise BundleMalformed(f"{member.name[:120]!r} is not a file the manifest lists (once)")
            if not member.isreg():
                raise BundleMalformed(f"{member.name}: not a regular file")
            if member.size != entry.size:
                raise BundleCorrupt(f"{member.name}: {member.size} bytes, the manifest says {entry.size}")
            _copy_checked(tar, member, entry.sha256, None if dest is None else dest / entry.path)
            seen.add(member.name)
        if len(seen) != len(manifest.files):
            raise BundleTruncated(_missing_text(manifest, seen))
        end = tar.offset
    _check_end(path, end)
    return manifest


def _open(path: Path) -> tarfile.TarFile:
    try:
        return tarfile.open(path, mode="r:")
    except FileNotFoundError:
        raise BundleMalformed(f"no bundle at {path}") from None
    except IsADirectoryError:
        raise BundleMalformed(f"{path} is a folder, not a bundle file") from None
    except _TAR_ERRORS as exc:
        raise BundleMalformed(f"{path.name} is not a bundle (not a tar archive: {exc})") from None


def _first_manifest(tar: tarfile.TarFile) -> Manifest:
    try:
        member = tar.next()
    except _TAR_ERRORS:
        raise BundleTruncated("the bundle ends inside its manifest") from None
    if member is None or member.name != MANIFEST_NAME or not member.isreg():
        raise BundleMalformed(f"the bundle does not start with {MANIFEST_NAME}")
    if member.size > MAX_MANIFEST_BYTES:
        raise BundleMalformed(f"manifest larger than {MAX_MANIFEST_BYTES} bytes")
    try:
        handle = tar.extractfile(member)
        raw = handle.read() if handle is not None else b""
    except _TAR_ERRORS:
        raise BundleTruncated("the bundle ends inside its manifest") from None
    if len(raw) != member.size:
        raise BundleTruncated("the bundle ends inside its manifest")
    return parse_manifest_bytes(raw)


def _copy_checked(tar: tarfile.TarFile, member: tarfile.TarInfo, sha256: str, target: Path | None) -> None:
    digest = hashlib.sha256()
    out: IO[bytes] | None = None
    try:
        if target is not None:
            target.parent.mkdir(parents=True, exist_ok=True)
            out = open(target, "wb")  # noqa: SIM115 - closed in finally, after fsync
        source = tar.extractfile(member)
        if source is None:
            raise BundleMalformed(f"{member.name}: not readable")
        left = member.size
        while left > 0:
            try:
                block = source.read(min(BLOCK, left))
            except _TAR_ERRORS:
                raise BundleTruncated(f"the bundle ends inside {member.name}") from None
            if not block:
                raise BundleTruncated(f"the bundle ends inside {member.name}")
            digest.update(block)
            if out is not None:
                out.write(block)
            left -= len(block)
        if out is not None:
            out.flush()
            os.fsync(out.fileno())
    finally:
        if out is not None:
            out.close()
    if digest.hexdigest() != sha256:
        raise BundleCorrupt(f"{member.name}: sha256 differs from the signed manifest")


def _check_end(path: Path, end: int) -> None:
    """After the last file only zeros, at least the end-of-archive marker, up to a whole record: a copy cut
    anywhere after the last file's data is still a cut copy."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as handle:
            handle.seek(end)
            tail = handle.read(size - end) if 0 <= end <= size else b"x"
    except OSError as exc:
        raise BundleTruncated(f"bundle not readable to its end: {exc}") from None
    if len(tail) < _END_MARKER or tail.strip(b"\0") or size % RECORD:
        raise BundleTruncated("the bundle ends before its end-of-archive record is complete (an interrupted copy?)")


def _missing_text(manifest: Manifest, seen: set[str]) -> str:
    missing = [f.path for f in manifest.files if f.path not in seen]
    first = missing[0] if missing else "?"
    return f"the bundle ends early: {len(missing)} of {len(manifest.files)} files missing (first {first})"
