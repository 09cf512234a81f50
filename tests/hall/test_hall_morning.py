"""``kiosk-sim hall --headless`` plays the scripted morning through the real UI in headless Chromium; every
printed receipt's QR, decoded from the printer simulator's PNG, carries the right code: each notice the
receipt URL of a case central holds (the offline one too, once synced), the checklist its item's page."""
from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
from PIL import Image
from pyzbar.pyzbar import decode

from edge_sync.querycode import parse_receipt_code, receipt_url
from tests.hall.conftest import KIOSK_SIM, alive, require_chromium

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.integration]


def decoded_qr(png: Path) -> list[str]:
    return [symbol.data.decode("utf-8") for symbol in decode(Image.open(png)) if symbol.type == "QRCODE"]


@pytest.fixture(scope="module")
def morning(tmp_path_factory) -> dict:
    require_chromium()
    workdir = tmp_path_factory.mktemp("morning")
    proc = subprocess.Popen([*KIOSK_SIM, "hall", "--headless", "--workdir", str(workdir)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        output, _ = proc.communicate(timeout=170)
    except subprocess.TimeoutExpired:
        proc.kill()
        output, _ = proc.communicate(timeout=10)
        pytest.fail(f"the morning did not finish in time:\n{output[-4000:]}")
    summary_file = workdir / "summary.json"
    assert summary_file.is_file(), output[-4000:]
    return {"rc": proc.returncode, "output": output, "workdir": workdir, "pid": proc.pid,
            "summary": json.loads(summary_file.read_text("utf-8"))}


def central_codes(workdir: Path) -> dict[str, str]:
    """query code → case number, straight from central's database."""
    conn = sqlite3.connect(f"file:{workdir / 'central.db'}?mode=ro", uri=True)
    try:
        return dict(conn.execute("SELECT query_code, case_no FROM cases").fetchall())
    finally:
        conn.close()


def test_every_scene_of_the_morning_passes(morning, artifacts_dir):
    summary = morning["summary"]
    for source in (morning["workdir"] / "screenshots", morning["workdir"] / "receipts"):
        shutil.copytree(source, artifacts_dir / source.name, dirs_exist_ok=True)
    assert morning["rc"] == 0, morning["output"][-4000:]
    assert [s["ok"] for s in summary["scenes"]] == [True] * 5, summary["scenes"]
    assert "all scenes passed" in morning["output"]
    shots = [Path(p) for p in summary["screenshot_files"]]
    assert len(shots) >= 10 and all(p.stat().st_size > 10_000 for p in shots)


def test_every_printed_qr_decodes_to_the_right_code(morning):
    workdir = morning["workdir"]
    codes_at_central = central_codes(workdir)
    receipts = morning["summary"]["receipts"]
    assert len(receipts) == 4  # checklist, agent's notice, queue ticket, offline notice
    notices: dict[str, Path] = {}
    for receipt in receipts:
        png = Path(receipt["png"])
        meta = json.loads(png.with_suffix(".json").read_text("utf-8"))
        found = decoded_qr(png)
        assert sorted(found) == sorted(meta["qr"]), f"{png.name}: printed {meta['qr']}, decoded {found}"
        for payload in found:
            code = parse_receipt_code(payload)
            if code is None:  # the checklist's QR leads to its item's page
                assert payload == "https://zwfw.example.gov.cn/item/511900-XK-0001", payload
                continue
            assert payload == receipt_url(code), "a notice QR carries the canonical receipt URL"
            assert code in codes_at_central, f"{png.name}: code {code} unknown to central"
            assert code not in notices, "two notices for one case"
            notices[code] = png
    # Both cases of the morning reached central, and each has its printed notice.
    assert set(notices) == set(codes_at_central) and len(notices) == 2
    offline = [r for r in receipts if "已提交，待平台确认" in "".join(
        json.loads(Path(r["png"]).with_suffix(".json").read_text("utf-8"))["text"])]
    assert len(offline) == 1 and parse_receipt_code(offline[0]["qr"][0]) in codes_at_central


def test_the_ticket_has_no_qr_and_the_summary_names_the_outputs(morning):
    summary = morning["summary"]
    ticket = next(r for r in summary["receipts"] if r["scene"].startswith("d."))
    assert ticket["qr"] == [] and decoded_qr(Path(ticket["png"])) == []
    assert sorted(summary["synced"]) == sorted(summary["notice_codes"])
    assert f"screenshots: {len(summary['screenshot_files'])} in" in morning["output"]


def test_no_process_outlives_the_headless_hall(morning):
    # The hall exited (communicate returned); every child's command line names the workdir (mosquitto's
    # configuration lives there too), so any process still naming it is a leftover.
    workdir = str(morning["workdir"])
    leftovers = []
    for pid in (int(p) for p in os.listdir("/proc") if p.isdigit()):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if workdir in cmdline and alive(pid):
            leftovers.append(cmdline.replace("\0", " "))
    assert leftovers == []
