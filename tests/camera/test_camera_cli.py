"""End to end as a technician runs it: ``kiosk-device camera capture`` and ``kiosk-sim camera`` as real
subprocesses, and the simulator's independently drawn frames through the driver's pipeline."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import PdfParser

from drivers.camera import BlankPage, BlurredPage, PageNotFound, decode_codes, process_capture

pytestmark = pytest.mark.integration
DEVICE_CLI = "import sys; from kiosk.cli.device import main; sys.exit(main())"


def _kiosk_device(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", DEVICE_CLI, "camera", *args], capture_output=True,
                          text=True, timeout=120, check=False)


def test_capture_two_simulated_pages_into_a_pdf(tmp_path):
    out = tmp_path / "materials.pdf"
    result = _kiosk_device("capture", "--out", str(out), "--pages", "2", "--simulated", "--seed", "7")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line.get("page") for line in lines[:2]] == [1, 2]
    for line in lines[:2]:
        assert line["bytes"] <= 300_000 and 150 <= line["dpi"] <= 200 and 50 <= line["quality"] <= 75
        assert abs(line["skew_deg"]) <= 2.2
    assert lines[2] == {"pdf": str(out), "pages": 2, "bytes": out.stat().st_size}
    pdf = out.read_bytes()
    assert len(re.findall(rb"/Type /Page\b", pdf)) == 2
    parser = PdfParser.PdfParser(buf=pdf)
    assert len(parser.pages) == 2
    parser.close()


@pytest.mark.parametrize("scenario,code", [("blank", "blank_page"), ("blurred", "blurred_page")])
def test_rejected_capture_exits_non_zero_with_one_line(tmp_path, scenario, code):
    out = tmp_path / "x.pdf"
    result = _kiosk_device("capture", "--out", str(out), "--simulated", "--scenario", scenario)
    assert result.returncode == 5
    assert len(result.stderr.strip().splitlines()) == 1 and f": {code}: " in result.stderr
    assert not out.exists()


def test_missing_camera_exits_non_zero_with_one_line(tmp_path):
    result = _kiosk_device("capture", "--out", str(tmp_path / "x.pdf"), "--device", "v4l2:/dev/video-absent")
    assert result.returncode == 3
    assert result.stderr.strip() == ("kiosk-device camera: camera_missing: no camera at /dev/video-absent "
                                     "(没有找到高拍仪，材料暂时不能拍照，请联系工作人员)")


def _sim(tmp_path, scenario: str, count: int = 1) -> list[dict]:
    result = subprocess.run([sys.executable, "-m", "simulators", "camera", "--out", str(tmp_path / scenario),
                             "--scenario", scenario, "--count", str(count), "--seed", "3"],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_simulator_frames_go_through_the_pipeline(tmp_path):
    written = _sim(tmp_path, "page", count=2)
    assert [item["file"].rsplit("/", 1)[-1] for item in written] == ["frame-0001.jpg", "frame-0002.jpg"]
    for item in written:
        frame = Path(item["file"]).read_bytes()
        page = process_capture(frame)
        assert page.size <= 300_000
        assert abs(page.skew_deg - item["tilt_deg"]) <= 0.3
        assert [code.data.decode() for code in decode_codes(page.jpeg)] == [item["qr"]]


@pytest.mark.parametrize("scenario,error", [("blank", BlankPage), ("blurred", BlurredPage), ("partial", PageNotFound)])
def test_simulator_faulty_frames_are_rejected(tmp_path, scenario, error):
    item = _sim(tmp_path, scenario)[0]
    with pytest.raises(error):
        process_capture(Path(item["file"]).read_bytes())
