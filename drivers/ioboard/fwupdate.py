"""The IO board's firmware update over its serial link, the Pi's side (docs/ioboard-protocol.md §5):
every file written in chunks at the offset the board acknowledges and verified whole by the board,
the commit, the restart, the version handshake checked, then the new firmware confirmed — or, when it
does not come up as expected, the board's own rollback awaited (or asked for) and reported."""
from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, cast

from drivers.ioboard import protocol as p
from drivers.ioboard.errors import (
    CommandRejected,
    CommandTimeout,
    FirmwareError,
    FirmwareInterrupted,
    FirmwareRejected,
    FirmwareRolledBack,
    IoBoardError,
    NotConnected,
)
from drivers.ioboard.firmware import (
    CHUNK,
    FirmwareImage,
    FirmwareState,
    FirmwareUpdateResult,
    fw_data_payload,
    fw_file_payload,
    parse_fw_data_ack,
    parse_fw_state,
)

if TYPE_CHECKING:
    from drivers.ioboard.driver import IoBoard

# Reading a file back and hashing it, or renaming files, can take the board longer than a command:
# such a step is sent up to this many times (the board answers a repeat without acting twice).
SLOW_ATTEMPTS = 8
FILE_ATTEMPTS = 3  # a file whose transfer a link hiccup broke is sent again from its start
RESTART_POLL_S = 0.05
Progress = Callable[[int, int], None]

REFUSALS: dict[int, str] = {
    p.NakReason.BAD_HASH: "the file the board read back from its flash does not match (size or SHA-256)",
    p.NakReason.BAD_STATE: "the board is not in the state for this step",
    p.NakReason.STORAGE: "the board's flash is full or failed",
    p.NakReason.BAD_PAYLOAD: "the board refused the file's name or size",
    p.NakReason.UNKNOWN_TYPE: "the board's firmware cannot be updated over the link",
}


class _Lost(Exception):
    """The board restarted or went silent in the middle of a step."""


def request(board: IoBoard, ftype: p.FrameType, payload: bytes = b"", what: str = "",
            attempts: int | None = None) -> p.Frame:
    """One FW_* command; raises FirmwareRejected for a NAK, _Lost when the board is gone or restarted."""
    try:
        return board.request(ftype, payload, attempts=attempts)
    except CommandRejected as exc:
        if exc.reason == p.NakReason.NO_SESSION:
            raise _Lost("the board restarted") from exc
        text = REFUSALS.get(exc.reason, f"reason {exc.reason}")
        raise FirmwareRejected(f"{what or ftype.name}: {text}", reason=exc.reason,
                               running_version=board.info.firmware_version if board.info else None) from exc
    except (NotConnected, CommandTimeout) as exc:
        raise _Lost(str(exc)) from exc


def firmware_state(board: IoBoard) -> FirmwareState:
    try:
        return parse_fw_state(request(board, p.FrameType.FW_STATE).payload)
    except _Lost as exc:
        raise NotConnected(f"IO board lost: {exc}") from exc


def confirm(board: IoBoard) -> None:
    try:
        request(board, p.FrameType.FW_CONFIRM)
    except _Lost as exc:
        raise NotConnected(f"IO board lost: {exc}") from exc


def await_restart(board: IoBoard, after: int, deadline: float) -> str | None:
    """The version the board reports in the first handshake after the ``after``-th (the board restarted:
    its NO_SESSION, its port going away or its silence lead to it), or None if none came by ``deadline``.
    Polls the board meanwhile so that a restart is noticed at once."""
    while time.monotonic() < deadline:
        info = board.wait_session(after, RESTART_POLL_S)
        if info is not None:
            return info.firmware_version
        if board.connected:
            try:
                board.request(p.FrameType.GET_STATUS)
            except CommandTimeout:
                board.request_handshake()  # silent: starting again, or gone
            except (NotConnected, CommandRejected):
                pass  # NO_SESSION: the reader is already shaking hands with the restarted board
    return None


def rollback(board: IoBoard, timeout: float) -> str:
    """Asks the board to go back to its previous files and waits for it; the version it then runs.
    Raises FirmwareRejected when it has no previous firmware, FirmwareInterrupted when it does not
    come back."""
    before = board.sessions
    try:
        request(board, p.FrameType.FW_ROLLBACK, what="rollback", attempts=SLOW_ATTEMPTS)
    except _Lost:
        pass  # it may have restarted before its ACK came: what comes back tells
    running = await_restart(board, before, time.monotonic() + timeout)
    if running is None:
        raise FirmwareInterrupted("the IO board did not come back after the rollback")
    return running


class FirmwareUpdate:
    def __init__(self, board: IoBoard, image: FirmwareImage, restart_timeout: float,
                 progress: Progress | None = None) -> None:
        self.board, self.image, self.restart_timeout, self.progress = board, image, restart_timeout, progress
        self.sent = 0

    def run(self) -> FirmwareUpdateResult:
        board, image = self.board, self.image
        started = time.monotonic()
        if not board.connected or board.info is None:
            raise NotConnected("IO board not connected")
        previous = board.info.firmware_version
        before = board.sessions
        if firmware_state(board).trial:
            raise FirmwareRejected(f"the IO board runs firmware {previous} on trial: confirm it or roll it back "
                                   "before another update", reason=p.NakReason.BAD_STATE, running_version=previous)
        try:
            self._stage()
        except _Lost as exc:
            running = await_restart(board, before, time.monotonic() + self.restart_timeout)
            raise FirmwareInterrupted(f"the IO board was lost during the transfer ({exc}); nothing was committed; "
                                      f"it runs {running or 'nothing that answers'}", running_version=running) from None
        before = board.sessions
        try:
            request(board, p.FrameType.FW_COMMIT, what="commit", attempts=SLOW_ATTEMPTS)
        except _Lost:
            pass  # lost during the commit: the board finishes or forgets it at its next start
        deadline = time.monotonic() + self.restart_timeout
        running = await_restart(board, before, deadline)
        if running is None:
            raise FirmwareInterrupted("the IO board did not answer after the commit", running_version=None)
        self._check(running, deadline)
        return FirmwareUpdateResult(previous, image.version, tuple(sorted(image.files)), self.sent,
                                    time.monotonic() - started)

    def _stage(self) -> None:
        request(self.board, p.FrameType.FW_BEGIN, what="begin")
        for name, data in sorted(self.image.files.items()):
            for attempt in range(1, FILE_ATTEMPTS + 1):
                sent_before = self.sent
                try:
                    self._send_file(name, data)
                    break
                except _Lost:
                    if attempt == FILE_ATTEMPTS:
                        raise
                    self.sent = sent_before
                    self._reattach()

    def _send_file(self, name: str, data: bytes) -> None:
        board, total = self.board, self.image.total_bytes
        request(board, p.FrameType.FW_FILE, fw_file_payload(name, data), what=name)
        for offset in range(0, len(data), CHUNK):
            chunk = data[offset:offset + CHUNK]
            reply = request(board, p.FrameType.FW_DATA, fw_data_payload(offset, chunk), what=name)
            held = parse_fw_data_ack(reply.payload)
            if held != offset + len(chunk):
                raise FirmwareRejected(f"{name}: the board holds {held} bytes after a chunk ending at "
                                       f"{offset + len(chunk)}", reason=p.NakReason.BAD_STATE)
            self.sent += len(chunk)
            if self.progress is not None:
                self.progress(self.sent, total)
        request(board, p.FrameType.FW_VERIFY, what=name, attempts=SLOW_ATTEMPTS)

    def _reattach(self) -> None:
        """After a hiccup of the link (a lost session, a timeout): goes on with the file it was sending
        if the board kept its staged update; raises _Lost if the board restarted and forgot it."""
        board = self.board
        if board.wait_session(-1, self.restart_timeout) is None:
            raise _Lost("the board did not answer again")
        try:
            staging = firmware_state(board).staging
        except NotConnected as exc:
            raise _Lost(str(exc)) from exc
        if not staging:
            raise _Lost("the board restarted")

    def _check(self, running: str, deadline: float) -> None:
        """The version handshake after the restart: the expected version on trial is confirmed;
        anything else ends in the previous firmware, reported as FirmwareRolledBack (or
        FirmwareInterrupted when the commit never took effect)."""
        board, expected = self.board, self.image.version
        state = _state_or_none(board)
        if state is not None and running == expected:
            if state.trial:
                try:
                    confirm(board)
                    return
                except (FirmwareError, NotConnected):
                    state = None  # it cannot confirm: its trial runs out and the board goes back
            elif state.last_rollback is None:
                return  # confirmed already: this is a retry whose first confirmation's ACK was lost
        if state is not None and state.trial:
            # A new firmware that is not the one expected: do not wait for its trial to end.
            back = rollback(board, max(1.0, deadline - time.monotonic()))
            raise FirmwareRolledBack(f"the new firmware reported version {running}, not {expected}; the IO board "
                                     f"went back to {back}", reason="wrong version", running_version=back)
        if state is None:
            running = await_restart(board, board.sessions, deadline) or running
            state = _state_or_none(board)
        if state is not None and state.last_rollback is None and not state.trial:
            raise FirmwareInterrupted(f"the commit did not take effect; the IO board still runs {running}",
                                      running_version=running)
        why = state.last_rollback.name.lower() if state is not None and state.last_rollback else "no answer"
        raise FirmwareRolledBack(f"the new firmware {expected} did not pass its trial ({why}); the IO board runs "
                                 f"{running}", reason=why, running_version=running)


def _state_or_none(board: IoBoard) -> FirmwareState | None:
    try:
        return firmware_state(board)
    except IoBoardError:
        return None


class FirmwareCommands:
    """The firmware-update part of IoBoard (a mixin: the driver module holds the link)."""

    def _board(self) -> IoBoard:
        return cast("IoBoard", self)

    def update_firmware(self, files: Mapping[str, bytes], expect_version: str, *,
                        restart_timeout: float = 90.0, progress: Progress | None = None) -> FirmwareUpdateResult:
        """Writes ``files`` (name → content) to the board, each verified by the board, commits them,
        restarts the board and checks that it comes back with ``expect_version``, then confirms it.
        ``restart_timeout`` must cover the board's trial time (60 s) when the new firmware fails.

        Raises FirmwareInputError (refused before sending), FirmwareRejected (a step refused; the
        previous firmware runs), FirmwareInterrupted (the board was lost before the new firmware took
        effect), FirmwareRolledBack (the new firmware failed its trial), NotConnected."""
        image = FirmwareImage.of(files, expect_version)
        return FirmwareUpdate(self._board(), image, restart_timeout, progress).run()

    def firmware_state(self) -> FirmwareState:
        return firmware_state(self._board())

    def confirm_firmware(self) -> None:
        """Keeps the firmware on trial (harmless when there is none)."""
        confirm(self._board())

    def rollback_firmware(self, timeout: float = 30.0) -> str:
        """Puts the board's previous firmware back (e.g. when the terminal's own update is rolled back);
        returns the version it then runs. Raises FirmwareRejected when there is none to go back to."""
        return rollback(self._board(), timeout)
