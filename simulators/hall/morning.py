"""The scripted morning of ``kiosk-sim hall --headless``: five scenes played through the terminal's real UI
in headless Chromium while the script plays the devices (cards, scans, broker outage) — consult and
print a checklist; an agent submits for a resident with camera captures; a citizen scans the notice
and follows the case; a queue ticket; an offline submission that syncs when the broker returns."""
from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simulators.hall.codes import format_query_code, parse_receipt_code
from simulators.hall.control import HallControl
from simulators.hall.outputs import PrintedJob, central_cases, printed_jobs
from simulators.hall.screen import Screen, open_browser

Say = Callable[[str], None]
PRINT_TIMEOUT_S = 30.0
SYNC_TIMEOUT_S = 60.0
AGENT_CARD, RESIDENT_CARD, CITIZEN_CARD = 1, 0, 3  # sample identities: the 2nd one is agent AG-0031
AGENT_NUMBER, AGENT_PIN = "0031", "123456"
CONSULT = ("yyzz", "企业设立登记")                       # pinyin initials of 营业执照
AGENT_ITEM = ("shbzk", "社会保障卡申领", "首次申领（成年人）")  # pinyin initials of 社会保障卡
OFFLINE_ITEM = ("shengyudengji", "生育登记")            # full pinyin of 生育登记
PHONE = "13800138000"
OFFLINE_MARK = "已提交，待平台确认"


@dataclass
class Scene:
    name: str
    ok: bool = False
    detail: str = ""
    receipts: list[int] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)  # query codes of the notices printed in this scene
    notes: list[str] = field(default_factory=list)  # UI oddities the script worked around


class Morning:
    """Plays the scenes in order; a failed scene is recorded (with a screenshot) and the next one runs."""

    def __init__(self, control: HallControl, screen: Screen, say: Say) -> None:
        self.control = control
        self.screen = screen
        self.say = say
        self.scenes: list[Scene] = []
        printer = control.hall.devices.get("printer")
        if printer is None:
            raise RuntimeError("the printer simulator is not running")
        self.printer = printer

    # Devices ------------------------------------------------------------------------------------
    def printed_after(self, seq: int) -> PrintedJob:
        """The next job the printer simulator finishes after event number ``seq``."""
        event = self.printer.wait_event(lambda e: e.get("event") == "job", PRINT_TIMEOUT_S, after=seq)
        meta = Path(event["json"])
        data = json.loads(meta.read_text(encoding="utf-8"))
        return PrintedJob(n=int(event["n"]), png=Path(event["png"]), qr=data.get("qr", []), text=data.get("text", []))

    def notice_code(self, job: PrintedJob) -> str:
        for payload in job.qr:
            code = parse_receipt_code(payload)
            if code:
                return code
        raise AssertionError(f"receipt #{job.n} carries no notice QR code")

    def wait_synced(self, code: str, timeout: float = SYNC_TIMEOUT_S) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            for case in central_cases(self.control.hall.central_db):
                if case.query_code == code:
                    return case.to_dict()
            if time.monotonic() > deadline:
                raise AssertionError(f"central has no case with code {code} after {timeout} s")
            time.sleep(0.25)

    # Scenes -------------------------------------------------------------------------------------
    def play(self, name: str, scene: Callable[[Scene], str]) -> Scene:
        record = Scene(name)
        self.scenes.append(record)
        self.say(f"— {name}")
        try:
            self.control.remove_card()
            self.screen.reset_between_visitors()
            self.screen.home()
            record.detail = scene(record)
            record.ok = True
            self.say(f"  ✓ {record.detail}")
        except Exception as exc:  # one broken scene must not hide the others
            record.detail = describe_failure(exc)
            self.say(f"  ✗ {record.detail}")
            try:
                self.screen.shot(f"failed-scene-{name[0]}")
            except Exception:
                pass
        return record

    def consult(self, record: Scene) -> str:
        s = self.screen
        s.shot("home")
        query, item = CONSULT
        s.search(query)
        s.see(item)
        s.shot("search")
        s.tap_item(item)
        s.see_heading(item)
        s.shot("item")
        seq = self.printer.last_seq
        s.tap("打印材料清单")
        s.see("材料清单已打印")
        job = self.printed_after(seq)
        record.receipts.append(job.n)
        s.shot("checklist-printed")
        return f"searched {query!r}, opened {item}, checklist printed (receipt #{job.n})"

    def agent_submits(self, record: Scene) -> str:
        s, control = self.screen, self.control
        self.agent_login(record)
        s.tap_tile("为群众申报")
        query, item, situation = AGENT_ITEM
        s.search(query)
        s.tap_item(item)
        s.tap("为群众代办申报")
        s.see("请群众把本人身份证放在读卡区")
        control.present(RESIDENT_CARD)
        s.see("请选择符合您的情形")
        s.tap_item(situation)
        self.materials(capture=True)
        job = self.finish_submission(expect="✔ 已提交，平台已受理", resident_card=RESIDENT_CARD)
        code = self.notice_code(job)
        record.receipts.append(job.n)
        record.codes.append(code)
        case = self.wait_synced(code)
        self.village_cases_and_logout(code)
        return (f"{item} for a resident, notice #{job.n}, case {case['case_no']} ({format_query_code(code)}), "
                "listed in the village's cases")

    def agent_login(self, record: Scene) -> None:
        """Card of the agent, 工号 and PIN on the keypads → the agent's desk; the agent's card comes out."""
        s = self.screen
        s.tap_tile("代办员登录")
        s.see("请代办员把本人身份证放在读卡区")
        self.control.present(AGENT_CARD)
        s.see("第二步：输入工号")
        s.keypad(AGENT_NUMBER, 0)
        s.keypad(AGENT_PIN, 1)
        s.shot("agent-login")
        s.tap("登录")
        s.see_heading("代办员工作台")
        self.control.remove_card()  # the agent keeps their own card
        s.shot("agent-desk")

    def agent_desk(self) -> None:
        self.screen.tap("返回首页", exact=False)
        self.screen.tap_tile("代办员登录")
        self.screen.see_heading("代办员工作台")

    def village_cases_and_logout(self, code: str) -> None:
        """Next resident → the village's cases list the one just submitted → the agent logs out."""
        s = self.screen
        s.tap("为下一位群众办理")
        self.control.remove_card()  # the resident takes their card back
        s.see_heading("代办员工作台")
        s.tap_tile("本村办件")
        s.see_heading("本村办件")
        s.see(format_query_code(code))
        s.shot("village-cases")
        self.agent_desk()
        s.end_session("退出登录", tile=True)

    def materials(self, capture: bool) -> None:
        """Each material: photographed with the document camera (``capture``), else kept as the platform's
        copy when it holds one, else "bring the original"."""
        s = self.screen
        s.see("请为每份材料选择提交方式")
        cards = s.page.locator(".card", has=s.page.get_by_role("button", name="带原件到窗口"))
        for index in range(cards.count()):
            card = cards.nth(index)
            if capture:
                s.tap("用高拍仪拍照", within=card)
                s.tap("拍一页", within=cards.nth(index))
                cards.nth(index).get_by_text("已拍 1 页").wait_for()
            elif not card.locator("button.selected").count():
                s.tap("带原件到窗口", within=card)
                cards.nth(index).locator("button.selected").first.wait_for()
        s.shot("materials")
        s.tap("下一步")

    def finish_submission(self, expect: str, paper: str = "受理通知书", resident_card: int | None = None) -> PrintedJob:
        """Phone, pickup, consent, confirm; returns the printed notice (``paper``: its title on the screen).
        With ``resident_card`` (agent mode) the resident takes their card off the reader and puts it back,
        then taps their own consent: the agent cannot consent for them."""
        s = self.screen
        s.see("请输入联系电话")
        s.keypad(PHONE)
        s.tap("下一步")
        s.see("办好后怎么领取？")
        s.tap("窗口领取")
        s.see("领取地点")
        s.tap("下一步")
        if resident_card is None:
            s.tap("我已了解并同意")
        else:
            s.see("拿起自己的身份证，再放回读卡区")
            s.shot("consent-ask-resident")
            self.control.remove_card()
            self.control.present(resident_card)
            s.see("已读到申请人")
            s.page.get_by_role("button", name=re.compile(r"^我本人（.+）已了解并同意$")).first.tap()
        s.see("✔ 已同意")
        s.tap("下一步")
        s.see("请核对后提交")
        s.shot("confirm")
        seq = self.printer.last_seq
        s.tap("✔ 确认提交")
        s.see(expect, timeout_ms=40_000)
        job = self.printed_after(seq)
        s.see(f"{paper}已打印")
        s.shot("notice")
        return job

    def citizen_follows(self, record: Scene) -> str:
        notices = [c for scene in self.scenes for c in scene.codes]
        if not notices:
            raise AssertionError("no notice was printed earlier this morning")
        job = next(j for j in printed_jobs(self.control.hall.receipts_dir)
                   if any(parse_receipt_code(q) == notices[0] for q in j.qr))
        payload = next(q for q in job.qr if parse_receipt_code(q))
        self.control.scan(payload)  # the QR as printed, through the scanner simulator
        s = self.screen
        s.page.locator("#progress").wait_for()
        shown = s.text_of("#progress .code")
        if shown.replace("-", "").strip() != notices[0]:
            raise AssertionError(f"progress page shows code {shown!r}, not the scanned notice's")
        s.shot("progress")
        # The same resident then reads their card: 我的办件 shows their own cases.
        s.tap("返回首页", exact=False)
        s.tap_tile("我的办件")
        s.page.locator("#wait-card").wait_for()
        self.control.present(RESIDENT_CARD)
        s.see_heading("我的办件")
        s.see(AGENT_ITEM[1])
        s.shot("my-cases")
        self.control.remove_card()
        return f"scanned notice #{job.n}, progress page of {shown}; the card showed 我的办件"

    def queue_ticket(self, record: Scene) -> str:
        s = self.screen
        s.tap_tile("取号排队")
        s.see_heading("取号排队")
        s.shot("queue")
        seq = self.printer.last_seq
        s.tap_tile("社会事务")
        s.see_heading("取号成功")
        job = self.printed_after(seq)
        record.receipts.append(job.n)
        number = s.text_of(".big-number")
        s.shot("ticket")
        s.end_session("完成")
        return f"ticket {number} (receipt #{job.n})"

    def offline_submission(self, record: Scene) -> str:
        s, control = self.screen, self.control
        control.act("broker", "stop")
        try:
            s.see("暂时连不上政务服务平台", timeout_ms=30_000)
            s.shot("offline")
            query, item = OFFLINE_ITEM
            s.search(query)
            s.tap_item(item)
            s.tap("我要在这里申报")
            s.see("请把申请人的身份证放在读卡区")
            control.present(CITIZEN_CARD)
            s.see("请选择符合您的情形")
            s.page.locator("button.item-link").first.tap()
            self.materials(capture=False)
            job = self.finish_submission(expect="✔ 已提交，待平台确认", paper="申请回执")
            if not any(OFFLINE_MARK in line for line in job.text):
                raise AssertionError(f"receipt #{job.n} does not say {OFFLINE_MARK}")
            code = self.notice_code(job)
            record.receipts.append(job.n)
            record.codes.append(code)
            s.end_session("办完了，退出")
            control.remove_card()
        finally:
            control.act("broker", "start")
        case = self.wait_synced(code)
        return f"offline notice #{job.n}; synced after the broker returned as case {case['case_no']}"


def describe_failure(exc: Exception) -> str:
    """One line: the error and, for a Playwright timeout, what it was waiting for."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = f"{type(exc).__name__}: {lines[0] if lines else ''}"
    waiting = next((line for line in lines[1:] if line.startswith("waiting for")), None)
    return f"{text} ({waiting})" if waiting else text


def run_morning(control: HallControl, say: Say, executable: str | None = None) -> dict[str, Any]:
    """Plays the morning and returns the summary (also printed through ``say``)."""
    hall = control.hall
    shots_dir = hall.workdir / "screenshots"
    say("")
    say("The scripted morning (headless Chromium):")
    with open_browser(*([executable] if executable else [])) as page:
        morning = Morning(control, Screen(page, hall.terminal_url, shots_dir), say)
        morning.play("a. consult and print the checklist", morning.consult)
        morning.play("b. agent submits for a resident", morning.agent_submits)
        morning.play("c. citizen scans the notice", morning.citizen_follows)
        morning.play("d. queue ticket", morning.queue_ticket)
        morning.play("e. offline submission, synced later", morning.offline_submission)
        shots = [str(p) for p in morning.screen.shots]
    return summarize(control, morning.scenes, shots, say)


def summarize(control: HallControl, scenes: list[Scene], shots: list[str], say: Say) -> dict[str, Any]:
    hall = control.hall
    codes = {c for scene in scenes for c in scene.codes}
    cases = [c.to_dict() for c in central_cases(hall.central_db)]
    scene_of = {n: scene.name for scene in scenes for n in scene.receipts}
    receipts = [{**j.to_dict(), "png": str(j.png), "scene": scene_of.get(j.n, "")}
                for j in printed_jobs(hall.receipts_dir)]
    synced = sorted(c["query_code"] for c in cases if c["query_code"] in codes)
    summary: dict[str, Any] = {"ok": all(s.ok for s in scenes), "terminal": hall.terminal_url,
                               "scenes": [vars(s) for s in scenes], "receipts": receipts, "cases": cases,
                               "notice_codes": sorted(codes), "synced": synced,
                               "screenshots": str(hall.workdir / "screenshots"), "screenshot_files": shots}
    say("")
    say("Summary")
    for scene in scenes:
        say(f"  {'✓' if scene.ok else '✗'} {scene.name}: {scene.detail}")
        for note in scene.notes:
            say(f"      note: {note}")
    say(f"  receipts printed: {len(receipts)} in {hall.receipts_dir}")
    for r in receipts:
        say(f"    #{r['n']} {r['title']}  {Path(r['png']).name}  ({r['scene'] or 'by hand'})")
    say(f"  cases at central: {len(cases)}; notices synced: {len(synced)} of {len(codes)}")
    say(f"  screenshots: {len(shots)} in {summary['screenshots']}")
    say("  result: " + ("all scenes passed" if summary["ok"] else "SOME SCENES FAILED"))
    return summary
