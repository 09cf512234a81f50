"""``kiosk-device scanner listen`` and ``kiosk-sim scanner`` end to end, as separate processes."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.support.simproc import SimProcess

pytestmark = pytest.mark.integration

CODE = "7KQ2M9XDPA4TH6WRP"
URL = "https://zwfw.example.gov.cn/q/" + CODE
DEVICE = [sys.executable, "-c", "from kiosk.cli.device import main; raise SystemExit(main())", "scanner"]


def start_listen(*args: str) -> subprocess.Popen:
    return subprocess.Popen([*DEVICE, "listen", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(proc: subprocess.Popen, timeout: float = 30.0) -> tuple[int, list[dict], list[str]]:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise
    return proc.returncode, [json.loads(line) for line in out.splitlines()], err.splitlines()


def tcp_scanner(*args: str) -> SimProcess:
    # TCP: the simulator holds each read until the listener has connected, so nothing races the open.
    return SimProcess("scanner", "--link", "tcp:127.0.0.1:0", "--baud", "115200", *args)


def test_listen_prints_one_json_line_per_scan_and_exits_0():
    with tcp_scanner("--suffix", "CRLF", "--fragment", "4", "--seed", "2") as sim:
        listen = start_listen("--port", sim.port, "--count", "3", "--timeout", "20")
        sim.send(f"scan {URL}")
        sim.send("scanhex " + "受理\t通知".encode().hex())
        sim.send("scan 7kq2 m9xd pa4t h6wr p")
        code, lines, err = finish(listen)
    assert code == 0, err
    assert lines == [
        {"text": URL, "kind": "receipt_code", "code": CODE, "cause": None, "encoding": "utf-8"},
        {"text": "受理\\t通知", "kind": "other", "code": None, "cause": "control_chars", "encoding": "utf-8"},
        {"text": "7kq2 m9xd pa4t h6wr p", "kind": "receipt_code", "code": CODE, "cause": None, "encoding": "utf-8"},
    ]
    assert err == []


def test_listen_shows_gbk_and_binary_payloads():
    with tcp_scanner("--encoding", "gbk") as sim:
        listen = start_listen("--port", sim.port, "--count", "2", "--timeout", "20")
        sim.send("scan 张三")
        sim.send("scanhex ff00")
        code, lines, _ = finish(listen)
    assert code == 0
    assert [(line["text"], line["encoding"], line["kind"], line["cause"]) for line in lines] == [
        ("张三", "gb18030", "other", "not_a_code"), ("ff00", "hex", "other", "not_a_code")]


def test_listen_times_out_with_3_and_one_line_reason():
    with tcp_scanner() as sim:
        listen = start_listen("--port", sim.port, "--count", "2", "--timeout", "4")
        sim.send(f"scan {URL}")
        code, lines, err = finish(listen)
    assert code == 3
    assert [line["code"] for line in lines] == [CODE]
    assert len(err) == 1 and "timed out" in err[0]


def test_listen_without_count_ends_with_0_at_the_timeout():
    with tcp_scanner() as sim:
        code, lines, err = finish(start_listen("--port", sim.port, "--count", "0", "--timeout", "1"))
    assert (code, lines, err) == (0, [], [])


def test_listen_reports_a_missing_port_with_4():
    code, lines, err = finish(start_listen("--port", "/dev/no-such-scanner", "--timeout", "2"))
    assert code == 4 and lines == []
    assert len(err) == 1 and "scanner_unavailable" in err[0]


def test_listen_reports_a_port_lost_mid_listen_with_4():
    sim = tcp_scanner().start()
    try:
        listen = start_listen("--port", sim.port, "--count", "5", "--timeout", "30")
        sim.send(f"scan {URL}")
        sim.wait_json(lambda o: o.get("event") == "sent", timeout=15)
    finally:
        sim.stop()
    code, _lines, err = finish(listen)
    assert code == 4
    assert len(err) == 1 and "scanner_lost" in err[0]


def test_listen_warns_about_garbage_and_goes_on():
    with tcp_scanner("--seed", "4") as sim:
        listen = start_listen("--port", sim.port, "--count", "1", "--timeout", "20")
        sim.send("garbage 4000")
        sim.send("scanhex ")
        sim.send(f"scan {URL}")
        code, lines, err = finish(listen)
    assert code == 0 and [line["code"] for line in lines] == [CODE]
    assert len(err) == 1 and "warning" in err[0] and "3072" in err[0]


def test_simulator_ready_line_and_command_errors():
    with SimProcess("scanner", "--encoding", "gbk", "--suffix", "LF", "--baud", "0") as sim:
        assert sim.ready["device"] == "scanner" and sim.ready["port"].startswith("/dev/")
        assert (sim.ready["encoding"], sim.ready["suffix"]) == ("gbk", "LF")
        sim.send("scan 𠀀")  # outside GBK: the module cannot send it
        sim.send("scanhex zz")
        sim.send("bogus")
        sim.send("scan ok")
        assert sim.wait_json(lambda o: o.get("event") == "sent", timeout=10) == \
            {"event": "sent", "cmd": "scan", "bytes": 3}
    errors = "".join(sim.stderr_lines)
    assert "cannot be sent in gbk" in errors and "unknown command 'bogus'" in errors
    assert errors.count("error:") == 3
