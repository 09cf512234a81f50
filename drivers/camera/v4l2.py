"""The real document camera: a UVC device under V4L2, one full-resolution MJPEG frame per capture,
taken with the ``v4l2-ctl`` tool (apt ``v4l-utils``).

Why ``v4l2-ctl`` rather than ioctls through ctypes or linuxpy (doc-camera.md §3): it writes the camera's
own MJPEG frame to a file with no re-encode, handles buffer negotiation and exposure settling
(``--stream-skip``) that would otherwise be a few hundred lines of ctypes that cannot be exercised
without a device, is a small package, and keeps the GPL linuxpy out. The cost is a process start and
stream-on per shot (about 0.5–1.5 s with settling), acceptable for still captures an agent triggers;
a live preview would need a persistent stream and is not done here.
"""
from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from drivers.camera.base import Camera, CameraMissing, CaptureFailed

log = logging.getLogger(__name__)


class V4L2Camera(Camera):
    """A UVC camera at ``device`` (``/dev/videoN`` or, better, a stable ``/dev/v4l/by-id/…`` link)."""

    def __init__(self, device: str, *, width: int = 2592, height: int = 1944, skip: int = 5,
                 tool: str = "v4l2-ctl", timeout: float = 10.0) -> None:
        """Checks that the device node and the tool exist and sets mains-frequency anti-banding.
        Raises ``CameraMissing`` when either is absent."""
        self.device = device
        self.width, self.height, self.skip = width, height, skip
        self.timeout = timeout
        self._tool = tool
        self._present: bool | None = None  # unknown until the first check
        self._closed = False
        self._check_present()
        # 50 Hz mains in China: the wrong setting gives banding under the hall's lights. Not every
        # camera has the control, so a failure here is only logged.
        result = self._run(["--set-ctrl", "power_line_frequency=1"])
        if result.returncode != 0:
            log.info("camera %s: power_line_frequency not set (%s)", device, result.stderr.strip()[:200])

    def _check_present(self) -> None:
        if not os.path.exists(self.device):
            self._mark(False)
            raise CameraMissing(f"no camera at {self.device}")
        tool = shutil.which(self._tool)
        if tool is None:
            raise CameraMissing(f"{self._tool} not installed (apt install v4l-utils)", code="v4l2_tool_missing")
        self._tool_path = tool
        self._mark(True)

    def _mark(self, present: bool) -> None:
        """Log the device going and coming back once each, not on every attempt."""
        if self._present is None and not present:
            log.info("camera %s not found", self.device)
        elif self._present is not None and present != self._present:
            if present:
                log.warning("camera %s is back", self.device)
            else:
                log.warning("camera %s is gone", self.device)
        self._present = present

    def _run(self, args: list[str]) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run([self._tool_path, "--device", self.device, *args], capture_output=True,
                                  text=True, timeout=self.timeout, check=False)
        except subprocess.TimeoutExpired as exc:
            raise CaptureFailed(f"{self._tool} gave no frame within {self.timeout:.0f} s",
                                code="capture_timeout") from exc
        except OSError as exc:
            raise CameraMissing(f"cannot run {self._tool}: {exc}", code="v4l2_tool_missing") from exc

    def capture(self) -> bytes:
        """One MJPEG frame after ``skip`` settling frames. Raises ``CameraMissing`` when the device has
        gone, ``CaptureFailed`` on a tool error, timeout or a frame that is not a JPEG."""
        if self._closed:
            raise CaptureFailed("camera is closed")
        self._check_present()
        # The frame may show personal documents: keep it on the RAM-backed /dev/shm when there is one.
        scratch = "/dev/shm" if os.path.isdir("/dev/shm") else None
        with tempfile.TemporaryDirectory(prefix="kiosk-cam-", dir=scratch) as folder:
            target = Path(folder) / "frame.jpg"
            result = self._run([f"--set-fmt-video=width={self.width},height={self.height},pixelformat=MJPG",
                                "--stream-mmap", f"--stream-skip={self.skip}", "--stream-count=1",
                                f"--stream-to={target}"])
            if result.returncode != 0:
                if not os.path.exists(self.device):
                    self._mark(False)
                    raise CameraMissing(f"camera {self.device} went away during capture")
                raise CaptureFailed(f"{self._tool} failed ({result.returncode}): {result.stderr.strip()[:200]}")
            frame = target.read_bytes() if target.exists() else b""
        if not frame.startswith(b"\xff\xd8"):
            raise CaptureFailed(f"camera returned {len(frame)} bytes that are not a JPEG frame", code="bad_image")
        return frame

    def close(self) -> None:
        self._closed = True
