"""One simulated hall per test module for the service screens (casework, bundles, agent tools): the whole
stack (mosquitto, central simulator, device simulators, real drivers and sync) with the simulators' sample
catalog (village points and bundles) and one kiosk on it. Cases the screens act on are submitted below the
screen through the kiosk's own services, as the submission wizard would; the screens are then used by taps.

A test module imports the fixtures it uses: ``from tests.browser.hallstack import catalog_file, hall  # noqa``."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from kiosk.app import Kiosk
from kiosk.catalog import load_catalog
from kiosk.config import load_config
from simulators.central import store
from simulators.hall.stack import sample_file
from tests.app.harness import KioskThread
from tests.browser.conftest import Stack
from tests.support.drafts import answer_materials
from tests.support.net import free_port
from tests.support.wait import wait_until

# The sample identities (shared/data/identities-sample.json), by their index for the card simulator.
ZHANG, OUYANG, XIANG, ZHAO, ZHOU = 0, 1, 2, 6, 7
ID_NUMBERS = {ZHANG: "511902198806120319", OUYANG: "510107199903050262", XIANG: "500114197609180421",
              ZHAO: "51190219730415109X", ZHOU: "511921195809230842"}
ITEM = ("511900-XK-0001", "S02")  # 企业设立登记 个人独资: 全程网办, accepted at once, agent allowed


class Hall:
    def __init__(self, stack: Stack, kiosk: KioskThread) -> None:
        self.stack = stack
        self.kiosk = kiosk

    @property
    def url(self) -> str:
        return self.kiosk.url

    @property
    def services(self) -> Any:
        assert self.kiosk.kiosk is not None
        return self.kiosk.kiosk.services

    def present(self, card: int) -> None:
        """The card simulator reads card ``card`` (any card on the reader leaves first); returns once the
        kiosk's session holds it."""
        self.remove()
        self.stack.idcard.send(f"present {card}")
        wanted = ID_NUMBERS[card]
        wait_until(lambda: (s := self.services.ctx.sessions.current) is not None and s.card is not None
                   and s.card.id_number == wanted, 15, f"card {card} in the kiosk's session")

    def remove(self) -> None:
        """The card leaves the reader; returns once the kiosk has seen it go."""
        self.stack.idcard.send("remove")
        wait_until(lambda: not self.services.submit.presence.on_reader, 15, "the card off the reader")

    def end(self) -> None:
        """The visitor leaves: card out, session over (what 结束 does). Call it before a page loads: the
        page it would otherwise reset is the one that was showing."""
        self.remove()
        self.services.ctx.sessions.end()

    def submit(self, card: int, item: tuple[str, str] = ITEM, paper: tuple[str, ...] = ()) -> str:
        """A case of ``item`` for the card holder, every material scanned (or ``paper``); its query code."""
        self.present(card)
        s = self.services.submit
        answer_materials(s, s.start(*item), paper)
        s.details(phone="13800000000")
        s.set_pickup("window")
        s.details(consent=True)
        code = str(self.services.committer.commit()["notice"]["query_code"])
        self.case(code)
        self.end()
        return code

    def central(self, line: str) -> None:
        """A stdin command to the central simulator, once it confirms it."""
        name = line.split()[0]
        self.stack.central.send(line)
        reply = self.stack.central.wait_json(lambda o: o.get("event") == "command" and o.get("name") == name,
                                             timeout=10)
        assert reply["ok"], reply

    def rows(self, sql: str, params: tuple = ()) -> list[dict[str, Any]]:
        return store.rows(self.stack.tmp / "central.db", sql, params)

    def case(self, code: str) -> dict[str, Any]:
        """Central's row of the case (waits for it to arrive)."""
        return wait_until(lambda: self.rows("SELECT * FROM cases WHERE query_code = ?", (code,)), 15,
                          f"case {code} at central")[0]


@pytest.fixture(scope="module")
def catalog_file():
    """The simulators' sample catalog: shared/data's plus village points and bundles."""
    return sample_file("catalog-sample.json")


@pytest.fixture(scope="module")
def hall(tmp_path_factory, catalog_file, identities_file) -> Iterator[Hall]:
    # Steps take fifty times their limit: a case's running step turns yellow, then red, as central's clock
    # is advanced (the `advance` command), without waiting on real time.
    tmp = tmp_path_factory.mktemp("hall")
    stack = Stack(tmp, catalog_file, identities_file, pace="50")
    try:
        config = load_config(None, env={"KIOSK_DEVICE_DATA_DIR": str(tmp), "KIOSK_SYNC_ENABLED": "false",
                                        "KIOSK_SITE_ID": "511902-HALL-01", "KIOSK_SESSION_ACK_WAIT_S": "10"})
        catalog = load_catalog(catalog_file)
        ports = stack.ports()
        kiosk = KioskThread(lambda: Kiosk(config, catalog, ports, tick_s=0.1), free_port()).start()
        try:
            yield Hall(stack, kiosk)
        finally:
            kiosk.stop()
    finally:
        stack.close()


@pytest.fixture(autouse=True)
def fresh_visitor(request):
    """Each test starts and ends with nobody at the terminal."""
    if "hall" not in request.fixturenames:
        yield
        return
    h: Hall = request.getfixturevalue("hall")
    h.end()
    yield
    h.end()
