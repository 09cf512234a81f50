"""Hostile camera frames: random bytes, truncated and bit-flipped JPEGs, other image formats, tiny and huge
(bounded) dimensions and decompression-bomb-like headers — into ``process_capture``, ``frame_motion`` and
``decode_codes``. Only ``CameraError`` subclasses come out (with a code and a villager message), in bounded time."""
from __future__ import annotations

import io
import struct
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from drivers.camera import CameraError, SimulatedCamera, decode_codes, frame_motion, process_capture
from tests.hostile.bounded import count, within

pytestmark = [pytest.mark.timeout(180), pytest.mark.filterwarnings("ignore::UserWarning")]


def encoded(image: Image.Image, fmt: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


SMALL = Image.radial_gradient("L").resize((96, 64))
SEEDS = {fmt: encoded(SMALL.convert("RGB" if fmt == "JPEG" else "L"), fmt)
         for fmt in ("JPEG", "PNG", "GIF", "BMP", "TIFF", "WEBP", "PPM")}
PAGE = SimulatedCamera("page", seed=3).capture()


def jpeg_header(width: int, height: int) -> bytes:
    """SOI + a baseline SOF0 claiming ``width``×``height`` and nothing after it (no pixels at all)."""
    sof = struct.pack(">BHHBBBB", 8, height, width, 1, 1, 0x11, 0)
    return b"\xff\xd8" + b"\xff\xc0" + struct.pack(">H", len(sof) + 2) + sof + b"\xff\xd9"


def png_header(width: int, height: int, mode: int = 0) -> bytes:
    """A PNG whose IHDR claims ``width``×``height`` and whose IDAT is a few bytes (a decompression bomb's shape)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, mode, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 4096)) + \
        chunk(b"IEND", b"")


def check(fn, data) -> None:
    """``fn(data)`` returns or raises a CameraError with a code and a message for the screen."""
    try:
        within(30, fn, data)
    except CameraError as exc:
        assert exc.code and exc.user_message


def motion(data: bytes) -> float:
    return frame_motion(PAGE, data)


ENTRY_POINTS = [process_capture, decode_codes, motion]


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=2000), st.sampled_from(ENTRY_POINTS))
def test_random_bytes(data, fn):
    count("camera.random")
    check(fn, data)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(SEEDS)), st.data(), st.sampled_from(ENTRY_POINTS))
def test_mutated_images_of_every_format(fmt, data, fn):
    count("camera.mutated")
    image = bytearray(SEEDS[fmt])
    for _ in range(data.draw(st.integers(1, 6))):
        how = data.draw(st.sampled_from(["flip", "truncate", "insert", "byte"]))
        pos = data.draw(st.integers(0, len(image) - 1))
        if how == "flip":
            image[pos] ^= 1 << data.draw(st.integers(0, 7))
        elif how == "truncate":
            del image[max(8, pos):]
        elif how == "insert":
            image[pos:pos] = data.draw(st.binary(min_size=1, max_size=16))
        else:
            image[pos] = data.draw(st.sampled_from([0x00, 0xFF, 0x7F, 0x80]))
    check(fn, bytes(image))


@settings(max_examples=40, deadline=None)
@given(st.integers(0, len(PAGE) - 1))
def test_truncated_real_frames(cut):
    count("camera.truncated")
    check(process_capture, PAGE[:cut])


@pytest.mark.parametrize("width,height", [(1, 1), (1, 30000), (30000, 1), (7, 7), (65535, 65535), (0, 10),
                                          (20000, 20000), (6400, 6250)])
def test_absurd_dimensions_in_headers(width, height):
    """Headers claiming absurd sizes (up to 4.3 gigapixels) with almost no data behind them."""
    for data in (jpeg_header(width, height), png_header(width, height), png_header(width, height, 2)):
        for fn in ENTRY_POINTS:
            count("camera.headers")
            check(fn, data)


@pytest.mark.parametrize("size", [(1, 1), (3, 2000), (2000, 3), (9, 9)])
def test_tiny_real_images(size):
    for fmt in ("JPEG", "PNG"):
        data = encoded(Image.new("L", size, 200), fmt)
        for fn in ENTRY_POINTS:
            count("camera.tiny")
            check(fn, data)


def test_a_good_frame_still_works_after_the_hostile_ones():
    count("camera.recovery")
    assert within(30, process_capture, PAGE).size > 0
