"""Firmware update over the link, the board's side (docs/ioboard-protocol.md §5): FW_BEGIN clears the
staging area, each file is opened with its size and SHA-256 (FW_FILE), written chunk by chunk at the
offset the board expects (FW_DATA), and checked whole by reading it back from flash (FW_VERIFY);
FW_COMMIT hands the verified files to the boot guard (fwboot.py), which swaps them in and restarts on
trial; FW_CONFIRM keeps the new firmware, FW_ROLLBACK restores the previous one.

Updates are rare: unlike the main loop this module allocates (file objects, hashes)."""
import hashlib
import os

import frames as fr
from fwboot import PROTECTED, ROLLBACK_REQUESTED, STAGE_DIR

MAX_FILES = 16            # files in one update (the commit journal stays small)
MAX_FILE_SIZE = 0x3FFFF   # 256 KiB - 1
NAME_MAX = 24             # e.g. "watchdog.py"
FREE_MARGIN = 8192        # never fill the filesystem to the last block
NAME_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789_"
SHA_LEN = 32
FILE_HEADER = 4 + SHA_LEN  # SIZE, SHA-256, then the name
READ_CHUNK = 512


def valid_name(name):
    """A module file of the firmware: lower-case letters, digits and "_", then ".py" or ".mpy"."""
    if len(name) > NAME_MAX or name in PROTECTED:
        return False
    if name.endswith(".py"):
        stem = name[:-3]
    elif name.endswith(".mpy"):
        stem = name[:-4]
    else:
        return False
    if not stem:
        return False
    for char in stem:
        if char not in NAME_CHARS:
            return False
    return True


class Updater:
    def __init__(self, board, guard):
        self.board = board
        self.guard = guard
        self.restart_requested = False  # the App restarts the board once the reply is out
        self._begun = False
        self._verified = []
        self._file = None
        self._name = ""
        self._size = 0
        self._written = 0
        self._sha = b""

    def available(self):
        return self.guard is not None

    def _trace(self, info):
        if self.board.tracing:
            self.board.trace(info)

    def command(self, ftype, payload, plen):
        """Acts on one FW_* frame; returns 0 (ACK) or the NAK reason."""
        try:
            if ftype == fr.FW_BEGIN:
                return self._begin()
            if ftype == fr.FW_FILE:
                return self._open(payload, plen)
            if ftype == fr.FW_DATA:
                return self._data(payload, plen)
            if ftype == fr.FW_VERIFY:
                return self._verify()
            if ftype == fr.FW_COMMIT:
                return self._commit()
            if ftype == fr.FW_CONFIRM:
                self.guard.confirm()
                return 0
            if ftype == fr.FW_ROLLBACK:
                return self._rollback()
            return 0  # FW_STATE: the reply carries it
        except OSError as exc:
            self._trace({"update": "storage error", "error": repr(exc)})
            self._close()
            return fr.NAK_STORAGE

    def reply(self, ftype, tx):
        """Appends the reply data of an acknowledged FW_* frame to the ACK being built."""
        if ftype == fr.FW_DATA:
            tx.u32(self._written)
        elif ftype == fr.FW_STATE:
            guard = self.guard
            flags = (1 if guard.trial else 0) | (2 if guard.has_backup() else 0) | (4 if self._begun else 0)
            tx.byte(flags)
            tx.byte(min(guard.trial_boots, 255))
            tx.byte(guard.rolled_back)
            tx.byte(len(self._verified))

    def _begin(self):
        if self.guard.trial:
            return fr.NAK_BAD_STATE  # the firmware on trial must be confirmed or rolled back first
        self._close()
        self.guard.clear_staging()
        self._begun = True
        self._verified = []
        self._trace({"update": "begin"})
        return 0

    def _open(self, payload, plen):
        if not self._begun:
            return fr.NAK_BAD_STATE
        if plen <= FILE_HEADER or payload[0] or payload[1] > 0x03:
            return fr.NAK_BAD_PAYLOAD
        try:
            name = bytes(payload[FILE_HEADER:plen]).decode()
        except ValueError:
            return fr.NAK_BAD_PAYLOAD
        if not valid_name(name):
            return fr.NAK_BAD_PAYLOAD
        if name not in self._verified and len(self._verified) >= MAX_FILES:
            return fr.NAK_BAD_PAYLOAD
        size = (payload[1] << 16) | (payload[2] << 8) | payload[3]
        self._close()
        if name in self._verified:
            self._verified.remove(name)  # sent again: the new copy must be verified again
        if size + FREE_MARGIN > self._free():
            return fr.NAK_STORAGE
        self._file = open(self.guard.path(STAGE_DIR + name), "wb")
        self._name = name
        self._size = size
        self._written = 0
        self._sha = bytes(payload[4:FILE_HEADER])
        self._trace({"update": "file", "name": name, "size": size})
        return 0

    def _data(self, payload, plen):
        if self._file is None:
            return fr.NAK_BAD_STATE
        if plen < 5:
            return fr.NAK_BAD_PAYLOAD
        offset = (payload[0] << 24) | (payload[1] << 16) | (payload[2] << 8) | payload[3]
        count = plen - 4
        if offset < self._written and offset + count == self._written:
            return 0  # the chunk we just wrote, sent again because our ACK was lost
        if offset != self._written:
            return fr.NAK_BAD_STATE
        if offset + count > self._size:
            return fr.NAK_BAD_PAYLOAD
        self._file.write(payload[4:plen])
        self._written += count
        self.board.checkpoint("write")
        return 0

    def _verify(self):
        if self._file is None:
            return fr.NAK_BAD_STATE
        self._file.close()
        self._file = None
        path = self.guard.path(STAGE_DIR + self._name)
        if self._written != self._size or self._digest(path) != self._sha:
            os.remove(path)
            self._trace({"update": "bad hash", "name": self._name})
            return fr.NAK_BAD_HASH
        self._verified.append(self._name)
        self._trace({"update": "verified", "name": self._name})
        return 0

    def _digest(self, path):
        """SHA-256 of the file as the flash holds it, not as it was received."""
        digest = hashlib.sha256()
        with open(path, "rb") as staged:
            while True:
                chunk = staged.read(READ_CHUNK)
                if not chunk:
                    break
                digest.update(chunk)
                self.board.feed_watchdog()
        return digest.digest()

    def _commit(self):
        if not self._begun or self._file is not None or not self._verified:
            return fr.NAK_BAD_STATE
        names = self._verified
        self._trace({"update": "commit", "files": names})
        self.guard.commit(names)
        self._begun = False
        self._verified = []
        self.restart_requested = True
        return 0

    def _rollback(self):
        self._close()
        self._begun = False
        if not self.guard.rollback(ROLLBACK_REQUESTED):
            return fr.NAK_BAD_STATE
        self.restart_requested = True
        return 0

    def _close(self):
        if self._file is not None:
            try:
                self._file.close()
            except OSError:
                pass
            self._file = None

    def _free(self):
        stat = os.statvfs(self.guard.root or "/")
        return stat[1] * stat[4]  # fragment size x blocks available
