"""Safety before writes, against the real terminal with the real IO board firmware simulated: with
storage over its limit the enclosure still locks the terminal, the tamper and help events still reach
central (reserved headroom), and new cases are refused with a clear message; an IO board that goes
away locks the terminal and alarms, and its return unlocks it and delivery goes on."""
from __future__ import annotations

import pytest

from tests.faults.rig import ANSWERED, Tally, submit_case, wait_events, wait_until

pytestmark = pytest.mark.integration

TAMPER_LOCK, BOARD_LOST_LOCK = "机箱被打开", "控制板连接中断"


def test_storage_over_its_limit_still_locks_alarms_and_calls_staff(rig_factory, record_figures):
    # A budget no store can meet: every case is refused, as on a terminal whose outbox filled its share.
    rig = rig_factory(sync={"min_free_mb": 10.0 ** 7})
    rig.start_ioboard()
    screen = rig.start_terminal()
    wait_until(lambda: screen.status()["io"].get("board") == "ok", 30, "the IO board")
    tally = Tally()
    first = submit_case(screen, rig.hall, tally)
    assert "存储空间已满" in first["message"] and tally.committed == []
    wait_until(lambda: screen.status()["blocks"]["submit"], 20, "the screen to refuse new cases up front")
    second = submit_case(screen, rig.hall, tally)
    assert "存储空间已满" in second["message"] and "咨询和查询可以继续使用" in second["message"]
    assert screen.get("/api/search?q=yyzz")["items"]          # consultation goes on

    rig.ioboard.send("tamper open")
    locked = wait_until(lambda: screen.status()["locked"], 15, "the tamper lock")
    status, answer = screen.post("/api/help")
    rig.ioboard.send("press help")
    tamper = wait_events(rig.central_db, "tamper")
    helps = wait_events(rig.central_db, "help.requested", lambda e: e.get("source") in ("screen", "button"), 2)
    health = wait_events(rig.central_db, "device.health",
                         lambda h: h["storage"]["state"] == "full" and h["locked"] == TAMPER_LOCK)
    assert locked == TAMPER_LOCK and tamper[0]["state"] == "open"
    assert status == 200 and "已通知工作人员" in answer["message"]
    assert {e["source"] for e in helps} == {"screen", "button"}
    assert health[-1]["io"]["tamper"] == "open" and health[-1]["clock_ok"] is True
    assert health[-1]["update"]["phase"] == "none"      # a checkout, not an installed slot (kiosk/update)
    assert screen.said_submit_again() == []
    figures = tally.figures(rig.central_db)
    assert figures["lost"] == 0 and figures["refused"] == 2
    record_figures({"fault": "storage over its limit, then the enclosure opened", **figures,
                    "screen_refusal": second["message"], "locked": locked, "tamper_events": len(tamper),
                    "help_calls_at_central": len(helps)})


def test_io_board_lost_locks_and_alarms_and_its_return_unlocks(rig_factory, record_figures):
    rig = rig_factory()
    rig.start_ioboard()
    screen = rig.start_terminal()
    wait_until(lambda: screen.status()["io"].get("board") == "ok", 30, "the IO board")
    tally = Tally()
    assert submit_case(screen, rig.hall, tally)["status"] in ANSWERED

    rig.ioboard.stop()                                    # unplugged
    locked = wait_until(lambda: screen.status()["locked"], 20, "the lock after the board went away")
    during = screen.status()
    refused = screen.post("/api/submit/start", {"item": "511900-XK-0004", "situation": "S01"})
    alarm = wait_events(rig.central_db, "help.requested", lambda e: e.get("reason") == "io_board_lost")
    lost_health = wait_events(rig.central_db, "device.health", lambda h: h["io"]["board"] == "lost")

    rig.start_ioboard()                                   # plugged in again, same port
    wait_until(lambda: screen.status()["locked"] is None, 30, "the unlock once the board is back, closed")
    after = submit_case(screen, rig.hall, tally)
    wait_until(lambda: not tally.lost(rig.central_db), 30, "both cases at central")
    figures = tally.figures(rig.central_db)
    assert locked == BOARD_LOST_LOCK and during["io"]["tamper"] == "unknown" and during["light"] == "red:blink"
    assert refused[0] == 423 and "暂停服务" in refused[1]["message"]
    assert alarm and lost_health[0]["io"]["tamper"] == "unknown"
    assert after["status"] in ANSWERED and figures["lost"] == 0 and figures["duplicated"] == 0
    assert screen.said_submit_again() == []
    record_figures({"fault": "IO board unplugged, then plugged in again", **figures, "locked": locked,
                    "tamper_shown": during["io"]["tamper"], "alarm": "io_board_lost"})
