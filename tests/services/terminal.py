"""A terminal's services as the composition root builds them, over the REAL sync engine (its own data dir and
device id, connected to the test's mosquitto), the real receipts layouts, persistent service records sealed
with the engine's device key — and in-process doubles only for the printer and the camera (kiosk.ports)."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, TypedDict

from edge_sync import SyncConfig, SyncEngine
from kiosk.adapters import ReceiptsAdapter, SyncAdapter
from kiosk.catalog import Catalog
from kiosk.catalog.workdays import CHINA_TZ
from kiosk.services import Context, Settings
from kiosk.services.bundle import Services, build_services
from kiosk.services.devices import Devices
from kiosk.services.records import ServiceRecords, open_records
from kiosk.session import SessionManager, Timeouts
from simulators.central import store
from tests.app.doubles import FakeCamera, FakeClock, FakePrinter, Person
from tests.edge_sync.conftest import wait_until
from tests.support.drafts import answer_materials

Card = Person  # an ID card as the reader reports it


# From the sample identities (shared/data/identities-sample.json) and the central simulator's agents.
ZHANG = Card("张伟", "511902198806120319")
XIANG = Card("向金花", "500114197609180421")
CHILD = Card("陈思远", "500107201508080531")
OUYANG = Card("欧阳晓雯", "510107199903050262")   # agent AG-0031, PIN 123456
ZHOU = Card("周玉兰", "511921195809230842")        # agent AG-0032, PIN 112233
ZHAO = Card("赵志强", "51190219730415109X")        # agent AG-0058 (green channel), PIN 654321
MAIL = {"recipient": "张伟", "phone": "13800000001", "province": "四川省", "city": "示例市", "county": "巴州区",
        "street": "江北街道", "detail": "回风路18号附2号"}


class CentralKeys(TypedDict):
    """Central's public keys as SyncConfig takes them (key_id → base64 raw Ed25519 public key)."""

    command_keys: dict[str, str]
    catalog_keys: dict[str, str]


class Terminal:
    """One terminal: ``services``, ``printer`` (what was printed), ``engine`` (the real sync engine)."""

    def __init__(self, data_dir: Path, broker_url: str, catalog: Catalog, keys: CentralKeys,
                 device: str = "KSK-511902-0007", site: str = "511902-HALL-01", ack_wait_s: float = 8.0,
                 online: bool = True) -> None:
        self.data_dir = data_dir
        self._stopped = False
        self.engine = SyncEngine(SyncConfig(device_id=device, site_id=site, mqtt_url=broker_url, data_dir=data_dir,
                                            min_free_mb=1, ack_timeout_s=5, **keys))
        self.engine.start()
        if online and not self.engine.wait_online(15):
            self.engine.stop()
            raise TimeoutError("engine did not connect")
        self.records: ServiceRecords = open_records(data_dir, self.engine.key)
        self.events: list[dict[str, Any]] = []
        self.clock = FakeClock()
        self.printer, self.camera = FakePrinter(), FakeCamera()
        sessions = SessionManager(Timeouts(), self.events.append, self.clock)
        devices = Devices(self.events.append, printer=self.printer, receipts=ReceiptsAdapter(), camera=self.camera,
                          has_reader=True)
        devices.poll_printer()
        self.ctx = Context(settings=Settings(device_id=device, site_id=site, site_name="示例市政务服务中心",
                                             ack_wait_s=ack_wait_s, request_timeout_s=5.0),
                           sessions=sessions, devices=devices, sync=SyncAdapter(self.engine), catalog=lambda: catalog,
                           emit=self.events.append, wall_clock=lambda: datetime.now(CHINA_TZ))
        self.services: Services = build_services(self.ctx, data_dir / "agent-cases.json", self.records)

    def card(self, card: Card) -> None:
        """A card is read (as `Kiosk.on_card_event` does)."""
        self.ctx.sessions.card_present(card)
        self.services.on_card(card)

    def remove_card(self) -> None:
        self.ctx.sessions.card_removed()
        self.services.on_card(None)

    def agent(self, card: Card, agent_id: str, pin: str) -> dict[str, Any]:
        self.card(card)
        return self.services.agent.login(agent_id, pin)

    def fill_draft(self, item: str, situation: str, *, paper: tuple[str, ...] = (), pickup: str = "window",
             **pickup_args: Any) -> dict[str, Any]:
        """A draft with every required material scanned (or ``paper``), phone, pickup; consent (citizen)."""
        s = self.services.submit
        answer_materials(s, s.start(item, situation), paper)
        s.details(phone="13800000000")
        view = s.set_pickup(pickup, **pickup_args)
        return view if view["channel"] == "agent" else s.details(consent=True)

    def stop(self) -> None:
        """Stop the engine and close the records (again: nothing)."""
        if self._stopped:
            return
        self._stopped = True
        self.records.close()
        self.engine.stop()


def central_keys(keys_dir: Path) -> CentralKeys:
    pub = lambda name: (keys_dir / f"{name}.pub").read_text().strip()  # noqa: E731
    return {"command_keys": {"cmd-2026": pub("cmd-2026")}, "catalog_keys": {"cat-2026": pub("cat-2026")}}


def central_rows(db: Path, sql: str, params: tuple = ()) -> list[dict]:
    return store.rows(db, sql, params)


def central_case(net: Any, code: str) -> dict:
    rows = wait_until(lambda: central_rows(net.db, "SELECT * FROM cases WHERE query_code = ?", (code,)), 15,
                      f"case {code} at central")
    return rows[0]
