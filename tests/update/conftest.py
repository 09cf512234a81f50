"""Fixtures of the update suite: the release keys, the session's bundle factory, and helpers to make bad
bundles out of good ones."""
from __future__ import annotations

import io
import itertools
import json
import shutil
import tarfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from edge_sync.crypto import load_public_keys
from simulators.central.signing import COMMAND_KEY, UPDATE_KEY, KeyRing
from tests.ioboard.conftest import start_sim
from tests.support.broker import Broker
from tests.support.simproc import ManagedProcess, SimProcess
from tests.update.builds import BundleFactory
from tests.update.terminal import Terminal


@pytest.fixture(scope="session")
def release_keys(tmp_path_factory) -> KeyRing:
    """Central's keys: the command key, the update key and the one a rotation moves to."""
    return KeyRing(tmp_path_factory.mktemp("central-keys")).ensure(COMMAND_KEY, UPDATE_KEY, "upd-2027")


@pytest.fixture(scope="session")
def update_keys_b64(release_keys: KeyRing) -> dict[str, str]:
    """What a terminal accepts before any rotation: the update key alone."""
    return {UPDATE_KEY: release_keys.public_keys()[UPDATE_KEY]}


@pytest.fixture(scope="session")
def accepted(update_keys_b64):
    return load_public_keys(update_keys_b64)


@pytest.fixture(scope="session")
def bundles(tmp_path_factory, release_keys) -> BundleFactory:
    return BundleFactory(tmp_path_factory.mktemp("bundles"), release_keys)


def rebundle(src: Path, out: Path, manifest: Callable[[dict[str, Any]], dict[str, Any]] = lambda m: m,
             files: Callable[[list[tuple[str, bytes]]], list[tuple[str, bytes]]] = lambda f: f) -> Path:
    """A copy of bundle ``src`` with its manifest object and/or its list of (path, bytes) changed."""
    with tarfile.open(src, "r:") as tar:
        members = [(m.name, tar.extractfile(m).read()) for m in tar]  # type: ignore[union-attr]
    head = manifest(json.loads(members[0][1]))
    body = files(members[1:])
    with tarfile.open(out, "w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data in [("manifest.json", json.dumps(head, ensure_ascii=False).encode()), *body]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out


@dataclass
class Hall:
    """A real mosquitto and central simulator for one test module, central signing with the release keys."""

    broker: Broker
    central: ManagedProcess
    keys: Path
    bundles: Path
    db: Path
    catalog: Path


@pytest.fixture(scope="session")
def hall(tmp_path_factory, release_keys, catalog_file) -> Iterator[Hall]:
    home = tmp_path_factory.mktemp("hall")
    keys = home / "keys"
    shutil.copytree(release_keys.directory, keys)
    broker = Broker().start()
    try:
        central = SimProcess("central", "--broker", broker.url, "--db", str(home / "central.db"), "--keys", str(keys),
                             "--bundles", str(home / "bundles"), "--catalog", str(catalog_file)).start()
        try:
            yield Hall(broker, central, keys, home / "bundles", home / "central.db", catalog_file)
        finally:
            central.stop()
    finally:
        broker.cleanup()


_DEVICE_NUMBERS = itertools.count(101)


@contextmanager
def terminals(hall: Hall, release_keys: KeyRing, home: Path) -> Iterator[Callable[..., Terminal]]:
    """Makes terminals with their own device id, web port and update root; stops them all at the end."""
    made: list[Terminal] = []

    def make(**options: Any) -> Terminal:
        terminal = Terminal(home / f"t{len(made)}", f"KSK-511902-{next(_DEVICE_NUMBERS):04d}", hall.broker.url,
                            hall.catalog, {COMMAND_KEY: release_keys.public_keys()[COMMAND_KEY]},
                            {UPDATE_KEY: release_keys.public_keys()[UPDATE_KEY]}, **options)
        made.append(terminal)
        return terminal
    try:
        yield make
    finally:
        for terminal in made:
            terminal.stop()


@pytest.fixture
def make_terminal(hall, release_keys, tmp_path) -> Iterator[Callable[..., Terminal]]:
    with terminals(hall, release_keys, tmp_path) as make:
        yield make


@pytest.fixture(scope="session")
def terminal_once(hall, release_keys, bundles, tmp_path_factory) -> Iterator[Terminal]:
    """One terminal for the session (building its first version and dependency layer takes a while), with
    its IO board: the real firmware under the MicroPython unix port, on a flash folder of its own."""
    flash = tmp_path_factory.mktemp("ioboard") / "flash"
    board = start_sim("micropython", "--flash", str(flash), "--trial", "10")
    try:
        with terminals(hall, release_keys, tmp_path_factory.mktemp("running")) as make:
            terminal = make(ioboard=board.port)
            terminal.board_flash = flash
            terminal.install_first(bundles.bundle("0.1.0"))
            terminal.start().wait_version("0.1.0", 60)
            yield terminal
    finally:
        board.stop()


@pytest.fixture
def running(terminal_once: Terminal) -> Terminal:
    """The session's terminal, checked idle and serving its confirmed version before a test uses it. Tests
    take versions from ``next_version()``, so whatever an earlier test installed, theirs is newer."""
    state = terminal_once.state()
    assert state.phase.value == "idle" and state.current is not None, "an earlier test left the terminal busy"
    terminal_once.write_config(health_window_s=60)
    terminal_once.host.wait_version(state.current.version, 60)  # type: ignore[union-attr]
    return terminal_once
