"""The signed manifest of an update bundle (``manifest.json``, the bundle's first member): what version it
brings, from which version it may be installed, and the size and sha256 of every file. Parsed from
outside bytes into one typed value; anything that does not fit is refused with BundleMalformed."""
from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from drivers.ioboard.errors import FirmwareInputError
from drivers.ioboard.firmware import PROTECTED, check_name, check_version
from kiosk.update.errors import BundleMalformed
from kiosk.update.versions import BadVersion, Version

MANIFEST_NAME = "manifest.json"
MANIFEST_TYPE = "update.manifest"
MAX_MANIFEST_BYTES = 256 * 1024
MAX_FILES = 500
MAX_FILE_BYTES = 512 * 1024 * 1024
# The terminal's distribution (setup.py) and the one that must never reach a terminal (simulators/setup.py).
PRODUCT = "gov_kiosk"
FORBIDDEN_DISTRIBUTIONS = frozenset({"gov_kiosk_sim"})

_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_PART_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+-]{0,99}$")
# {distribution}-{version}(-{build})?-{python}-{abi}-{platform}.whl (PEP 427)
_WHEEL_RE = re.compile(r"^(?P<dist>[A-Za-z0-9_.]+)-(?P<version>[A-Za-z0-9_.!+]+)(-[0-9][A-Za-z0-9_.]*)?"
                       r"-[A-Za-z0-9_.]+-[A-Za-z0-9_.]+-[A-Za-z0-9_.]+\.whl$")


class FileKind(StrEnum):
    """What a bundle file is for: a wheel for the new virtual environment, or an IO board firmware file."""

    WHEEL = "wheel"
    FIRMWARE = "firmware"


@dataclass(frozen=True)
class BundleFile:
    """One file of the bundle, at ``path`` inside it (``wheels/…whl`` or ``firmware/…``)."""

    path: str
    kind: FileKind
    size: int
    sha256: str

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class WheelName:
    """The distribution and version a wheel's file name says it holds."""

    distribution: str
    version: str

    @classmethod
    def parse(cls, filename: str) -> WheelName | None:
        match = _WHEEL_RE.fullmatch(filename)
        if match is None:
            return None
        return cls(match["dist"].lower().replace(".", "_").replace("-", "_"), match["version"])


@dataclass(frozen=True)
class Manifest:
    """A verified-shape manifest. ``signed`` is the JSON object as it arrived (the signature covers it)."""

    version: Version
    min_version: Version
    created_at: str
    files: tuple[BundleFile, ...]
    firmware_version: str | None
    key_id: str
    signed: Mapping[str, Any]

    @property
    def wheels(self) -> tuple[BundleFile, ...]:
        return tuple(f for f in self.files if f.kind is FileKind.WHEEL)

    @property
    def firmware(self) -> tuple[BundleFile, ...]:
        return tuple(f for f in self.files if f.kind is FileKind.FIRMWARE)

    @property
    def total_size(self) -> int:
        return sum(f.size for f in self.files)

    def file(self, path: str) -> BundleFile | None:
        return next((f for f in self.files if f.path == path), None)

    def requirement(self) -> str:
        """What pip installs into the new environment: the terminal's distribution at this version."""
        return f"gov-kiosk=={self.version}"


def parse_manifest_bytes(raw: bytes) -> Manifest:
    """Raises BundleMalformed when ``raw`` is not a UTF-8 JSON manifest of this format."""
    if len(raw) > MAX_MANIFEST_BYTES:
        raise BundleMalformed(f"manifest larger than {MAX_MANIFEST_BYTES} bytes")
    try:
        obj = json.loads(raw.decode("utf-8"))
        # A lone surrogate survives json.loads but not the signature's canonical UTF-8 form.
        json.dumps(obj, ensure_ascii=False).encode("utf-8")
    except (UnicodeError, ValueError, RecursionError):
        raise BundleMalformed("manifest is not UTF-8 JSON") from None
    if not isinstance(obj, dict):
        raise BundleMalformed("manifest is not a JSON object")
    return parse_manifest(obj)


def parse_manifest(obj: Mapping[str, Any]) -> Manifest:
    """The typed manifest of a JSON object. Raises BundleMalformed naming the first field that is wrong."""
    if obj.get("type") != MANIFEST_TYPE or obj.get("v") != 1:
        raise BundleMalformed(f"not an {MANIFEST_TYPE} of version 1")
    try:
        version = Version.parse(obj.get("version"))
        min_version = Version.parse(obj.get("min_version"))
    except BadVersion as exc:
        raise BundleMalformed(f"version/min_version: {exc}") from None
    if min_version > version:
        raise BundleMalformed("min_version is newer than version")
    created_at = _text(obj, "created_at", 64)
    key_id = _text(obj, "key_id", 64)
    firmware_version = obj.get("firmware_version")
    if firmware_version is not None:
        try:
            check_version(firmware_version if isinstance(firmware_version, str) else "")
        except FirmwareInputError:
            raise BundleMalformed("firmware_version: expected null or MAJOR.MINOR.PATCH, each 0-255 "
                                  "(what the IO board reports)") from None
    files = _files(obj.get("files"))
    manifest = Manifest(version, min_version, created_at, files, firmware_version, key_id, dict(obj))
    _check_wheels(manifest)
    if manifest.firmware and firmware_version is None:
        raise BundleMalformed("firmware files without a firmware_version")
    return manifest


def _text(obj: Mapping[str, Any], key: str, limit: int) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not 0 < len(value) <= limit:
        raise BundleMalformed(f"{key}: expected text of 1..{limit} characters")
    return value


def _files(raw: Any) -> tuple[BundleFile, ...]:
    if not isinstance(raw, list) or not 0 < len(raw) <= MAX_FILES:
        raise BundleMalformed(f"files: expected a list of 1..{MAX_FILES} entries")
    files: list[BundleFile] = []
    seen: set[str] = set()
    for n, entry in enumerate(raw):
        if not isinstance(entry, dict):
            raise BundleMalformed(f"files[{n}]: expected an object")
        path, kind, size, sha = entry.get("path"), entry.get("kind"), entry.get("size"), entry.get("sha256")
        if kind not in (FileKind.WHEEL.value, FileKind.FIRMWARE.value):
            raise BundleMalformed(f"files[{n}].kind: expected wheel or firmware")
        if not isinstance(path, str) or not safe_path(path, FileKind(kind)):
            raise BundleMalformed(f"files[{n}].path: not a safe wheels/… or firmware/… path")
        if path in seen:
            raise BundleMalformed(f"files[{n}].path: listed twice")
        if not isinstance(size, int) or isinstance(size, bool) or not 0 <= size <= MAX_FILE_BYTES:
            raise BundleMalformed(f"files[{n}].size: expected 0..{MAX_FILE_BYTES}")
        if not isinstance(sha, str) or not _SHA256_RE.fullmatch(sha):
            raise BundleMalformed(f"files[{n}].sha256: expected 64 lower-case hex digits")
        seen.add(path)
        files.append(BundleFile(path, FileKind(kind), size, sha))
    return tuple(files)


def safe_path(path: str, kind: FileKind) -> bool:
    """``wheels/<a .whl>``, or ``firmware/<a name the IO board takes>`` (its boot files included: they
    are kept, never sent): plain names only, nothing that could point outside the folder they go to."""
    parts = path.split("/")
    if len(parts) != 2 or not all(_PART_RE.fullmatch(p) and p not in (".", "..") for p in parts):
        return False
    if kind is FileKind.WHEEL:
        return parts[0] == "wheels" and parts[1].endswith(".whl")
    if parts[0] != "firmware":
        return False
    if parts[1] in PROTECTED:
        return True
    try:
        check_name(parts[1])
    except FirmwareInputError:
        return False
    return True


def _check_wheels(manifest: Manifest) -> None:
    products = []
    names: set[str] = set()
    for wheel in manifest.wheels:
        parsed = WheelName.parse(wheel.name)
        if parsed is None:
            raise BundleMalformed(f"{wheel.path}: not a wheel file name")
        if parsed.distribution in FORBIDDEN_DISTRIBUTIONS:
            raise BundleMalformed(f"{wheel.path}: the simulators never go into a terminal's bundle")
        if parsed.distribution in names:
            raise BundleMalformed(f"{wheel.path}: a second wheel of {parsed.distribution}")
        names.add(parsed.distribution)
        if parsed.distribution == PRODUCT:
            products.append(parsed)
    if len(products) != 1 or products[0].version != str(manifest.version):
        raise BundleMalformed(f"expected exactly one {PRODUCT} wheel of version {manifest.version}")
    if "pip" not in names:
        raise BundleMalformed("no pip wheel: the terminal installs the bundle with the pip it carries")
