"""Camera backends behind ``open_camera``: the simulated one, and the V4L2 one against a missing
device and against a stand-in ``v4l2-ctl`` script (a real subprocess) for the success and error paths."""
from __future__ import annotations

import io
import logging
import os
import stat
from pathlib import Path

import pytest
from PIL import Image

from drivers.camera import CameraMissing, CaptureFailed, SimulatedCamera, V4L2Camera, open_camera

FAKE_TOOL = """#!/bin/sh
# Stands in for v4l2-ctl: records its arguments and answers as told by environment variables.
echo "$@" >> "$FAKE_V4L2_LOG"
case "$*" in *--stream-to=*) ;; *) exit 0 ;; esac
[ -n "$FAKE_V4L2_FAIL" ] && { echo "VIDIOC_STREAMON: failed: No such device" >&2; exit 1; }
for arg in "$@"; do
  case "$arg" in --stream-to=*) cp "$FAKE_V4L2_FRAME" "${arg#--stream-to=}" ;; esac
done
exit 0
"""


@pytest.fixture
def fake_tool(tmp_path, monkeypatch):
    tool = tmp_path / "v4l2-ctl"
    tool.write_text(FAKE_TOOL)
    tool.chmod(tool.stat().st_mode | stat.S_IXUSR)
    device = tmp_path / "video0"
    device.write_bytes(b"")
    frame = tmp_path / "frame.jpg"
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 200, 200)).save(out, "JPEG")
    frame.write_bytes(out.getvalue())
    log = tmp_path / "calls.log"
    monkeypatch.setenv("FAKE_V4L2_LOG", str(log))
    monkeypatch.setenv("FAKE_V4L2_FRAME", str(frame))
    monkeypatch.delenv("FAKE_V4L2_FAIL", raising=False)
    return {"tool": str(tool), "device": device, "frame": frame, "log": log}


def test_missing_device_raises_camera_missing():
    with pytest.raises(CameraMissing) as caught:
        V4L2Camera("/dev/video-that-does-not-exist")
    assert caught.value.code == "camera_missing" and "高拍仪" in caught.value.user_message
    with pytest.raises(CameraMissing):
        open_camera("v4l2:/dev/v4l/by-id/usb-nothing-video-index0")
    with pytest.raises(CameraMissing):
        open_camera("/dev/video-that-does-not-exist")


def test_missing_tool_raises_camera_missing(fake_tool):
    with pytest.raises(CameraMissing) as caught:
        V4L2Camera(str(fake_tool["device"]), tool="v4l2-ctl-not-installed")
    assert caught.value.code == "v4l2_tool_missing"


def test_capture_through_the_tool_returns_the_frame_unchanged(fake_tool):
    with V4L2Camera(str(fake_tool["device"]), tool=fake_tool["tool"], skip=7) as camera:
        assert camera.capture() == fake_tool["frame"].read_bytes()
    calls = fake_tool["log"].read_text().splitlines()
    assert calls[0] == f"--device {fake_tool['device']} --set-ctrl power_line_frequency=1"
    shot = calls[1].split()
    assert "--set-fmt-video=width=2592,height=1944,pixelformat=MJPG" in shot
    assert "--stream-skip=7" in shot and "--stream-count=1" in shot and "--stream-mmap" in shot


def test_tool_failure_and_vanished_device(fake_tool, monkeypatch, caplog):
    camera = V4L2Camera(str(fake_tool["device"]), tool=fake_tool["tool"])
    monkeypatch.setenv("FAKE_V4L2_FAIL", "1")
    with pytest.raises(CaptureFailed) as failed:
        camera.capture()
    assert "No such device" in str(failed.value)
    fake_tool["device"].unlink()
    with caplog.at_level(logging.WARNING, logger="drivers.camera.v4l2"):
        for _ in range(3):
            with pytest.raises(CameraMissing):
                camera.capture()
        fake_tool["device"].write_bytes(b"")
        monkeypatch.delenv("FAKE_V4L2_FAIL")
        assert camera.capture().startswith(b"\xff\xd8")
    # Logged once when it went and once when it came back, not on every attempt.
    assert [r.getMessage().rsplit(" ", 1)[-1] for r in caplog.records] == ["gone", "back"]
    camera.close()
    with pytest.raises(CaptureFailed):
        camera.capture()


def test_tool_output_that_is_not_a_jpeg_is_a_capture_failure(fake_tool):
    fake_tool["frame"].write_bytes(b"\x00" * 100)
    with V4L2Camera(str(fake_tool["device"]), tool=fake_tool["tool"]) as camera, \
            pytest.raises(CaptureFailed) as caught:
        camera.capture()
    assert caught.value.code == "bad_image"


def test_open_camera_specs(fake_tool, monkeypatch):
    monkeypatch.setenv("PATH", f"{Path(fake_tool['tool']).parent}:{os.environ['PATH']}")
    camera = open_camera("sim:blurred?seed=3")
    assert isinstance(camera, SimulatedCamera) and camera.scenario.value == "blurred" and camera.seed == 3
    camera = open_camera(f"v4l2:{fake_tool['device']}?width=1280&height=960&skip=2")
    assert isinstance(camera, V4L2Camera) and (camera.width, camera.height, camera.skip) == (1280, 960, 2)
    for bad in ("sim:sunny", "usb:0", "v4l2:", "sim:page?seed=x", "sim:page?zoom=2"):
        with pytest.raises(ValueError):
            open_camera(bad)


def test_simulated_camera_is_deterministic_and_shots_differ():
    first, again = SimulatedCamera("page", seed=11), SimulatedCamera("page", seed=11)
    one = first.capture()
    assert one == again.capture()
    assert first.capture() != one
    image = Image.open(io.BytesIO(one))
    assert image.format == "JPEG" and image.size == (2592, 1944)
    first.close()
    with pytest.raises(CaptureFailed):
        first.capture()


@pytest.mark.hardware
def test_real_camera_gives_a_frame():
    """Set KIOSK_CAMERA_DEVICE=v4l2:/dev/v4l/by-id/… on a terminal with the camera attached."""
    spec = os.environ.get("KIOSK_CAMERA_DEVICE")
    if not spec:
        pytest.skip("KIOSK_CAMERA_DEVICE not set")
    with open_camera(spec) as camera:
        frame = camera.capture()
    image = Image.open(io.BytesIO(frame))
    assert image.format == "JPEG" and min(image.size) >= 480
