"""QR decoding in images with pyzbar, and robustness of decoding and of the pipeline against arbitrary
small images and bytes (hypothesis)."""
from __future__ import annotations

import io

import pytest
import segno
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from drivers.camera import CameraError, CaptureFailed, Code, PipelineConfig, decode_codes, process_capture


def _qr(text: str | bytes, scale: int, border: int = 4) -> Image.Image:
    buffer = io.BytesIO()
    segno.make_qr(text, error="m").save(buffer, kind="png", scale=scale, border=border)
    buffer.seek(0)
    return Image.open(buffer)


@pytest.mark.parametrize("scale", [1, 2, 6])
def test_qr_decodes_at_small_and_large_module_sizes(scale):
    # At 1 px per module zbar alone fails; the enlarged copy makes modules a few pixels wide.
    assert decode_codes(_qr("7KQ2M9XDPA4TH6WRP", scale)) == [Code("QRCODE", b"7KQ2M9XDPA4TH6WRP")]


def test_utf8_chinese_payload_keeps_its_bytes():
    text = "受理编号：7KQ2-M9XD-PA4T-H6WR-P"
    assert decode_codes(_qr(text.encode("utf-8"), 4)) == [Code("QRCODE", text.encode("utf-8"))]


def test_qr_small_in_a_large_grey_frame_is_found():
    frame = Image.new("L", (2592, 1944), 110)
    sheet = Image.new("L", (1650, 1900), 235)
    sheet.paste(_qr("https://zwfw.example.gov.cn/q/7KQ2M9XDPA4TH6WRP", 3, border=2), (1200, 1500))
    frame.paste(sheet, (470, 22))
    out = io.BytesIO()
    frame.save(out, "JPEG", quality=85)
    assert [c.data for c in decode_codes(out.getvalue())] == [b"https://zwfw.example.gov.cn/q/7KQ2M9XDPA4TH6WRP"]


def test_image_without_codes_and_non_images():
    assert decode_codes(Image.new("RGB", (640, 480), (90, 120, 30))) == []
    with pytest.raises(CaptureFailed) as caught:
        decode_codes(b"\xff\xd8 not really a jpeg")
    assert caught.value.code == "bad_image"


small_images = st.builds(
    lambda mode, w, h, data: Image.frombytes(mode, (w, h), (data * (w * h * 3 + 1))[: w * h * len(mode)]),
    st.sampled_from(["L", "RGB"]), st.integers(1, 48), st.integers(1, 48), st.binary(min_size=1, max_size=64))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_images)
def test_decode_codes_never_crashes_on_small_images(image):
    assert isinstance(decode_codes(image), list)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_images, st.sampled_from(["JPEG", "PNG"]))
def test_pipeline_only_raises_camera_errors_on_small_images(image, fmt):
    out = io.BytesIO()
    image.save(out, fmt)
    try:
        process_capture(out.getvalue())
    except CameraError:
        pass


@settings(max_examples=80, deadline=None)
@given(st.binary(max_size=600))
def test_pipeline_and_decoder_refuse_arbitrary_bytes_cleanly(data):
    for call in (process_capture, decode_codes):
        try:
            call(b"\xff\xd8\xff\xe0" + data)
        except CameraError:
            pass


@st.composite
def page_like_frames(draw):
    """A bright rectangle with random content on a dark pad, so the pipeline gets past finding the page
    into deskew, normalising and compression."""
    w, h = draw(st.integers(40, 160)), draw(st.integers(40, 160))
    frame = Image.new("L", (w, h), draw(st.integers(0, 80)))
    left, top = draw(st.integers(4, w // 4)), draw(st.integers(4, h // 4))
    right, bottom = draw(st.integers(w // 2, w - 5)), draw(st.integers(h // 2, h - 5))
    content = draw(st.binary(min_size=1, max_size=256))
    size = (right - left, bottom - top)
    sheet = Image.frombytes("L", size, (content * (size[0] * size[1] // len(content) + 1))[: size[0] * size[1]])
    frame.paste(sheet.point(lambda v: 120 + v // 2), (left, top))
    return frame


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(page_like_frames())
def test_pipeline_deep_stages_only_raise_camera_errors(frame):
    out = io.BytesIO()
    frame.save(out, "JPEG", quality=90)
    config = PipelineConfig(analysis_scale=1, mount_rotation=0, min_page_share=0.0, min_sharpness=0.0,
                            min_ink_share=0.0, max_glare_share=1.0)
    try:
        page = process_capture(out.getvalue(), config)
    except CameraError:
        return
    assert page.size <= config.max_bytes and Image.open(io.BytesIO(page.jpeg)).size == (page.width, page.height)
