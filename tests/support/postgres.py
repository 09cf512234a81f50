"""A real PostgreSQL cluster for tests and benches: Debian's ``postgresql`` package, a cluster made with
``initdb`` in a temporary folder, started with ``pg_ctl`` on a free loopback port and always stopped.

PostgreSQL refuses to run as root, and CI runs as root: then the cluster belongs to the ``postgres``
user the Debian package creates, and its tools run through ``runuser``."""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

from tests.support.net import free_port


def pg_bindir() -> Path | None:
    """The folder of initdb/pg_ctl (PATH first, then Debian's versioned folders), or None."""
    found = shutil.which("initdb")
    if found:
        return Path(os.path.realpath(found)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(candidates[-1]).parent if candidates else None


class PostgresCluster:
    """``start()`` → ``url(db)`` / ``new_database()`` → ``stop()`` (also removes the folder)."""

    def __init__(self, port: int | None = None) -> None:
        bindir = pg_bindir()
        if bindir is None:
            raise RuntimeError("PostgreSQL is not installed (scripts/bootstrap installs Debian's postgresql)")
        self.bin = bindir
        self.port = port or free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "postgres.log"
        self.as_user: str | None = "postgres" if os.geteuid() == 0 else None
        self.running = False

    def _run(self, *argv: str, timeout: float = 60) -> None:
        cmd = [str(self.bin / argv[0]), *argv[1:]]
        if self.as_user is not None:
            cmd = ["runuser", "-u", self.as_user, "--", *cmd]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed: {result.stderr[-2000:] or result.stdout[-2000:]}")

    def start(self) -> PostgresCluster:
        if self.as_user is not None:
            user = pwd.getpwnam(self.as_user)
            os.chown(self.dir, user.pw_uid, user.pw_gid)
        try:
            self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                      "--no-locale", "--no-sync")
            # Settings for a simulator on a shared test machine: no fsync wait per commit (like the SQLite
            # store's synchronous=NORMAL), small memory, loopback only.
            options = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c synchronous_commit=off "
                       "-c shared_buffers=32MB -c max_connections=40 -c fsync=off -c full_page_writes=off")
            self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.log), "-w", "-t", "30", "start")
        except Exception:
            self.cleanup()
            raise
        self.running = True
        return self

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """An empty database of its own (a test's central store); returns its URL."""
        import psycopg
        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True, connect_timeout=10) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def stop(self) -> None:
        if self.running:
            try:
                self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "30", "stop")
            except (RuntimeError, subprocess.TimeoutExpired):
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "-t", "30", "stop")
            self.running = False

    def cleanup(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> PostgresCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.cleanup()
