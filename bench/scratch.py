"""Scratch directories of the benches: each one's stores and files are removed when the bench ends
(a 100 000-case backlog is 150 MB; on a terminal's SD card a run of every bench would otherwise leave
gigabytes behind)."""
from __future__ import annotations

import atexit
import shutil
import tempfile


def scratch_dir(prefix: str) -> str:
    """A new directory under the system's temporary folder, removed when this process exits normally
    or by an exception (not when a signal kills it); remove it earlier with :func:`drop` when a round is done."""
    path = tempfile.mkdtemp(prefix=prefix)
    atexit.register(drop, path)
    return path


def drop(path: str) -> None:
    """Removes a scratch directory now (again at exit: nothing left to do then)."""
    shutil.rmtree(path, ignore_errors=True)
