"""Boot guard: the part of the firmware that an update never replaces (with main.py and boot.py). At
every start it finishes or undoes a firmware commit that a reset interrupted, counts the boots of a new
firmware on trial and rolls it back when it crashes, keeps restarting, or is not confirmed by the Pi in
time; then it starts the application (app.py).

Files under the board's root (its flash filesystem; a folder under simulation):

    upd/NAME     staged new files, written and verified by updater.py
    upd/commit   journal of a commit in progress, one line per file: "NAME r" (replaces) or "NAME a" (adds)
    bak/NAME     the files the last commit replaced
    bak/list     that commit's journal, kept so that it can be undone
    upd/restore  journal of a rollback in progress (bak/list moved here)
    trial        present while the new firmware is unconfirmed; its length counts its boots
    rolledback   the reason of the last rollback, one digit

Every step can be interrupted by a reset and is finished at the next boot: while upd/commit exists the
commit goes forward, while upd/restore exists the rollback goes on, so a board always boots either the
old files or the new ones, never a mixture."""
import os

STAGE_DIR = "upd/"
BACKUP_DIR = "bak/"
COMMIT_JOURNAL = "upd/commit"
RESTORE_JOURNAL = "upd/restore"
BACKUP_LIST = "bak/list"
TRIAL_FLAG = "trial"
ROLLBACK_MARK = "rolledback"
PROTECTED = ("main.py", "boot.py", "fwboot.py")

TRIAL_MS = 60000      # a new firmware must be confirmed by the Pi this long after it started
MAX_TRIAL_BOOTS = 3   # ... and within this many starts

# Why the last rollback happened (FW_STATE, docs/ioboard-protocol.md).
ROLLBACK_CRASHED = 1
ROLLBACK_BOOTS = 2
ROLLBACK_UNCONFIRMED = 3
ROLLBACK_REQUESTED = 4


def exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


def remove(path):
    try:
        os.remove(path)
    except OSError:
        pass


def make_dir(path):
    try:
        os.mkdir(path.rstrip("/"))  # without the slash, which not every filesystem takes
    except OSError:
        pass


def write_atomic(path, text):
    """The file appears whole or not at all: written beside it, then renamed over it (atomic on the
    board's littlefs and on POSIX)."""
    tmp = path + ".tmp"
    with open(tmp, "w") as out:
        out.write(text)
    os.rename(tmp, path)


def read_journal(path):
    """[(name, flag)] of a commit journal; a torn last line (no flag) is ignored."""
    entries = []
    with open(path) as journal:
        for line in journal.read().split("\n"):
            parts = line.split()
            if len(parts) == 2:
                entries.append((parts[0], parts[1]))
    return entries


class Guard:
    """Owns the update files under ``board.root`` and the trial of a new firmware."""

    def __init__(self, board, trial_ms=TRIAL_MS, max_boots=MAX_TRIAL_BOOTS):
        self.board = board
        self.root = board.root
        self.trial_ms = trial_ms
        self.max_boots = max_boots
        self.trial = False
        self.trial_boots = 0
        self.rolled_back = 0
        self._deadline = 0
        self._feed = None

    def path(self, name):
        return self.root + name

    def _trace(self, info):
        if self.board.tracing:
            self.board.trace(info)

    # ---- at boot ----------------------------------------------------------------------------

    def recover(self):
        """Finishes an interrupted commit or rollback and counts a trial boot; before app is imported."""
        make_dir(self.path(STAGE_DIR))
        make_dir(self.path(BACKUP_DIR))
        if exists(self.path(COMMIT_JOURNAL)):
            self._trace({"boot": "finishing commit"})
            self._roll_forward()
        if exists(self.path(RESTORE_JOURNAL)):
            self._trace({"boot": "finishing rollback"})
            self._restore()
        self.trial = exists(self.path(TRIAL_FLAG))
        if self.trial:
            with open(self.path(TRIAL_FLAG), "ab") as flag:
                flag.write(b"+")
            self.trial_boots = os.stat(self.path(TRIAL_FLAG))[6]
            self._trace({"boot": "trial", "count": self.trial_boots})
            if self.trial_boots > self.max_boots:
                self.rollback(ROLLBACK_BOOTS)
        self.rolled_back = self._read_mark()
        board = self.board
        self._deadline = board.ticks_add(board.ticks_ms(), self.trial_ms)

    def install(self):
        """Puts the trial clock in the watchdog's feed: every loop of any firmware feeds it, so an
        unconfirmed firmware is rolled back even if its own code never looks at the time."""
        self._feed = self.board.feed_watchdog
        self.board.feed_watchdog = self.feed

    def feed(self):
        board = self.board
        if self.trial and board.ticks_diff(board.ticks_ms(), self._deadline) >= 0:
            self.rollback(ROLLBACK_UNCONFIRMED)
            board.reset()
        if self._feed is not None:
            self._feed()

    def crashed(self, exc):
        """The application failed to start or stopped: a firmware on trial is rolled back at once."""
        self._trace({"boot": "crashed", "error": repr(exc)})
        if self.trial:
            self.rollback(ROLLBACK_CRASHED)
            self.board.reset()

    # ---- commit, confirm, rollback ------------------------------------------------------------

    def clear_staging(self):
        """Forgets staged files and the backup, before a new update is written."""
        make_dir(self.path(STAGE_DIR))
        make_dir(self.path(BACKUP_DIR))
        remove(self.path(BACKUP_LIST))  # first: from here on the backup can no longer be restored
        for folder in (STAGE_DIR, BACKUP_DIR):
            for name in os.listdir(self.path(folder).rstrip("/")):
                remove(self.path(folder + name))
        remove(self.path(ROLLBACK_MARK))
        self.rolled_back = 0

    def commit(self, names):
        """Replaces the files by their staged versions (which must exist and be verified), keeping the
        replaced ones as the backup, and puts the new firmware on trial. Takes effect at the next start."""
        lines = []
        for name in names:
            lines.append(name + (" r" if exists(self.path(name)) else " a"))
        self.board.checkpoint("commit")
        write_atomic(self.path(COMMIT_JOURNAL), "\n".join(lines) + "\n")
        self.board.checkpoint("commit")
        self._roll_forward()

    def _roll_forward(self):
        checkpoint = self.board.checkpoint
        for name, _ in read_journal(self.path(COMMIT_JOURNAL)):
            staged, current, backup = self.path(STAGE_DIR + name), self.path(name), self.path(BACKUP_DIR + name)
            if not exists(staged):
                continue  # this file is done
            if exists(current):
                remove(backup)
                os.rename(current, backup)
                checkpoint("commit")
            os.rename(staged, current)
            checkpoint("commit")
        if not exists(self.path(TRIAL_FLAG)):
            with open(self.path(TRIAL_FLAG), "wb"):
                pass
        checkpoint("commit")
        remove(self.path(BACKUP_LIST))
        os.rename(self.path(COMMIT_JOURNAL), self.path(BACKUP_LIST))
        self.trial = True
        self.trial_boots = 0
        # The trial clock starts now: the one set at boot may have run out long ago (a board that ran for
        # hours before this update), and the next feed would roll back before the board restarts.
        board = self.board
        self._deadline = board.ticks_add(board.ticks_ms(), self.trial_ms)
        self._trace({"boot": "committed"})

    def confirm(self):
        """The Pi saw the new firmware answer its handshake: it stays. Harmless when not on trial."""
        if self.trial:
            remove(self.path(TRIAL_FLAG))
            self.trial = False
            self.trial_boots = 0
            self._trace({"boot": "confirmed"})

    def has_backup(self):
        return exists(self.path(BACKUP_LIST))

    def rollback(self, reason):
        """Puts the files of the last commit back (takes effect at the next start); False when there is
        no backup to restore."""
        if not self.has_backup():
            remove(self.path(TRIAL_FLAG))  # nothing to go back to: the files in place stay
            self.trial = False
            return False
        write_atomic(self.path(ROLLBACK_MARK), str(reason))
        os.rename(self.path(BACKUP_LIST), self.path(RESTORE_JOURNAL))
        self._restore()
        self.rolled_back = reason
        return True

    def _restore(self):
        checkpoint = self.board.checkpoint
        for name, flag in read_journal(self.path(RESTORE_JOURNAL)):
            current, backup = self.path(name), self.path(BACKUP_DIR + name)
            if flag == "a":
                remove(current)  # the update added it
            elif exists(backup):
                remove(current)
                os.rename(backup, current)
            checkpoint("rollback")
        remove(self.path(TRIAL_FLAG))
        remove(self.path(RESTORE_JOURNAL))
        self.trial = False
        self.trial_boots = 0
        self._trace({"boot": "rolled back", "reason": self._read_mark()})

    def _read_mark(self):
        try:
            with open(self.path(ROLLBACK_MARK)) as mark:
                return int(mark.read().strip() or "0")
        except (OSError, ValueError):
            return 0


def run(board, trial_ms=TRIAL_MS, **settings):
    """Recovers, then runs the application; a crash of a firmware on trial rolls it back."""
    guard = Guard(board, trial_ms)
    guard.recover()
    guard.install()
    try:
        from app import App
        application = App(board, guard, **settings)
    except Exception as exc:
        guard.crashed(exc)
        raise
    try:
        application.run()
    except Exception as exc:
        guard.crashed(exc)
        raise


def main():
    """On the board: the real board support, files at the root of the flash filesystem."""
    import board
    run(board.Board())
