"""The document camera (高拍仪) interface every backend implements, its error tree, and ``open_camera``,
which turns a configuration string into a backend."""
from __future__ import annotations

import abc
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs

from drivers.errors import DeviceError


class CameraError(DeviceError):
    """The document camera could not deliver a usable page."""

    code = "camera_error"
    #: What a villager or agent may read on the screen (plain Simplified Chinese).
    user_message = "高拍仪出了点问题，请联系工作人员"

    def __init__(self, message: str = "", *, code: str | None = None, user_message: str | None = None) -> None:
        super().__init__(message, code=code)
        if user_message is not None:
            self.user_message = user_message


class CameraMissing(CameraError):
    """No camera at the configured device, or the capture tool is not installed."""

    code = "camera_missing"
    user_message = "没有找到高拍仪，材料暂时不能拍照，请联系工作人员"


class CaptureFailed(CameraError):
    """The camera is there but returned no usable frame (timeout, broken JPEG, tool error)."""

    code = "capture_failed"
    user_message = "拍照没有成功，请再拍一次"


class Camera(abc.ABC):
    """A still-capture source that returns one full-resolution frame as JPEG bytes per call."""

    @abc.abstractmethod
    def capture(self) -> bytes:
        """Take one frame. Returns JPEG bytes. Raises ``CameraMissing`` or ``CaptureFailed``."""

    def close(self) -> None:  # noqa: B027 - optional: a camera without a device to release keeps this no-op
        """Release the device; capturing afterwards is an error. Safe to call twice."""

    def __enter__(self) -> Camera:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def open_camera(spec: str) -> Camera:
    """Build the backend named by ``spec``.

    ``v4l2:/dev/video0`` or ``v4l2:/dev/v4l/by-id/…`` (a bare path also means V4L2), optional query
    ``?width=2592&height=1944&skip=5``; ``sim:page?seed=3`` (scenarios: see ``SimulatedCamera``).
    Raises ``CameraMissing`` when a real device or its tool is absent, ``ValueError`` for a malformed spec.
    """
    scheme, _, rest = spec.partition(":") if not spec.startswith("/") else ("v4l2", ":", spec)
    target, _, query_text = rest.partition("?")
    query = {key: values[-1] for key, values in parse_qs(query_text, strict_parsing=False).items()}
    try:
        if scheme == "v4l2":
            from drivers.camera.v4l2 import V4L2Camera

            if not target:
                raise ValueError("v4l2 spec needs a device path")
            options: dict[str, Any] = {key: int(query.pop(key)) for key in ("width", "height", "skip") if key in query}
            camera: Camera = V4L2Camera(target, **options)
        elif scheme == "sim":
            from drivers.camera.simulated import SimulatedCamera

            camera = SimulatedCamera(target or "page", seed=int(query.pop("seed", "0")))
        else:
            raise ValueError(f"unknown camera scheme {scheme!r}")
    except (TypeError, ValueError) as exc:
        raise ValueError(f"bad camera spec {spec!r}: {exc}") from exc
    if query:
        camera.close()
        raise ValueError(f"unknown camera options {sorted(query)} in {spec!r}")
    return camera
