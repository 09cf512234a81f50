"""The supervisor itself and what hangs on it: a failing worker is logged once, restarted with backoff,
counted and alarmed after the threshold; a hung or vanished worker stops the systemd watchdog (a real
notify socket); a device watcher whose thread dies (the real ID-card watcher on the real simulator) is
started again and the next card is read."""
from __future__ import annotations

import logging
import socket
import threading
import time
from pathlib import Path

import pytest

from edge_sync.supervise import Supervisor, Worker, WorkerState
from kiosk.adapters import IdReaderAdapter
from kiosk.app import Kiosk, Ports
from kiosk.config import load_config
from tests.app.doubles import FakeSync
from tests.app.harness import KioskThread
from tests.faults.rig import wait_until
from tests.support.net import free_port
from tests.support.simproc import SimProcess


class Boom(BaseException):
    """Gets past every ``except Exception``: the kind of fault that ends a thread the driver owns."""


def test_a_failing_worker_is_logged_once_restarted_with_backoff_counted_and_alarmed(caplog):
    alarms: list[tuple[str, dict]] = []
    sup = Supervisor(lambda reason, fields: alarms.append((reason, fields)), alarm_after=3, backoff_min_s=0.01,
                     backoff_max_s=0.05)
    calls = []

    def flaky(worker: Worker) -> None:
        calls.append(1)
        if len(calls) <= 4:
            raise OSError(28, "No space left on device")
        while not worker.stopping.wait(0.01):
            worker.beat(healthy=True)
    with caplog.at_level(logging.ERROR, "edge_sync.supervise"):
        worker = sup.spawn("flaky", flaky, stall_after_s=5)
        wait_until(lambda: len(calls) >= 5 and worker.failing == 0, 10, "the worker to run again")
    sup.stop()
    assert worker.restarts == 4 and worker.last_error == "OSError" and worker.state is WorkerState.STOPPED
    assert alarms == [("worker_failing", {"worker": "flaky", "failures": 3, "error": "OSError"})]
    assert len([r for r in caplog.records if "worker flaky failed" in r.getMessage()]) == 1
    for failures in range(1, 8):
        delay = Supervisor(backoff_min_s=0.5, backoff_max_s=30).backoff(failures, 30)
        expected = min(30.0, 0.5 * 2 ** (failures - 1))
        assert expected / 2 <= delay <= expected


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_hung_or_vanished_worker_is_not_alive():
    now = [0.0]
    sup = Supervisor(clock=lambda: now[0])
    release = threading.Event()

    def hangs(_worker: Worker) -> None:
        release.wait(10)
    hung = sup.spawn("hung", hangs, stall_after_s=30)
    assert sup.all_alive()
    now[0] = 31.0
    assert hung.current_state() is WorkerState.STALLED and not sup.all_alive()
    release.set()
    hung.join(5)
    gone = sup.spawn("gone", _raise_boom)
    gone.join(5)
    assert gone.current_state() is WorkerState.DEAD and not sup.all_alive()


def _raise_boom(worker: Worker) -> None:
    raise Boom()


@pytest.fixture
def notify_socket(tmp_path: Path, monkeypatch):
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(0.2)
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    monkeypatch.setenv("WATCHDOG_USEC", "400000")          # fed every 0.2 s
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    try:
        yield sock
    finally:
        sock.close()


def watchdog_messages(sock: socket.socket, seconds: float) -> int:
    deadline, count = time.monotonic() + seconds, 0
    while time.monotonic() < deadline:
        try:
            if sock.recv(4096).startswith(b"WATCHDOG=1"):
                count += 1
        except TimeoutError:
            continue
    return count


def test_the_watchdog_is_fed_only_while_every_worker_is_alive(sample_catalog, tmp_path, notify_socket):
    config = load_config(None, env={"KIOSK_DEVICE_DATA_DIR": str(tmp_path)})
    runner = KioskThread(lambda: Kiosk(config, sample_catalog, Ports(sync=FakeSync()), tick_s=0.05),
                         free_port()).start()
    try:
        kiosk = runner.kiosk
        assert kiosk is not None
        assert watchdog_messages(notify_socket, 1.0) >= 2
        release = threading.Event()

        def sticks(_worker: Worker) -> None:
            release.wait(30)
        kiosk.supervisor.spawn("stuck", sticks, stall_after_s=0.2)
        time.sleep(0.5)
        watchdog_messages(notify_socket, 0.3)                # drop what was sent before it hung
        assert watchdog_messages(notify_socket, 1.0) == 0    # systemd would restart the service now
        release.set()
        kiosk.supervisor.stop("stuck")
        assert wait_until(lambda: watchdog_messages(notify_socket, 0.5), 10, "the watchdog fed again")
    finally:
        runner.stop()


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_device_watcher_whose_thread_died_is_started_again(sample_catalog, tmp_path, identities_file):
    sim = SimProcess("idcard", "--identities", str(identities_file), "--link", "pty").start()
    config = load_config(None, env={"KIOSK_DEVICE_DATA_DIR": str(tmp_path)})
    kiosk = Kiosk(config, sample_catalog, Ports(sync=FakeSync(), idreader=IdReaderAdapter(sim.port, poll_interval=0.1)))
    real = kiosk.sessions.card_present
    hits = []

    def card_present(identity):
        hits.append(identity)
        if len(hits) == 1:
            raise Boom()                                   # ends the watcher's thread
        return real(identity)
    kiosk.sessions.card_present = card_present              # type: ignore[method-assign]
    runner = KioskThread(lambda: kiosk, free_port()).start()
    try:
        sim.send("present 0")
        worker = wait_until(lambda: (w := kiosk.supervisor.worker("idcard-watcher")) and w.restarts >= 1 and w,
                            20, "the watcher to be restarted")
        sim.send("remove")
        time.sleep(0.5)
        sim.send("present 0")
        wait_until(lambda: kiosk.sessions.current is not None and kiosk.sessions.current.card is not None, 20,
                   "the card read by the new watcher")
        assert worker.last_error == "WatcherDied" and kiosk.healthy()
    finally:
        runner.stop()
        sim.stop()


def test_an_optional_device_that_failed_at_start_is_opened_later(sample_catalog, tmp_path):
    """The document camera did not open at start (USB still enumerating): it is retried with backoff
    and its flows come back, instead of staying disabled until a restart."""
    from drivers.camera import open_camera
    from kiosk.adapters import CameraAdapter

    attempts: list[int] = []

    def opener() -> CameraAdapter:
        attempts.append(1)
        if len(attempts) < 3:
            open_camera("/dev/video-not-plugged-in")       # raises, as the real backend does
        return CameraAdapter("sim:page")
    config = load_config(None, env={"KIOSK_DEVICE_DATA_DIR": str(tmp_path)})
    kiosk = Kiosk(config, sample_catalog, Ports(sync=FakeSync(), camera_opener=opener))
    assert kiosk.devices.status()["camera"] == "missing"
    runner = KioskThread(lambda: kiosk, free_port()).start()
    try:
        wait_until(lambda: kiosk.devices.status()["camera"] == "ok", 20, "the camera opened later")
        worker = kiosk.supervisor.worker("camera-open")
        assert worker is not None and worker.restarts == 2 and worker.state is WorkerState.DONE
        assert kiosk.devices.status()["blocks"]["camera"] is None and kiosk.healthy()
    finally:
        runner.stop()
