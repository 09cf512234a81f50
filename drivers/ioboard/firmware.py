"""IO board firmware updates, the typed values: the firmware image (checked whole before anything is sent),
the board's update state, the result of an update, and the FW_* payloads of docs/ioboard-protocol.md §5.
Written from the document, independently of the firmware's own updater."""
from __future__ import annotations

import hashlib
import re
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any

from drivers.ioboard.errors import FirmwareInputError, ProtocolError

CHUNK = 60                # FW_DATA: 4 bytes of offset + 60 of data fill a 64-byte payload
MAX_FILES = 16
MAX_FILE_SIZE = 0x3FFFF   # 256 KiB - 1
MAX_NAME = 24
SHA_LEN = 32
# The boot guard and its entry points stay on the board whatever an update brings.
PROTECTED = frozenset({"main.py", "boot.py", "fwboot.py"})
_NAME = re.compile(r"[a-z0-9_]+\.(?:py|mpy)")
_VERSION = re.compile(r"(\d{1,3})\.(\d{1,3})\.(\d{1,3})")


class RollbackReason(IntEnum):
    """Why the board last went back to its previous firmware (FW_STATE)."""

    CRASHED = 1      # the new firmware failed to start or stopped
    BOOTS = 2        # it restarted more than 3 times without being confirmed
    UNCONFIRMED = 3  # nobody confirmed it within the trial time
    REQUESTED = 4    # the Pi asked for it (FW_ROLLBACK)


@dataclass(frozen=True)
class FirmwareState:
    """The board's update state: a new firmware on ``trial`` (not yet confirmed), a ``backup`` of the
    previous files it could go back to, an update being ``staging`` (begun, not committed)."""

    trial: bool
    backup: bool
    staging: bool
    trial_boots: int
    last_rollback: RollbackReason | None
    staged_files: int


@dataclass(frozen=True)
class FirmwareUpdateResult:
    previous_version: str
    version: str
    files: tuple[str, ...]
    bytes_sent: int
    seconds: float


def check_version(version: str) -> str:
    """``MAJOR.MINOR.PATCH`` with each part 0…255 (as WELCOME carries it); raises FirmwareInputError."""
    match = _VERSION.fullmatch(version or "")
    if not match or any(int(part) > 255 for part in match.groups()):
        raise FirmwareInputError(f"firmware version {version!r}: expected MAJOR.MINOR.PATCH, each 0-255")
    return ".".join(str(int(part)) for part in match.groups())


def check_name(name: str) -> str:
    if name in PROTECTED:
        raise FirmwareInputError(f"{name}: the board's boot files are never replaced over the link")
    if len(name) > MAX_NAME or not _NAME.fullmatch(name):
        raise FirmwareInputError(f"{name!r}: a firmware file is 1-{MAX_NAME} characters of a-z, 0-9 and _, "
                                 "ending in .py or .mpy")
    return name


@dataclass(frozen=True)
class FirmwareImage:
    """The files of one firmware version, each checked: name, size, and (from a folder) its manifest."""

    version: str
    files: Mapping[str, bytes]

    @classmethod
    def of(cls, files: Mapping[str, bytes], version: str) -> FirmwareImage:
        """Raises FirmwareInputError for no files, too many, a bad or protected name, an empty file or
        one of 256 KiB or more, or a malformed version."""
        version = check_version(version)
        if not files:
            raise FirmwareInputError("no firmware files")
        if len(files) > MAX_FILES:
            raise FirmwareInputError(f"{len(files)} files: at most {MAX_FILES} in one update")
        checked: dict[str, bytes] = {}
        for name in sorted(files):
            data = bytes(files[name])
            check_name(name)
            if not 0 < len(data) <= MAX_FILE_SIZE:
                raise FirmwareInputError(f"{name}: {len(data)} bytes; a file must have 1 to {MAX_FILE_SIZE}")
            checked[name] = data
        return cls(version, MappingProxyType(checked))

    @classmethod
    def from_folder(cls, folder: Path, manifest: Mapping[str, Any]) -> FirmwareImage:
        """The files a manifest (``{"version": …, "files": {name: {"size": n, "sha256": hex}}}``) lists,
        read from ``folder``. Raises FirmwareInputError for a malformed manifest, a missing file, or a
        file whose size or SHA-256 differs from the manifest's (truncated, altered)."""
        listed = manifest.get("files")
        if not isinstance(listed, Mapping) or not listed:
            raise FirmwareInputError("manifest: no \"files\" table")
        files: dict[str, bytes] = {}
        for name, entry in listed.items():
            check_name(str(name))
            size, digest = (entry.get("size"), entry.get("sha256")) if isinstance(entry, Mapping) else (None, None)
            if not isinstance(size, int) or not isinstance(digest, str):
                raise FirmwareInputError(f"manifest: {name} needs \"size\" (bytes) and \"sha256\" (hex)")
            try:
                data = (folder / name).read_bytes()
            except OSError as exc:
                raise FirmwareInputError(f"{name}: listed in the manifest but not readable: {exc}") from None
            if len(data) != size:
                cut = " (truncated)" if len(data) < size else ""
                raise FirmwareInputError(f"{name}: {len(data)} bytes, the manifest says {size}{cut}")
            if hashlib.sha256(data).hexdigest() != digest.lower():
                raise FirmwareInputError(f"{name}: SHA-256 differs from the manifest (altered or damaged)")
            files[name] = data
        version = manifest.get("version")
        return cls.of(files, version if isinstance(version, str) else "")

    @property
    def total_bytes(self) -> int:
        return sum(len(data) for data in self.files.values())

    def manifest(self) -> dict[str, Any]:
        """The unsigned manifest of this image (what ``from_folder`` checks against)."""
        return {"version": self.version,
                "files": {name: {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
                          for name, data in self.files.items()}}


# ---- FW_* payloads ---------------------------------------------------------------------------

_FILE = struct.Struct(">I32s")
_OFFSET = struct.Struct(">I")
_STATE = struct.Struct(">BBBB")


def fw_file_payload(name: str, data: bytes) -> bytes:
    """FW_FILE: SIZE (u32), SHA-256 (32 bytes), NAME (ASCII)."""
    return _FILE.pack(len(data), hashlib.sha256(data).digest()) + check_name(name).encode("ascii")


def fw_data_payload(offset: int, chunk: bytes) -> bytes:
    """FW_DATA: OFFSET (u32), then 1…60 bytes of the file."""
    if not 0 < len(chunk) <= CHUNK:
        raise ValueError(f"a chunk has 1 to {CHUNK} bytes, not {len(chunk)}")
    return _OFFSET.pack(offset) + chunk


def parse_fw_data_ack(payload: bytes) -> int:
    """The file's length on the board after a FW_DATA (its ACK: REF, LENGTH u32)."""
    if len(payload) != 1 + _OFFSET.size:
        raise ProtocolError(f"FW_DATA ACK of {len(payload)} bytes")
    return int(_OFFSET.unpack_from(payload, 1)[0])


def parse_fw_state(payload: bytes) -> FirmwareState:
    """FW_STATE's ACK: REF, FLAGS (bit 0 trial, 1 backup, 2 staging), TRIAL_BOOTS, LAST_ROLLBACK, STAGED."""
    if len(payload) != 1 + _STATE.size:
        raise ProtocolError(f"FW_STATE ACK of {len(payload)} bytes")
    flags, boots, reason, staged = _STATE.unpack_from(payload, 1)
    try:
        last = RollbackReason(reason) if reason else None
    except ValueError:
        raise ProtocolError(f"unknown rollback reason {reason}") from None
    return FirmwareState(bool(flags & 1), bool(flags & 2), bool(flags & 4), boots, last, staged)
