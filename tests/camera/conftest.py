"""Simulated frames shared by the camera tests: each (scenario, seed) is rendered once per session,
since a 5 MP frame takes about half a second to stage."""
from __future__ import annotations

import functools
import io

import pytest
import segno
from PIL import Image

from drivers.camera import SimulatedCamera
from drivers.camera.simulated import ShotTruth

RECEIPT_URL = "https://zwfw.example.gov.cn/q/7KQ2M9XDPA4TH6WRP"


def qr_picture(text: str = RECEIPT_URL) -> Image.Image:
    """A QR made by segno, as the picture the simulated camera pastes on its page."""
    buffer = io.BytesIO()
    segno.make_qr(text, error="m").save(buffer, kind="png", scale=4, border=4)
    buffer.seek(0)
    return Image.open(buffer).convert("L")


@functools.cache
def shot(scenario: str, seed: int, with_qr: bool = False) -> tuple[bytes, ShotTruth]:
    camera = SimulatedCamera(scenario, seed=seed, overlay=qr_picture() if with_qr else None)
    with camera:
        frame = camera.capture()
    assert camera.last_truth is not None
    return frame, camera.last_truth


@pytest.fixture(scope="session")
def frame_of():
    """``frame_of(scenario, seed, with_qr=False) -> (jpeg, truth)``, cached."""
    return shot
