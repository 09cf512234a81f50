"""kill -9 of the installer at random moments (seeded), some of them with the service killed too and the
terminal "booted" again (a power loss): after every one, the ``current`` link points at a complete slot,
``kiosk update resume`` (what systemd runs after a failure and at boot) finishes or undoes the install,
and a working version answers, connected, with the links and the journal agreeing."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import time

import pytest

from kiosk.update.state import Phase
from tests.update.service import child_env

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(600)]

SEED = 1414
KILLS = 4


def installer(running, bundle) -> subprocess.Popen:
    return subprocess.Popen([str(running.root / "good" / "venv" / "bin" / "kiosk"), "update", "install",
                             "--from", str(bundle), "--config", str(running.config)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=child_env(),
                            start_new_session=True)


def test_installer_killed_at_random_moments_leaves_a_working_terminal(running, bundles):
    rng = random.Random(SEED)
    # How long an uninterrupted install takes here and now (measured, unless an earlier test of the
    # session did): the kills are spread over that span.
    if not running.install_seconds:
        started = time.monotonic()
        assert installer(running, bundles.bundle(running.next_version())).wait(300) == 0
        running.install_seconds.append(time.monotonic() - started)
    span = max(running.install_seconds)
    hits = []
    for n in range(KILLS):
        version = running.next_version()
        bundle = bundles.bundle(version)
        power_loss = n % 2 == 1
        before = running.state().current
        delay = rng.uniform(0.1, span)
        proc = installer(running, bundle)
        try:
            proc.wait(delay)
            finished = True
        except subprocess.TimeoutExpired:
            finished = False
            os.killpg(proc.pid, signal.SIGKILL)   # the installer and its pip, as systemd kills a unit
            proc.wait(10)
        interrupted = running.state()
        hits.append((version, round(delay, 1), "finished" if finished else interrupted.phase.value, power_loss))
        # Whatever the moment, the service's link names a complete slot.
        current = running.layout.linked(running.layout.current)
        assert current is not None and running.layout.read_slot(current) is not None, hits[-1]
        if power_loss:
            running.host.power_loss()
            running.start()
        done = running.update_cli("resume")
        assert done.returncode == 0, done.stderr
        state = running.state()
        assert state.phase is Phase.IDLE, (hits[-1], state.phase)
        assert state.current is not None and state.current.version in (before.version, version), hits[-1]
        assert running.links() == (state.current.name, state.current.name), hits[-1]
        running.host.wait_version(state.current.version, 60)
        assert {s.name for s in (state.current, state.previous) if s} >= set(running.layout.slot_names()) - {""}
    print(f"uninterrupted install {span:.1f} s; kill moments (version, s, phase hit, power loss):", hits)
    assert len({h[2] for h in hits}) >= 2, hits   # the seed spreads the kills over different phases
