"""Driver ⇄ simulator over a real pty and TCP: proof of print, faults before and during a job, the
acceptance notice's QR decoded back from the simulator's PNG, and the technician CLI as a subprocess."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import serial
from PIL import Image as PILImage
from pyzbar.pyzbar import decode

from drivers.printer import (
    EPSON_ASB,
    GENERIC_58,
    GENERIC_80,
    PROFILES,
    Cover,
    CoverOpen,
    Cut,
    Document,
    Image,
    Paper,
    PaperOut,
    Printer,
    PrinterOffline,
    PrintTimeout,
    Text,
    render,
)
from edge_sync.querycode import mint_query_code, receipt_url
from kiosk.receipts import acceptance_notice
from tests.support.net import free_port
from tests.support.notices import sample_notice
from tests.support.simproc import SimProcess

pytestmark = pytest.mark.integration
KIOSK_DEVICE = [sys.executable, "-c", "from kiosk.cli.device import main; raise SystemExit(main())", "printer"]


def notice(code: str, name: str = "张三𫖮") -> Document:  # masked 张*𫖮: the rare character is printed
    return acceptance_notice(sample_notice(code, name=name))


def job_event(sim: SimProcess, timeout: float = 15.0) -> dict:
    return sim.wait_json(lambda o: o.get("event") == "job", timeout=timeout)


def job_files(event: dict) -> tuple[dict, list[bytes]]:
    record = json.loads(Path(event["json"]).read_text("utf-8"))
    return record, [c.data for c in decode(PILImage.open(event["png"]))]


@pytest.mark.parametrize("link,paper,profile", [("pty", "58", GENERIC_58), ("tcp", "80", GENERIC_80),
                                                ("tcp", "80", EPSON_ASB)])
def test_notice_printed_confirmed_and_qr_decodes(tmp_path, link, paper, profile):
    spec = "pty" if link == "pty" else f"tcp:127.0.0.1:{free_port()}"
    code = mint_query_code()
    with SimProcess("printer", "--link", spec, "--paper", paper, "--out", str(tmp_path)) as sim:
        with Printer(sim.port, profile) as printer:
            assert printer.status().to_dict() == {"online": True, "paper": "ok", "cover": "closed", "error": None}
            result = printer.print_document(notice(code), timeout=30)
        event = job_event(sim)
    assert result.confirmed and result.paper is Paper.OK
    record, codes = job_files(event)
    assert codes == [receipt_url(code).encode()]
    assert record["bytes"] == result.bytes_sent and record["cuts"] == ["partial"]
    assert record["warnings"] == []
    text = "\n".join(record["text"])
    assert "受理通知书" in text and "凭本通知书和身份证领取" in text and "示例市公安局" in text
    assert "𫖮" not in text and "张三" not in text
    applicant = [line for line in record["text"] if line.startswith("申请人")]
    if profile.user_chars:  # FS 2: the rare character inline, the rest of the line as text
        assert len(applicant) == 1 and applicant[0].endswith("张*\ufffc") and record["user_chars"] == ["fea1"]
    else:  # that one line as a raster band
        raster_rows = sum(img["height"] for img in record["images"] if img["kind"] == "raster")
        assert applicant == [] and raster_rows == 30 + 33 * 6  # the 30-row line + the QR picture (v4, 6 dots)


def test_paper_out_mid_job_is_an_error_not_a_print(tmp_path):
    with SimProcess("printer", "--link", "pty", "--out", str(tmp_path), "--paper-mm", "30") as sim:
        with Printer(sim.port, GENERIC_80) as printer:
            with pytest.raises(PaperOut):
                printer.print_document(notice(mint_query_code()), timeout=20)
            assert printer.status().paper is Paper.OUT
        record, _ = job_files(job_event(sim))
    assert "data past the paper end" in record["warnings"] and record["cuts"] == []


def test_paper_out_mid_job_reported_by_asb(tmp_path):
    with SimProcess("printer", "--link", f"tcp:127.0.0.1:{free_port()}", "--out", str(tmp_path),
                    "--paper-mm", "30") as sim, Printer(sim.port, EPSON_ASB) as printer, pytest.raises(PaperOut):
        printer.print_document(notice(mint_query_code()), timeout=20)


def test_cover_open_before_job_sends_nothing(tmp_path):
    with SimProcess("printer", "--link", "pty", "--out", str(tmp_path), "--cover", "open") as sim:
        with Printer(sim.port, GENERIC_80) as printer:
            assert printer.status().cover is Cover.OPEN
            with pytest.raises(CoverOpen):
                printer.print_document(Document((Text("FIRST"), Cut())), timeout=10)
            sim.send("cover closed")
            sim.wait_json(lambda o: o.get("event") == "cover", timeout=5)
            printer.print_document(Document((Text("SECOND"), Cut())), timeout=10)
        event = job_event(sim)
    record, _ = job_files(event)
    assert event["n"] == 1 and record["text"] == ["SECOND"]


def test_offline_and_paper_out_before_job(tmp_path):
    with SimProcess("printer", "--link", "pty", "--out", str(tmp_path), "--paper-state", "out") as sim, \
            Printer(sim.port, GENERIC_80) as printer:
        with pytest.raises(PaperOut):
            printer.print_document(Document((Text("x"),)), timeout=10)
        sim.send("paper ok")
        sim.send("offline on")
        sim.wait_json(lambda o: o.get("event") == "online", timeout=5)
        with pytest.raises(PrinterOffline):
            printer.print_document(Document((Text("x"),)), timeout=10)


def test_nothing_listening_is_offline():
    with pytest.raises(PrinterOffline):
        Printer(f"socket://127.0.0.1:{free_port()}", GENERIC_80).status()


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*KIOSK_DEVICE, *args], capture_output=True, text=True, timeout=60)


def test_cli_status_and_test_page(tmp_path):
    with SimProcess("printer", "--link", "pty", "--paper", "58", "--out", str(tmp_path)) as sim:
        status = run_cli("status", "--port", sim.port)
        assert status.returncode == 0, status.stderr
        assert json.loads(status.stdout) == {"online": True, "paper": "ok", "cover": "closed", "error": None}
        test = run_cli("test", "--port", sim.port, "--paper", "58")
        assert test.returncode == 0, test.stderr
        assert json.loads(test.stdout)["printed"] is True
        record, codes = job_files(job_event(sim))
    assert record["text"][0] == "政务服务自助终端打印测试" and record["cuts"]
    assert codes == [b"https://zwfw.example.gov.cn/printer-test"]


@pytest.mark.parametrize("sim_args,code,reason", [(("--cover", "open"), 4, "cover_open"),
                                                 (("--paper-state", "out"), 3, "paper_out")])
def test_cli_test_fails_with_reason(tmp_path, sim_args, code, reason):
    with SimProcess("printer", "--link", "pty", "--out", str(tmp_path), *sim_args) as sim:
        test = run_cli("test", "--port", sim.port)
        status = run_cli("status", "--port", sim.port)
    assert test.returncode == code and json.loads(test.stdout)["reason"] == reason
    assert status.returncode == 0 and json.loads(status.stdout)["online"] is False


def test_cli_offline_exit_code():
    port = f"socket://127.0.0.1:{free_port()}"
    assert run_cli("test", "--port", port).returncode == 5
    status = run_cli("status", "--port", port)
    assert status.returncode == 5 and json.loads(status.stdout)["online"] is False


def test_stray_status_replies_from_raster_data_do_not_confuse_the_driver(tmp_path):
    wanted = b"\x10\x04\x01\x10\x04\x02\x10\x04\x03\x10\x04\x04" * 4  # 48 bytes = one 384-dot row
    picture = PILImage.frombytes("1", (384, 40), bytes(b ^ 0xFF for b in wanted * 40))
    with SimProcess("printer", "--link", "pty", "--paper", "58", "--out", str(tmp_path)) as sim:
        with Printer(sim.port, GENERIC_58) as printer:
            result = printer.print_document(Document((Image(picture), Text("after"), Cut())), timeout=20)
            assert printer.status().paper is Paper.OK  # stale stray replies are not taken for answers
        record, _ = job_files(job_event(sim))
    assert result.confirmed and record["text"] == ["after"]
    assert sum(img["height"] for img in record["images"]) == 40 and record["warnings"] == []


def test_no_confirmation_is_a_timeout():
    """A device that answers status but never GS r (e.g. a printer that drops buffered data)."""
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    stop = threading.Event()

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            conn.settimeout(0.1)
            while not stop.is_set():
                try:
                    data = conn.recv(4096)
                except TimeoutError:
                    continue
                if not data:
                    return
                conn.sendall(b"\x12" * data.count(b"\x10\x04"))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        with Printer(f"socket://127.0.0.1:{port}", GENERIC_80) as printer, pytest.raises(PrintTimeout):
            printer.print_document(Document((Text("x"),)), timeout=1.5)
    finally:
        stop.set()
        thread.join(5)
        server.close()


SLOW_SMALL_BUFFER = ("--buffer", "1024", "--print-speed", "400")


def test_pieces_respect_a_small_buffer_of_a_slow_printer(tmp_path):
    code = mint_query_code()
    with SimProcess("printer", "--link", "pty", "--paper", "58", "--out", str(tmp_path),
                    *SLOW_SMALL_BUFFER) as sim:
        with Printer(sim.port, GENERIC_58) as printer:
            result = printer.print_document(notice(code), timeout=60)
        record, codes = job_files(job_event(sim, timeout=30))
    assert result.confirmed and result.pieces > 2
    assert record["warnings"] == [] and codes == [receipt_url(code).encode()]


def test_the_same_job_sent_in_one_go_overflows_that_buffer(tmp_path):
    """The hazard the pieces avoid (python-escpos style: everything written at once, no flow control)."""
    job = render(notice(mint_query_code()), GENERIC_58)
    with SimProcess("printer", "--link", "pty", "--paper", "58", "--out", str(tmp_path),
                    *SLOW_SMALL_BUFFER) as sim:
        port = serial.serial_for_url(sim.port, timeout=1)
        try:
            port.write(job)
            port.flush()
            record, _ = job_files(job_event(sim, timeout=30))
        finally:
            port.close()
    assert any("receive buffer overflow" in w for w in record["warnings"])


def test_near_end_still_prints_and_is_reported(tmp_path):
    with SimProcess("printer", "--link", f"tcp:127.0.0.1:{free_port()}", "--out", str(tmp_path),
                    "--paper-state", "near_end") as sim, Printer(sim.port, GENERIC_80) as printer:
        assert printer.status().paper is Paper.NEAR_END
        result = printer.print_document(Document((Text("x"), Cut())), timeout=10)
    assert result.confirmed and result.paper is Paper.NEAR_END


@pytest.mark.hardware
@pytest.mark.skipif(not os.environ.get("KIOSK_PRINTER_URL"), reason="set KIOSK_PRINTER_URL to a real printer")
def test_real_printer_test_page():
    from kiosk.receipts import test_page

    profile = PROFILES[os.environ.get("KIOSK_PRINTER_PROFILE", "generic-80")]
    with Printer(os.environ["KIOSK_PRINTER_URL"], profile) as printer:
        assert printer.print_document(test_page("hardware test"), timeout=60).confirmed
