"""``device.health`` (contract §7) as one typed value: the contract's fields, plus additive ones that
central ignores if it does not know them (§2): clock state, storage state, versions, supervisor
restarts, the lock. The sync engine reports its half (:class:`SyncHealth`); the application adds the
devices and sends the whole (:class:`DeviceHealth`) every minute and on every change."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from edge_sync.clock import ClockState
from edge_sync.supervise import WorkerReport, WorkerState

_NOT_ALIVE = (WorkerState.DEAD, WorkerState.STALLED)


class StoreState(StrEnum):
    """What the sync store allows."""

    OK = "ok"
    FULL = "full"            # over its budget: new cases refused, safety records still taken
    CORRUPT = "corrupt"      # unreadable database: cases refused; `kiosk sync recover` repairs it
    KEY_LOST = "key_lost"    # the device key does not open the rows: cases refused, no new key made


@dataclass(frozen=True)
class SyncHealth:
    """The sync engine's part of the terminal's health."""

    connected: bool
    outbox_depth: int
    outbox_oldest_s: float | None
    disk_free_mb: int
    clock: ClockState
    clock_offset_s: float | None
    clock_step_s: float | None
    store: StoreState
    store_mb: float
    reserve_held: bool
    reserve_released: int
    workers: tuple[WorkerReport, ...] = ()
    catalog_version: int | None = None
    sw_version: str = ""

    @property
    def clock_ok(self) -> bool:
        return self.clock not in (ClockState.WRONG, ClockState.STEPPED)

    @property
    def alive(self) -> bool:
        return all(w.state is not WorkerState.DEAD and w.state is not WorkerState.STALLED for w in self.workers)

    @property
    def failing(self) -> list[str]:
        """Workers that failed several times in a row (the connection when it cannot reconnect)."""
        return [w.name for w in self.workers if w.failing >= 3 or w.state in (WorkerState.DEAD, WorkerState.STALLED)]

    def to_dict(self) -> dict[str, Any]:
        """For ``kiosk sync status`` and the maintenance page."""
        return {"connected": self.connected, "outbox": {"depth": self.outbox_depth, "oldest_s": self.outbox_oldest_s},
                "disk_free_mb": self.disk_free_mb, "clock_ok": self.clock_ok, "clock": self.clock.value,
                "clock_offset_s": self.clock_offset_s, "clock_step_s": self.clock_step_s,
                "store": self.store.value, "store_mb": self.store_mb, "reserve_held": self.reserve_held,
                "workers": {w.name: w.to_dict() for w in self.workers}}


@dataclass(frozen=True)
class PrinterHealth:
    online: bool
    paper: str = "ok"        # ok | near_end | out
    cover: str = "closed"    # closed | open


@dataclass(frozen=True)
class IoHealth:
    tamper: str = "unknown"  # open | closed | unknown (board lost or absent)
    presence: str = "off"
    board: str = "absent"    # ok | lost | absent


@dataclass(frozen=True)
class DeviceHealth:
    """One ``device.health`` event."""

    printer: PrinterHealth
    idcard: str              # ok | missing | absent
    scanner: str
    camera: str
    io: IoHealth
    sync: SyncHealth
    uptime_s: int
    locked: str | None = None
    io_firmware: str | None = None
    app_workers: tuple[WorkerReport, ...] = field(default=())
    # The terminal's update state (contract addendum "Updates": versions, phase, last result), or None
    # when the terminal runs without the installer (a development checkout).
    update: Mapping[str, Any] | None = None

    def fields(self) -> dict[str, Any]:
        """The event's fields (``type``, ``v``, ``msg_id`` … are added by the outbox)."""
        s = self.sync
        reports = (*s.workers, *self.app_workers)
        workers = {w.name: w.to_dict() for w in reports}
        return {
            "printer": {"online": self.printer.online, "paper": self.printer.paper, "cover": self.printer.cover},
            "idcard": self.idcard, "scanner": self.scanner, "camera": self.camera,
            "io": {"tamper": self.io.tamper, "presence": self.io.presence, "board": self.io.board},
            "outbox": {"depth": s.outbox_depth, "oldest_s": s.outbox_oldest_s},
            "disk_free_mb": s.disk_free_mb, "uptime_s": self.uptime_s, "clock_ok": s.clock_ok,
            # additive (contract §2: unknown fields are ignored)
            "clock": {"state": s.clock.value, "offset_s": s.clock_offset_s, "step_s": s.clock_step_s},
            "storage": {"state": s.store.value, "store_mb": s.store_mb, "reserve_held": s.reserve_held,
                        "reserve_released": s.reserve_released},
            "versions": {"sw": s.sw_version, "catalog": s.catalog_version, "io_firmware": self.io_firmware},
            "supervisor": {"restarts": sum(w.restarts for w in reports),
                           "failing": [w.name for w in reports if w.failing or w.state in _NOT_ALIVE],
                           "workers": workers},
            "locked": self.locked,
            **({"update": dict(self.update)} if self.update is not None else {}),
        }

    def change_key(self) -> tuple[Any, ...]:
        """What counts as a change worth an event of its own (not the outbox depth, uptime or disk)."""
        s = self.sync
        return (self.printer, self.idcard, self.scanner, self.camera, self.io, self.locked, s.connected,
                s.clock, s.store, s.reserve_held, tuple(sorted(s.failing)),
                tuple(w.name for w in self.app_workers if w.failing or w.state in _NOT_ALIVE),
                None if self.update is None else (self.update.get("phase"), self.update.get("sw")))
