"""The update root's layout (A/B): each version lives in its own slot ``<root>/slots/<name>`` — a virtual
environment, the IO board firmware files, and ``slot.json`` written last (a slot without it is a partial
build, removed on sight); dependency layers shared by slots live in ``<root>/deps`` (kiosk/update/build.py).
``current`` (what the service runs) and ``good`` (the last confirmed slot; the updater itself runs from
it) are symlinks, each replaced by one rename."""
from __future__ import annotations

import fcntl
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from kiosk.update.errors import InstallBusy
from kiosk.update.state import SlotRef, fsync_dir

SLOT_FILE = "slot.json"


@dataclass(frozen=True)
class Layout:
    """Where everything of the installer lives under one root (``/opt/kiosk`` on a terminal)."""

    root: Path

    @property
    def slots(self) -> Path:
        return self.root / "slots"

    @property
    def current(self) -> Path:
        return self.root / "current"

    @property
    def good(self) -> Path:
        return self.root / "good"

    @property
    def journal(self) -> Path:
        return self.root / "state.json"

    @property
    def incoming(self) -> Path:
        return self.root / "incoming"

    @property
    def deps(self) -> Path:
        return self.root / "deps"

    def slot_dir(self, name: str) -> Path:
        return self.slots / name

    def slot_python(self, name: str) -> Path:
        return self.slot_dir(name) / "venv" / "bin" / "python"

    def firmware_dir(self, name: str) -> Path:
        return self.slot_dir(name) / "firmware"

    def linked(self, link: Path) -> str | None:
        """The slot name a link points at, or None (no link, or not a slot link)."""
        try:
            target = os.readlink(link)
        except OSError:
            return None
        parts = Path(target).parts
        return parts[-1] if len(parts) == 2 and parts[0] == "slots" else None

    def point(self, link: Path, slot: str) -> None:
        """Makes ``link`` point at ``slots/<slot>`` with one rename: readers see the old or the new target."""
        tmp = link.with_name(f".{link.name}.{os.getpid()}.tmp")
        try:
            tmp.unlink()
        except FileNotFoundError:
            pass
        os.symlink(f"slots/{slot}", tmp)
        os.replace(tmp, link)
        fsync_dir(self.root)

    def read_slot(self, name: str) -> SlotRef | None:
        """The slot's record, or None when the slot is absent or was never completed."""
        raw = self.slot_record(name)
        if raw is None:
            return None
        firmware = raw.get("firmware_version")
        try:
            return SlotRef(str(raw["name"]), str(raw["version"]), firmware if isinstance(firmware, str) else None)
        except (KeyError, TypeError):
            return None

    def slot_record(self, name: str) -> dict[str, object] | None:
        try:
            raw = json.loads((self.slot_dir(name) / SLOT_FILE).read_text("utf-8"))
        except (OSError, ValueError):
            return None
        return raw if isinstance(raw, dict) else None

    def remove_slot(self, name: str) -> None:
        """Removes a slot; safe to repeat after an interruption (the record goes first)."""
        folder = self.slot_dir(name)
        (folder / SLOT_FILE).unlink(missing_ok=True)
        shutil.rmtree(folder, ignore_errors=True)

    def slot_names(self) -> list[str]:
        try:
            return sorted(p.name for p in self.slots.iterdir() if p.is_dir())
        except FileNotFoundError:
            return []


class RootLock:
    """One installer at a time per root (``flock``; the kernel releases it when the holder dies)."""

    def __init__(self, layout: Layout) -> None:
        self.path = layout.root / "lock"
        self._fd: int | None = None

    def __enter__(self) -> RootLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise InstallBusy("another installer is running on this terminal; try again when it is done") from None
        self._fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
