"""The service's side of updates: central's ``update_install`` / ``update_rollback`` commands (contract
addendum, "Updates"), the bundle fetched over MQTT into the data dir (resumable), a first check of it,
the request left for the installer, and every transition of the installer's journal reported to central
as ``update.progress`` / ``update.result`` events (through the durable outbox: nothing is lost while the
service restarts into the new version)."""
from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from edge_sync.fetch import DownBlob, FetchError
from kiosk.update import state as journal
from kiosk.update.bundle import check_signature, check_versions, read_manifest
from kiosk.update.errors import BundleRefused, UpdateError
from kiosk.update.firmware import FirmwareFollower, SlotFirmware
from kiosk.update.request import Request, read_request, write_request
from kiosk.update.settings import UpdateSettings
from kiosk.update.state import Action, Event, Phase, write_atomic
from kiosk.update.status import update_state
from kiosk.update.versions import BadVersion, Version

log = logging.getLogger(__name__)

REPORT_S = 1.0         # how often the journal is looked at while an install or rollback is under way
REST_REPORT_S = 30.0   # and while none is (a request this agent writes starts the quick looks at once)
Outcome = tuple[bool, Any]


class IoBoardFirmware(Protocol):
    """What the agent uses of the IO board (kiosk.adapters.IoBoardAdapter)."""

    def board_info(self) -> Mapping[str, Any]: ...

    def update_firmware(self, files: Mapping[str, bytes], version: str) -> str: ...


class UpdateEngine(Protocol):
    """What the agent uses of edge_sync's SyncEngine."""

    def fetch_blob(self, blob: DownBlob, dest: Path, progress: Callable[[int, int], None] | None = None,
                   stop: threading.Event | None = None) -> Path: ...

    def send_event(self, type_: str, fields: Mapping[str, Any]) -> str: ...


@dataclass(frozen=True)
class InstallCommand:
    """The arguments of ``update_install``: which rollout, which version, and the bundle as a downlink blob."""

    rollout_id: str
    version: Version
    blob: DownBlob

    @classmethod
    def parse(cls, args: Mapping[str, Any]) -> InstallCommand:
        """Raises ValueError naming the first bad argument."""
        rollout = args.get("rollout_id")
        if not isinstance(rollout, str) or not 0 < len(rollout) <= 64 or not rollout.replace("-", "").isalnum():
            raise ValueError("args.rollout_id: 1-64 letters, digits or '-'")
        try:
            version = Version.parse(args.get("version"))
        except BadVersion as exc:
            raise ValueError(f"args.version: {exc}") from None
        return cls(rollout, version, DownBlob.parse(args.get("bundle")))


class UpdateAgent:
    """Runs in the service. ``on_install``/``on_rollback`` answer central's commands at once (the work goes
    on in the agent's threads); ``status()`` is the ``update`` part of ``/api/status``."""

    def __init__(self, settings: UpdateSettings, engine: UpdateEngine, running: str,
                 board: IoBoardFirmware | None = None, firmware: SlotFirmware | None = None) -> None:
        """``board`` is the IO board as far as updates care (None: no board configured); ``firmware`` what
        the running slot brings for it (None: nothing, or not run from a slot)."""
        self.s = settings
        self.engine = engine
        self.running = running
        self.board = board
        self.follower = None if board is None or firmware is None else \
            FirmwareFollower(firmware, board.board_info, board.update_firmware)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._download: threading.Thread | None = None
        self._reporter: threading.Thread | None = None
        self._percent: int | None = None
        self._look = threading.Event()  # ends the reporter's pause: a request written, or stop
        self._journal_seen: tuple[int, int, int] | None = None  # (inode, size, mtime) of the journal read last
        self._under_way = True  # until the first look says otherwise

    @property
    def _pending(self) -> Path:
        return self.s.spool / "download.json"

    @property
    def _reported(self) -> Path:
        return self.s.spool / "reported.json"

    # -- lifecycle ------------------------------------------------------------------------------------
    def start(self) -> None:
        self._stop.clear()
        self.s.spool.mkdir(parents=True, exist_ok=True)
        self._reporter = threading.Thread(target=self._report_loop, name="update-reporter", daemon=True)
        self._reporter.start()
        pending = self._read_pending()
        if pending is not None:
            log.info("resuming the download of %s for rollout %s", pending[1].version, pending[1].rollout_id)
            self._start_download(*pending)
        if self.follower is not None:
            self.follower.start()

    def stop(self) -> None:
        self._stop.set()
        self._look.set()
        if self.follower is not None:
            self.follower.stop()
        for thread in (self._download, self._reporter):
            if thread is not None:
                thread.join(5)

    # -- commands -------------------------------------------------------------------------------------
    def on_install(self, args: Mapping[str, Any], cmd_id: str) -> Outcome:
        try:
            command = InstallCommand.parse(args)
        except ValueError as exc:
            return False, f"refused: {exc}"
        running = Version.parse(self.running)
        if command.version <= running:
            return False, f"refused: {command.version} is not newer than the running {running}"
        with self._lock:
            busy = self._download is not None and self._download.is_alive()
            pending = self._read_pending()
            if busy and pending is not None and pending[1].rollout_id == command.rollout_id:
                return True, f"already downloading {command.version}"
            if busy or update_state(self.s.layout.root).phase not in (Phase.IDLE.value, "none"):
                return False, "busy: another update is under way on this terminal"
            write_atomic(self._pending, json.dumps({"cmd_id": cmd_id, **dict(args)}).encode("utf-8"))
            self._start_download(cmd_id, command)
        return True, f"accepted: downloading {command.version} ({command.blob.size} bytes)"

    def on_rollback(self, args: Mapping[str, Any], cmd_id: str) -> Outcome:
        rollout = args.get("rollout_id")
        rollout_id = rollout if isinstance(rollout, str) and 0 < len(rollout) <= 64 else None
        status = update_state(self.s.layout.root)
        if status.previous is None:
            return False, "refused: no previous version is kept on this terminal"
        if status.phase != Phase.IDLE.value:
            return False, "busy: another update is under way on this terminal"
        write_request(self.s.request, Request(cmd_id or "rollback", Action.ROLLBACK, None, rollout_id))
        self._look.set()
        return True, f"rollback to {status.previous} requested"

    # -- download -------------------------------------------------------------------------------------
    def _read_pending(self) -> tuple[str, InstallCommand] | None:
        try:
            raw = json.loads(self._pending.read_text("utf-8"))
            return str(raw.get("cmd_id", "")), InstallCommand.parse(raw)
        except (OSError, ValueError, AttributeError):
            return None

    def _start_download(self, cmd_id: str, command: InstallCommand) -> None:
        self._download = threading.Thread(target=self._fetch, args=(cmd_id, command), name="update-download",
                                          daemon=True)
        self._download.start()

    def _fetch(self, cmd_id: str, command: InstallCommand) -> None:
        dest = self.s.bundles / f"{command.blob.blob_id}.bundle"
        last = -1

        def progress(have: int, count: int) -> None:
            nonlocal last
            self._percent = have * 100 // count
            if self._percent >= last + 20 or have == count:
                last = self._percent
                self._progress(command, "downloading", f"{have}/{count} chunks", self._percent)
        try:
            self.engine.fetch_blob(command.blob, dest, progress, self._stop)
            manifest = read_manifest(dest)
            check_signature(manifest, self.s.public_keys())
            check_versions(manifest, Version.parse(self.running))
            if manifest.version != command.version:
                raise BundleRefused(f"the bundle holds {manifest.version}, the command said {command.version}")
        except FetchError as exc:
            if exc.code == "cancelled":
                return  # the service stops; the download resumes at its next start
            self._result(command, "failed", f"download_{exc.code}", exc.detail)
            self._pending.unlink(missing_ok=True)
            return
        except UpdateError as exc:
            self._result(command, "refused", exc.code, str(exc))
            dest.unlink(missing_ok=True)
            self._pending.unlink(missing_ok=True)
            return
        finally:
            self._percent = None
        write_request(self.s.request, Request(cmd_id or command.rollout_id, Action.INSTALL, dest.name,
                                              command.rollout_id))
        self._look.set()
        self._pending.unlink(missing_ok=True)
        self._progress(command, "queued", "downloaded and checked; the installer takes over", 100)

    def _progress(self, command: InstallCommand, stage: str, detail: str, percent: int | None) -> None:
        self._send("update.progress", {"rollout_id": command.rollout_id, "version": str(command.version),
                                       "stage": stage, "percent": percent, "detail": detail})

    def _result(self, command: InstallCommand, result: str, code: str, detail: str) -> None:
        self._send("update.result", {"rollout_id": command.rollout_id, "version": str(command.version),
                                     "from_version": self.running, "result": result, "code": code,
                                     "detail": detail[:400], "running": self.running})

    def _send(self, kind: str, fields: dict[str, Any]) -> None:
        try:
            self.engine.send_event(kind, fields)
        except Exception as exc:  # storage full: the journal keeps the story; the next report may go
            log.warning("%s not queued: %s", kind, exc)

    # -- reporting the installer's journal -------------------------------------------------------------
    def _report_loop(self) -> None:
        pause = REPORT_S
        while not self._stop.is_set():
            self._look.wait(pause)
            self._look.clear()
            if self._stop.is_set():
                return
            try:
                self.report_once()
            except Exception:
                log.exception("update report failed")
            # A resting terminal wakes for the journal seldom: only the installer changes it, and only
            # after a request (written by this agent, or found waiting here) or during an operation.
            pause = REPORT_S if self._under_way or self.s.request.exists() else REST_REPORT_S

    def _journal_stat(self) -> tuple[int, int, int] | None:
        try:
            st = self.s.layout.journal.stat()
        except OSError:
            return None
        return st.st_ino, st.st_size, st.st_mtime_ns

    def report_once(self) -> int:
        """Sends the journal's transitions not reported yet; returns how many. The installer replaces the
        journal whole, so one whose inode, size and time are those of the journal reported last holds
        nothing new and is not read again."""
        seen = self._journal_stat()
        if seen is not None and seen == self._journal_seen:
            return 0
        try:
            state = journal.load(self.s.layout.journal)
        except ValueError:
            return 0
        self._under_way = state is not None and state.phase is not Phase.IDLE
        if state is None:
            return 0
        try:
            done = int(json.loads(self._reported.read_text("utf-8"))["seq"])
        except (OSError, ValueError, KeyError, TypeError):
            done = -1
        if done < 0 or done > state.seq:
            # First start (or a journal started afresh): report from the operation under way, not history.
            done = _start_of_last_operation(state.events)
        sent = 0
        for event in state.events:
            if event.seq <= done:
                continue
            self._send(*event_fields(event, self.running))
            write_atomic(self._reported, json.dumps({"seq": event.seq}).encode("utf-8"))
            sent += 1
        self._journal_seen = seen
        return sent

    # -- status ---------------------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        """The ``update`` field of ``device.health``: read from the installer's journal (no write)."""
        return update_state(self.s.layout.root).to_health()

    def status(self) -> dict[str, Any]:
        current = update_state(self.s.layout.root)
        out: dict[str, Any] = {"phase": current.phase, "confirmed": current.version, "previous": current.previous,
                               "target": current.target, "downloading": self._percent,
                               "request_pending": self.s.request.exists()}
        try:
            pending = read_request(self.s.request)
            out["request_pending"] = pending is not None
        except ValueError:
            pass
        board: dict[str, Any] = {"configured": False} if self.board is None else dict(self.board.board_info())
        if self.follower is not None:
            board.update(self.follower.status())
        out["ioboard"] = board
        return out


def event_fields(event: Event, running: str) -> tuple[str, dict[str, Any]]:
    """A journal transition as the event central receives."""
    if event.result is not None:
        return "update.result", {"rollout_id": event.rollout_id, "version": event.version,
                                 "from_version": event.from_version, "result": event.result.value,
                                 "code": event.code or "", "detail": event.detail, "running": running}
    return "update.progress", {"rollout_id": event.rollout_id, "version": event.version, "stage": event.stage,
                               "percent": None, "detail": event.detail}


def _start_of_last_operation(events: tuple[Event, ...]) -> int:
    """The seq before the newest operation's first transition (an operation ends with a result)."""
    start = events[0].seq - 1 if events else 0
    for event in events[:-1]:
        if event.result is not None:
            start = event.seq
    return start
