"""``CardWatcher`` against the simulator: card present/removed (also a card swapped between polls), an
unreadable card, SAM recovery, the reader lost and back over a pty link and a TCP port, and the pace of
the polls (seldom at rest, often while someone is at the terminal)."""
from __future__ import annotations

import os
import queue
from typing import Generic, TypeVar

import pytest

from drivers.idcard import CardEvent, CardWatcher
from kiosk.adapters import IdReaderAdapter
from kiosk.ports import CardEvent as PortCardEvent
from tests.idcard import fixtures as fx
from tests.idcard.conftest import QUICK
from tests.support.net import free_port
from tests.support.simproc import SimProcess
from tests.support.wait import wait_until

pytestmark = pytest.mark.integration


# The driver's events, or the kiosk's (``kiosk.ports.CardEvent``, kind a plain str) from IdReaderAdapter.
E = TypeVar("E", bound=CardEvent | PortCardEvent)


def _kind(event: CardEvent | PortCardEvent) -> str:
    return event.kind.value if isinstance(event, CardEvent) else event.kind


class Events(Generic[E]):
    """Collects watcher events; ``next()`` waits with a timeout and fails the test when none comes."""

    def __init__(self) -> None:
        self.queue: queue.Queue[E] = queue.Queue()

    def __call__(self, event: E) -> None:
        self.queue.put(event)

    def next(self, timeout: float = 10.0) -> E:
        try:
            return self.queue.get(timeout=timeout)
        except queue.Empty:
            pytest.fail(f"no watcher event within {timeout} s")

    def kinds(self, count: int, timeout: float = 10.0) -> list[str]:
        return [_kind(self.next(timeout)) for _ in range(count)]

    def none_within(self, seconds: float) -> bool:
        try:
            event = self.queue.get(timeout=seconds)
        except queue.Empty:
            return True
        pytest.fail(f"unexpected event {_kind(event)}")


@pytest.fixture
def watch():
    started = []

    def make(url: str, **options) -> tuple[CardWatcher, Events[CardEvent]]:
        events = Events[CardEvent]()
        watcher = CardWatcher(url, events, poll_interval=0.05, reconnect_interval=0.2, **options)
        started.append(watcher)
        return watcher.start(), events

    yield make
    for watcher in started:
        watcher.stop()


def test_present_removed_and_swapped_cards(make_sim, watch):
    sim = make_sim()
    _watcher, events = watch(sim.link.port)
    sim.present(0)
    event = events.next()
    assert event.kind == "card_present" and event.identity.name == "张伟"
    sim.remove()
    assert events.next().kind == "card_removed"
    sim.present(1)
    assert events.next().identity.name == "欧阳晓雯"
    sim.present(2)  # swapped without a gap the watcher could see
    assert events.next().kind == "card_removed"
    event = events.next()
    assert event.kind == "card_present" and event.identity.name == "向金花"
    events.none_within(0.3)  # a card left in the field is reported once


def test_unreadable_card_is_reported_once_and_the_next_card_reads(make_sim, watch, idcard_identities):
    sim = make_sim()
    _watcher, events = watch(sim.link.port)
    sim.present(idcard_identities[1] + fx.BAD_CHECK)
    event = events.next()
    assert event.kind == "read_failed" and event.error.code == "idcard_invalid_identity"
    events.none_within(0.3)
    sim.present(3)
    assert events.next().identity.nation == "彝"


def test_sam_fault_is_reset_without_losing_the_reader(make_sim, watch):
    sim = make_sim()
    _watcher, events = watch(sim.link.port)
    sim.set_fault("sam-error")
    sim.present(4)
    event = events.next()
    assert event.kind == "card_present" and event.identity.valid_to == "长期"
    assert sim.device.sam_fault is None


def test_sam_fault_surviving_a_reset_makes_the_reader_lost_until_it_recovers(make_sim, watch):
    sim = make_sim()
    _watcher, events = watch(sim.link.port)
    sim.present(0)
    assert events.next().kind == "card_present"
    sim.set_fault("sam-dead")
    assert events.next().kind == "card_removed"
    event = events.next()
    assert event.kind == "reader_lost" and event.error.code == "idcard_sam_fault"
    events.none_within(0.5)
    sim.clear_faults()
    assert events.next().kind == "reader_back"


def test_silent_reader_is_lost_and_comes_back(make_sim, watch):
    sim = make_sim()
    _watcher, events = watch(sim.link.port, reader_options=QUICK)
    sim.present(0)
    assert events.next().kind == "card_present"
    sim.set_fault("silence")
    assert events.kinds(2) == ["card_removed", "reader_lost"]
    sim.clear_faults()
    assert events.next().kind == "reader_back"
    sim.present(1)
    assert events.next().kind == "card_present"


def test_pty_reader_unplugged_and_plugged_back(idcard_identities, watch, tmp_path):
    link = tmp_path / "ttyIDCARD"  # a stable name, like /dev/serial/by-id/…
    args = ("idcard", "--identities", str(idcard_identities[0]), "--time-scale", "20")
    with SimProcess(*args, "--present", "0") as first:
        os.symlink(first.port, link)
        _watcher, events = watch(str(link))
        assert events.next().kind == "card_present"
        os.unlink(link)  # unplugged: udev removes the by-id link as the device goes
    assert events.kinds(2) == ["card_removed", "reader_lost"]
    events.none_within(0.5)  # lost is reported once however often the reconnection fails
    with SimProcess(*args) as second:
        os.symlink(second.port, link)
        assert events.next().kind == "reader_back"
        second.send("present 1")
        event = events.next()
        assert event.kind == "card_present" and event.identity.gender == "女"


def test_tcp_reader_restarted_on_the_same_port(idcard_identities, watch):
    port = free_port()
    args = ("idcard", "--identities", str(idcard_identities[0]), "--link", f"tcp:127.0.0.1:{port}",
            "--time-scale", "20")
    with SimProcess(*args, "--present", "2") as first:
        assert first.port == f"socket://127.0.0.1:{port}"
        _watcher, events = watch(first.port)
        assert events.next().identity.nation == "土家"
    assert events.kinds(2) == ["card_removed", "reader_lost"]
    with SimProcess(*args, "--present", "3"):
        assert events.kinds(2) == ["reader_back", "card_present"]


def test_reader_missing_at_start_is_reported_lost(watch, tmp_path):
    watcher, events = watch(str(tmp_path / "absent"))
    assert events.next().kind == "reader_lost"
    events.none_within(0.5)
    watcher.stop()
    assert not watcher.running


def looks(sim) -> int:
    """How often the reader was asked about a card (find, or select for the one in the field)."""
    return sim.device.commands["find"] + sim.device.commands["select"]


def test_at_rest_the_reader_is_looked_at_seldom_and_attending_looks_at_once(make_sim, watch):
    sim = make_sim()
    watcher, events = watch(sim.link.port, rest_interval=60.0)
    wait_until(lambda: looks(sim) >= 1, 10, "the first look")
    sim.present(0)
    events.none_within(0.5)          # at rest the next look is a minute away: ten quick ones would fit here
    assert looks(sim) == 1 and not watcher.attended
    watcher.attend(True)             # someone touched the screen: the pause ends now
    assert events.next().kind == "card_present"
    seen = looks(sim)
    wait_until(lambda: looks(sim) >= seen + 5, 10, "presence checks at the quick pace")
    watcher.attend(False)
    after = looks(sim)
    events.none_within(0.5)
    assert looks(sim) <= after + 1   # at most the look that ends the quick pause in progress


def test_a_card_put_down_at_rest_is_read(make_sim, watch):
    sim = make_sim()
    watcher, events = watch(sim.link.port, rest_interval=0.3)
    wait_until(lambda: looks(sim) >= 1, 10, "the first look")
    sim.present(2)
    event = events.next()
    assert event.kind == "card_present" and event.identity.nation == "土家" and not watcher.attended
    sim.remove()
    assert events.next().kind == "card_removed"


def test_the_kiosk_adapter_keeps_the_pace_for_a_new_watcher(make_sim):
    """The application attends the reader while a session is open; a watcher started again by the
    supervisor meanwhile polls at the quick pace too."""
    sim = make_sim()
    adapter = IdReaderAdapter(sim.link.port, poll_interval=0.05, rest_interval=60.0)
    events = Events[PortCardEvent]()
    adapter.attend(True)
    adapter.start(events)
    try:
        wait_until(lambda: looks(sim) >= 1, 10, "the first look")
        sim.present(0)
        assert events.next().kind == "card_present"
        adapter.stop()
        adapter.start(events)        # as the supervisor does after a watcher died
        seen = looks(sim)
        wait_until(lambda: looks(sim) >= seen + 1, 10, "the new watcher's first look")
        sim.present(1)               # the next person's card: found by the next look, not a minute later
        assert events.next().kind == "card_present"
        adapter.attend(False)
        after = looks(sim)
        events.none_within(0.5)
        assert looks(sim) <= after + 1
    finally:
        adapter.stop()
