"""Fixtures for the application's unit tests: a Context over the sample catalog and port doubles."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from kiosk.adapters import ReceiptsAdapter
from kiosk.catalog import Catalog, load_catalog
from kiosk.services import Context, Settings
from kiosk.services.bundle import Services, build_services
from kiosk.services.devices import Devices
from kiosk.session import SessionManager, Timeouts
from tests.app.doubles import FakeCamera, FakeClock, FakePrinter, FakeSync, fixed_wall_clock


@pytest.fixture(scope="session")
def sample_catalog(catalog_file) -> Catalog:
    return load_catalog(catalog_file)


@dataclass
class World:
    services: Services
    ctx: Context
    sync: FakeSync
    printer: FakePrinter
    camera: FakeCamera
    clock: FakeClock
    events: list[dict[str, Any]]

    def types(self) -> list[str]:
        return [e["type"] for e in self.events]


@pytest.fixture
def world(sample_catalog, tmp_path) -> World:
    events: list[dict[str, Any]] = []
    clock = FakeClock()
    sync, printer, camera = FakeSync(), FakePrinter(), FakeCamera()
    sessions = SessionManager(Timeouts(), events.append, clock)
    devices = Devices(events.append, printer=printer, receipts=ReceiptsAdapter(), camera=camera, has_reader=True)
    devices.set_reader(True)
    devices.poll_printer()
    pin_sha256 = "8d969eef6ecad3c29a3a629280e686cf0c3f5d5a86aff3ca12020c923adc6c92"
    ctx = Context(settings=Settings(maintenance_pin_sha256=pin_sha256),
                  sessions=sessions, devices=devices, sync=sync, catalog=lambda: sample_catalog,
                  emit=events.append, wall_clock=fixed_wall_clock())
    services = build_services(ctx, tmp_path / "ledger.json")
    return World(services, ctx, sync, printer, camera, clock, events)
