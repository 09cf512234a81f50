"""The capture pipeline on simulated 5 MP frames: crop, deskew, size budget, quality gates, codes."""
from __future__ import annotations

import io

import pytest
from PIL import Image, ImageStat

from drivers.camera import (
    BadExposure,
    BlankPage,
    BlurredPage,
    CaptureFailed,
    PageNotFound,
    PipelineConfig,
    RejectCode,
    decode_codes,
    frame_motion,
    process_capture,
)
from drivers.camera.simulated import A4_MM
from tests.camera.conftest import RECEIPT_URL

GOOD = [("page", 0), ("page", 1), ("page", 2), ("skewed", 0), ("skewed", 1), ("skewed", 2)]


@pytest.mark.parametrize("scenario,seed", GOOD)
def test_good_frames_fit_the_budget_and_are_straightened(frame_of, scenario, seed):
    frame, truth = frame_of(scenario, seed)
    page = process_capture(frame)
    assert page.size <= 300_000
    assert len(page.jpeg) == page.size
    assert 150 <= page.dpi <= 200
    assert 50 <= page.quality <= 75
    # The staged tilt is recovered (the search resolution is 0.1°, keystone adds a little).
    assert abs(page.skew_deg - truth.tilt_deg) <= 0.3, (page.skew_deg, truth.tilt_deg)
    image = Image.open(io.BytesIO(page.jpeg))
    assert image.mode == "L" and image.size == (page.width, page.height)


@pytest.mark.parametrize("scenario,seed", GOOD[:2] + GOOD[3:4])
def test_crop_finds_the_a4_page_without_pad(frame_of, scenario, seed):
    page = process_capture(frame_of(scenario, seed)[0])
    assert page.height / page.width == pytest.approx(A4_MM[1] / A4_MM[0], rel=0.02)
    assert page.width == pytest.approx(A4_MM[0] / 25.4 * page.dpi, rel=0.03)
    image = Image.open(io.BytesIO(page.jpeg))
    # No dark pad left along any border: the outermost strips are paper white.
    strips = [(0, 0, image.width, 6), (0, image.height - 6, image.width, image.height),
              (0, 0, 6, image.height), (image.width - 6, 0, image.width, image.height)]
    for strip in strips:
        assert ImageStat.Stat(image.crop(strip)).mean[0] > 200, strip


def test_tighter_budget_lowers_quality_then_dpi(frame_of):
    frame = frame_of("page", 0)[0]
    lower_quality = process_capture(frame, PipelineConfig(max_bytes=240_000))
    assert lower_quality.size <= 240_000 and lower_quality.quality < 75 and lower_quality.dpi > 199
    lower_dpi = process_capture(frame, PipelineConfig(max_bytes=120_000))
    assert lower_dpi.size <= 120_000 and lower_dpi.dpi <= 150 and lower_dpi.quality >= 50
    with pytest.raises(CaptureFailed) as caught:
        process_capture(frame, PipelineConfig(max_bytes=5_000))
    assert caught.value.code == "page_too_large"


def test_blank_page_is_rejected_with_a_reason(frame_of):
    with pytest.raises(BlankPage) as caught:
        process_capture(frame_of("blank", 0)[0])
    assert caught.value.code == RejectCode.BLANK.value == "blank_page"
    assert caught.value.user_message == "这一页好像是空白的，请放好材料再拍一次"


def test_blurred_page_is_rejected_with_a_reason(frame_of):
    with pytest.raises(BlurredPage) as caught:
        process_capture(frame_of("blurred", 0)[0])
    assert caught.value.code == "blurred_page"
    assert "模糊" in caught.value.user_message


def test_glare_is_rejected(frame_of):
    with pytest.raises(BadExposure) as caught:
        process_capture(frame_of("glare", 0)[0])
    assert caught.value.reject is RejectCode.GLARE and "反光" in caught.value.user_message


def test_page_over_the_frame_edge_asks_to_reposition(frame_of):
    with pytest.raises(PageNotFound) as caught:
        process_capture(frame_of("partial", 0)[0])
    assert caught.value.code == "page_off_edge" and "挪到底板中间" in caught.value.user_message


def _jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def test_empty_pad_and_dark_frame_are_told_apart():
    with pytest.raises(PageNotFound) as empty:
        process_capture(_jpeg(Image.new("L", (1296, 972), 120)))
    assert empty.value.reject is RejectCode.NOT_FOUND
    with pytest.raises(BadExposure) as dark:
        process_capture(_jpeg(Image.new("L", (1296, 972), 12)))
    assert dark.value.reject is RejectCode.TOO_DARK


def test_small_paper_on_the_pad_is_too_small():
    frame = Image.new("L", (1296, 972), 35)
    frame.paste(230, (500, 400, 700, 560))
    with pytest.raises(PageNotFound) as caught:
        process_capture(_jpeg(frame))
    assert caught.value.reject is RejectCode.TOO_SMALL


def test_qr_on_the_page_decodes_after_the_pipeline(frame_of):
    frame = frame_of("page", 4, with_qr=True)[0]
    assert decode_codes(frame) == decode_codes(process_capture(frame).jpeg)
    codes = decode_codes(process_capture(frame).jpeg)
    assert [(code.type, code.data) for code in codes] == [("QRCODE", RECEIPT_URL.encode())]


def _without_huffman_tables(jpeg: bytes) -> bytes:
    """Drop every DHT segment, as some UVC cameras send MJPEG frames (standard tables implied)."""
    out, i = bytearray(jpeg[:2]), 2
    while i < len(jpeg):
        marker = jpeg[i + 1]
        length = int.from_bytes(jpeg[i + 2:i + 4], "big")
        if marker == 0xDA:  # start of scan: the entropy-coded rest goes through unchanged
            out += jpeg[i:]
            break
        if marker != 0xC4:
            out += jpeg[i:i + 2 + length]
        i += 2 + length
    return bytes(out)


def test_mjpeg_frame_without_huffman_tables_is_processed(frame_of):
    frame = frame_of("page", 0)[0]
    stripped = _without_huffman_tables(frame)
    assert b"\xff\xc4" not in stripped[:stripped.index(b"\xff\xda")] and len(stripped) < len(frame)
    assert process_capture(stripped).skew_deg == process_capture(frame).skew_deg


def test_truncated_frame_is_a_capture_failure(frame_of):
    frame = frame_of("page", 0)[0]
    with pytest.raises(CaptureFailed) as caught:
        process_capture(frame[: len(frame) // 3])
    assert caught.value.code == "bad_image"


def test_still_check_sees_a_moved_page(frame_of):
    still = frame_of("page", 0)[0]
    assert frame_motion(still, still) == 0.0
    assert frame_motion(still, frame_of("skewed", 0)[0]) > 5 * max(1.0, frame_motion(still, _jpeg(
        Image.open(io.BytesIO(still)))))
    with pytest.raises(CaptureFailed):
        frame_motion(still, b"garbage")
