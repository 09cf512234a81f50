"""Right after a start the sync engine is still connecting: the platform is "not known yet" (no
platform-unreachable banner, no offline light) until it has connected or kiosk.app.FIRST_LINK_S have
passed — then it is what the engine says."""
from __future__ import annotations

import asyncio
import time

from kiosk import app as app_module
from kiosk.app import Kiosk, Ports
from kiosk.config import load_config
from tests.app.doubles import FakeIo, FakeSync
from tests.support.net import free_port


def kiosk_over(sample_catalog, tmp_path, sync: FakeSync) -> tuple[Kiosk, FakeIo]:
    config = load_config(None, env={"KIOSK_DEVICE_DATA_DIR": str(tmp_path), "KIOSK_SYNC_ENABLED": "false"})
    io = FakeIo()
    return Kiosk(config, sample_catalog, Ports(sync=sync, ioboard=io), tick_s=0.1), io


async def watch(kiosk: Kiosk, until, timeout: float) -> list[bool | None]:
    """The platform states the terminal showed, in order, until ``until()`` or ``timeout``."""
    seen: list[bool | None] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not seen or seen[-1] is not kiosk.devices.online:
            seen.append(kiosk.devices.online)
        if until():
            break
        await asyncio.sleep(0.02)
    return seen


def test_a_restart_shows_the_platform_as_not_known_until_sync_connects(sample_catalog, tmp_path):
    sync = FakeSync(online=False)
    kiosk, io = kiosk_over(sample_catalog, tmp_path, sync)

    async def scenario() -> list[bool | None]:
        await kiosk.start(host="127.0.0.1", port=free_port())
        try:
            assert kiosk.devices.status()["online"] is None      # the page shows no banner
            assert ("yellow", "blink") not in io.lights           # nor the board the offline light
            seen = await watch(kiosk, lambda: False, 0.5)
            sync.online = True                                     # MQTT is up
            seen += await watch(kiosk, lambda: kiosk.devices.online is True, 5)
            return seen
        finally:
            await kiosk.stop()

    seen = asyncio.run(scenario())
    assert seen[0] is None and seen[-1] is True and False not in seen, seen
    assert ("yellow", "blink") not in io.lights


def test_a_platform_not_reached_in_time_is_shown_as_unreachable(sample_catalog, tmp_path, monkeypatch):
    monkeypatch.setattr(app_module, "FIRST_LINK_S", 0.3)
    kiosk, io = kiosk_over(sample_catalog, tmp_path, FakeSync(online=False))

    async def scenario() -> list[bool | None]:
        await kiosk.start(host="127.0.0.1", port=free_port())
        try:
            return await watch(kiosk, lambda: kiosk.devices.online is False, 5)
        finally:
            await kiosk.stop()

    assert asyncio.run(scenario()) == [None, False]
    assert io.lights[-1] == ("yellow", "blink")


def test_a_terminal_without_sync_is_offline_from_the_start(sample_catalog, tmp_path):
    config = load_config(None, env={"KIOSK_DEVICE_DATA_DIR": str(tmp_path), "KIOSK_SYNC_ENABLED": "false"})
    kiosk = Kiosk(config, sample_catalog, Ports(), tick_s=0.1)

    async def scenario() -> bool | None:
        await kiosk.start(host="127.0.0.1", port=free_port())
        try:
            return kiosk.devices.online
        finally:
            await kiosk.stop()

    assert asyncio.run(scenario()) is False
