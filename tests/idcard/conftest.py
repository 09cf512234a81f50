"""Fixtures for ID-card tests: an identities file with every fixture card, in-process simulators on real
ptys or TCP ports, and readers; everything a test starts is stopped here."""
from __future__ import annotations

from pathlib import Path
from typing import TypedDict

import pytest

from drivers.idcard import IdCardReader
from simulators.idcard.cards import load_cards
from simulators.idcard.server import ReaderSimulator
from simulators.link import open_link
from tests.idcard.fixtures import write_identities


class Deadlines(TypedDict):
    """IdCardReader's keyword-only deadlines (a TypedDict, so that ``**QUICK`` is checked against them)."""

    find_timeout: float
    select_timeout: float
    read_timeout: float
    command_timeout: float


# Short driver deadlines for fault tests; the documented ones (1 s / 3 s) are tested separately.
QUICK: Deadlines = {"find_timeout": 0.4, "select_timeout": 0.4, "read_timeout": 0.8, "command_timeout": 0.8}


@pytest.fixture
def idcard_identities(identities_file: Path, tmp_path: Path) -> tuple[Path, int]:
    """(file, index of the first extra fixture card)."""
    return write_identities(identities_file, tmp_path)


@pytest.fixture
def make_sim(idcard_identities):
    """``make_sim(*faults, link="pty", time_scale=20, **options)`` → a started in-process simulator."""
    started = []

    def make(*faults: str, link: str = "pty", time_scale: float = 20.0, seed: int = 7,
             **options) -> ReaderSimulator:
        wire = open_link(link)
        sim = ReaderSimulator(load_cards(idcard_identities[0]), wire, time_scale=time_scale, faults=faults,
                              seed=seed, **options)
        started.append(sim)
        return sim.start()

    yield make
    for sim in started:
        sim.stop()
        sim.link.close()


@pytest.fixture
def open_reader():
    """``open_reader(url, **options)`` → an open IdCardReader, closed after the test."""
    readers = []

    def make(url: str, **options) -> IdCardReader:
        reader = IdCardReader(url, **options).open()
        readers.append(reader)
        return reader

    yield make
    for reader in readers:
        reader.close()
