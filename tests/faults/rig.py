"""The fault rig: a real terminal (``kiosk run`` as its own process, as systemd runs it) with a real
mosquitto, the real central simulator and device simulators, a client that uses the local API the way
the page does, and the counts every fault test reports: cases committed, delivered, duplicated, and
what the screen said."""
from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simulators.central import store as central_store
from simulators.hall.children import HallSim, Terminal
from simulators.hall.net import free_port
from simulators.hall.stack import DEVICE_ID, Hall, start_hall
from simulators.hall.terminal_config import terminal_tables, to_toml
from tests.support.kioskapi import TOKEN_HEADER
from tests.support.wait import wait_until

ITEM, SITUATION = "511900-XK-0004", "S01"   # 食品经营许可: self-service allowed, materials on paper
SUBMIT_AGAIN = ("重新提交", "再次提交", "请重新", "再提交")   # what must never follow a commit
KIOSK = [sys.executable, "-c", "import sys; from kiosk.cli.main import main; sys.exit(main())"]



class Screen:
    """The local API as the page calls it (page token on every POST); keeps every answer it got."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/") + "/"
        self.token = ""
        self.said: list[tuple[str, int, dict[str, Any]]] = []

    def _send(self, method: str, path: str, body: dict[str, Any] | None, timeout: float) -> tuple[int, Any]:
        headers = {"Content-Type": "application/json"}
        if method == "POST":
            if not self.token:
                self.token = self.get("/api/token")["token"]
            headers[TOKEN_HEADER] = self.token
        data = json.dumps(body or {}).encode() if method == "POST" else None
        request = urllib.request.Request(self.url + path.lstrip("/"), data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                status, answer = response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            status, answer = exc.code, json.loads(exc.read() or b"null")
        self.said.append((path, status, answer if isinstance(answer, dict) else {"value": answer}))
        return status, answer

    def get(self, path: str, timeout: float = 10.0) -> Any:
        return self._send("GET", path, None, timeout)[1]

    def post(self, path: str, body: dict[str, Any] | None = None, timeout: float = 30.0) -> tuple[int, Any]:
        return self._send("POST", path, body, timeout)

    def status(self) -> dict[str, Any]:
        return self.get("/api/status")

    def said_submit_again(self) -> list[str]:
        """Every answer that told a person to submit again (must stay empty after a commit)."""
        found = []
        for path, _, answer in self.said:
            text = json.dumps(answer, ensure_ascii=False)
            if any(phrase in text for phrase in SUBMIT_AGAIN):
                found.append(f"{path}: {text[:200]}")
        return found


@dataclass
class Tally:
    """What a fault did to the cases: committed on the terminal, delivered to central, duplicated."""

    committed: list[str] = field(default_factory=list)      # query codes the screen confirmed
    refused: list[str] = field(default_factory=list)        # messages of refused submissions (nothing stored)

    def delivered(self, central_db: Path) -> list[str]:
        return [c["query_code"] for c in central_store.device_cases(str(central_db), DEVICE_ID)]

    def lost(self, central_db: Path) -> list[str]:
        return sorted(set(self.committed) - set(self.delivered(central_db)))

    def duplicated(self, central_db: Path) -> int:
        codes = self.delivered(central_db)
        return len(codes) - len(set(codes))

    def figures(self, central_db: Path) -> dict[str, int]:
        return {"committed": len(self.committed), "delivered": len(set(self.delivered(central_db))
                                                                       & set(self.committed)),
                "lost": len(self.lost(central_db)), "duplicated": self.duplicated(central_db),
                "refused": len(self.refused)}


# What the screen says once central has answered a submission: 受理 at once, or 预审 when originals are to be
# checked at a window (the rig's cases bring their originals, so they are mostly 预审).
ANSWERED = ("accepted", "pre_review")


def submit_case(screen: Screen, hall: Hall, tally: Tally, card: int = 0) -> dict[str, Any]:
    """One self-service submission through the API with card ``card`` in the reader. Returns the commit's
    answer; a committed case goes into ``tally.committed``, a refusal into ``tally.refused``."""
    hall.send("idcard", f"present {card}")
    wait_until(lambda: (screen.get("/api/session").get("card") or None), 15, "the card to be read")
    status, view = screen.post("/api/submit/start", {"item": ITEM, "situation": SITUATION})
    if status != 200:
        tally.refused.append(view.get("message", ""))
        _leave(screen, hall)
        return view
    for material in view["materials"]:
        if material["choice"] is None:
            assert screen.post("/api/submit/material", {"material": material["code"], "choice": "paper"})[0] == 200
    screen.post("/api/submit/details", {"phone": "13800000000"})
    screen.post("/api/submit/details", {"pickup": view["pickup_methods"][0]["method"]})
    screen.post("/api/submit/details", {"consent": True})
    status, result = screen.post("/api/submit/commit")
    if status == 200 and result.get("notice"):
        tally.committed.append(result["notice"]["query_code"])
    else:
        tally.refused.append(result.get("message", ""))
    _leave(screen, hall)
    return result


def _leave(screen: Screen, hall: Hall) -> None:
    hall.send("idcard", "remove")
    screen.post("/api/session/end")


def central_rows(db: Path, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    return [dict(r) for r in central_store.rows(str(db), sql, params)]


def central_events(db: Path, type_: str) -> list[dict[str, Any]]:
    return [json.loads(r["payload"]) for r in central_rows(db, "SELECT payload FROM events WHERE device = ? "
                                                              "AND type = ? ORDER BY id", (DEVICE_ID, type_))]


def wait_events(db: Path, type_: str, predicate: Callable[[dict[str, Any]], bool] = lambda e: True,
                count: int = 1, timeout: float = 30.0) -> list[dict[str, Any]]:
    """The device's events of ``type_`` at central that satisfy ``predicate``, once there are ``count``."""
    def found() -> list[dict[str, Any]] | None:
        events = [e for e in central_events(db, type_) if predicate(e)]
        return events if len(events) >= count else None
    return wait_until(found, timeout, f"{count} {type_} event(s) at central", every=0.3)


class Rig:
    """A hall (broker, central, devices) and its terminal process, with a config the test may change."""

    def __init__(self, workdir: Path, devices: tuple[str, ...] = ("idcard", "printer"),
                 data_dir: Path | None = None, sync: dict[str, Any] | None = None,
                 extra: dict[str, dict[str, Any]] | None = None) -> None:
        self.workdir = workdir
        self.hall = start_hall(workdir, devices=devices)
        self.port = free_port()
        self.data_dir = data_dir or self.hall.terminal_dir
        self.sync = sync or {}
        self.extra = extra or {}
        self.terminal: Terminal | None = None
        self.ioboard: HallSim | None = None
        self.ioboard_port = 0

    @property
    def central_db(self) -> Path:
        return self.hall.central_db

    def start_ioboard(self) -> HallSim:
        """The IO board simulator (real firmware) on a TCP link whose port stays the same across restarts,
        as a board keeps its /dev/serial/by-id name when it is plugged in again."""
        self.ioboard_port = self.ioboard_port or free_port()
        self.ioboard = HallSim("ioboard", "--link", f"tcp:127.0.0.1:{self.ioboard_port}",
                               log_dir=self.hall.logs_dir).start()
        return self.ioboard

    def config(self) -> Path:
        # Offline commits wait this long for an ack that cannot come: short keeps the suite fast.
        tables = terminal_tables(self.hall, self.port, camera="", ack_wait_s=1.0)
        tables["device"]["data_dir"] = str(self.data_dir)
        if self.ioboard_port:
            tables["devices"]["ioboard"] = f"socket://127.0.0.1:{self.ioboard_port}"
        tables["sync"].update({"reconnect_max_s": 2.0, "ack_timeout_s": 5.0, **self.sync})
        for name, values in self.extra.items():
            tables.setdefault(name, {}).update(values)
        path = self.workdir / "terminal.toml"
        path.write_text(to_toml(tables), encoding="utf-8")
        return path

    def start_terminal(self, env: dict[str, str] | None = None) -> Screen:
        config = self.config()
        self.terminal = Terminal(config, self.hall.logs_dir)
        if env:
            self.terminal.env.update(env)
        self.terminal.start()
        return Screen(self.terminal.url)

    def stop_terminal(self) -> int:
        code = self.terminal.stop() if self.terminal is not None else 0
        self.terminal = None
        return code

    def kiosk_cli(self, command: str, *rest: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        """``kiosk COMMAND --config <this terminal's config> REST…`` (doctor, sync recover …)."""
        return subprocess.run([*KIOSK, command, "--config", str(self.config()), *rest], capture_output=True,
                              text=True, timeout=timeout)

    def log(self) -> str:
        path = self.hall.logs_dir / "terminal.log"
        return path.read_text("utf-8", errors="replace") if path.exists() else ""

    def stop(self) -> None:
        try:
            self.stop_terminal()
        finally:
            if self.ioboard is not None:
                self.ioboard.stop()
            self.hall.stop()


def engine_case() -> dict[str, Any]:
    """The §4 fields the application gives edge_sync for one case (engine-level fault tests)."""
    now = time.strftime("%Y-%m-%dT%H:%M:%S+08:00")
    return {"item": {"code": "511900-XK-0001", "situation": "S02", "catalog": 1}, "channel": "self",
            "applicant": {"name": "测试", "id_type": "resident", "id_no": "511902198806120319", "phone": ""},
            "materials": [{"code": "M01", "source": "paper"}], "pickup": {"method": "window", "detail": ""},
            "consent": {"version": "2026-01", "at": now}, "test": False}
