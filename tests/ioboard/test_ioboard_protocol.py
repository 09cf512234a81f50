"""The Pi-side IO board codec against the document's byte vectors, plus property-based checks that the
frame decoder never crashes on outside bytes and never accepts a corrupted frame."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.ioboard import protocol as p
from drivers.ioboard.errors import ProtocolError
from tests.ioboard.vectors import BY_NAME, VECTORS


def test_crc_check_value() -> None:
    assert p.crc16_ccitt(b"123456789") == 0x29B1


def test_doc_has_vectors_for_every_frame_type() -> None:
    assert {v.type for v in VECTORS} == {int(t) for t in p.FrameType}


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v.name)
def test_encode_matches_doc(vector) -> None:
    assert p.encode_frame(vector.type, vector.seq, vector.payload) == vector.frame


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v.name)
def test_decode_matches_doc_byte_by_byte(vector) -> None:
    decoder = p.FrameDecoder()
    frames = [f for byte in vector.frame for f in decoder.feed(bytes([byte]))]
    assert frames == [p.Frame(vector.type, vector.seq, vector.payload)]
    assert decoder.pending == 0


def test_builders_match_doc() -> None:
    assert p.hello(0) == BY_NAME["hello"].frame
    assert p.heartbeat(1) == BY_NAME["heartbeat_pi"].frame
    assert p.set_light(2, p.Color.GREEN, p.Pattern.STEADY) == BY_NAME["set_light_green"].frame
    assert p.buzz(3, p.BuzzPattern.DOUBLE) == BY_NAME["buzz_double"].frame
    assert p.config(4, {p.ConfigKey.HEARTBEAT_TIMEOUT: 1500}) == BY_NAME["config_timeout_1500"].frame
    assert p.get_status(5) == BY_NAME["get_status"].frame
    assert p.ack(6, 3) == BY_NAME["ack_event"].frame


def test_payload_parsers_match_doc_examples() -> None:
    welcome = p.parse_welcome(BY_NAME["welcome"].payload)
    assert (welcome.protocol_version, welcome.ref, welcome.firmware_version) == (1, 0, "1.0.0")
    status = welcome.status
    assert status.tamper_open and not status.presence and not status.help_held
    assert (status.light_color, status.light_pattern, status.watchdog) == (p.Color.GREEN, p.Pattern.STEADY,
                                                                             p.WatchdogState.WATCHING)
    assert (status.bad_frames, status.power_cycles, status.uptime_s) == (0, 0, 42)
    assert p.parse_event(BY_NAME["event_tamper_open"].payload) == p.BoardEventData(p.EventKind.TAMPER, 1)
    assert p.parse_event(BY_NAME["event_help"].payload).kind == p.EventKind.HELP
    assert p.parse_nak(BY_NAME["nak_no_session"].payload) == (7, p.NakReason.NO_SESSION)
    assert p.parse_status(BY_NAME["ack_status"].payload[1:]) == status


@pytest.mark.parametrize("bad", [b"", b"\x00" * 11, b"\x00\x09" + b"\x00" * 10, b"\x00\x00\x00\x07" + b"\x00" * 8])
def test_bad_status_payload_is_a_protocol_error(bad: bytes) -> None:
    with pytest.raises(ProtocolError):
        p.parse_status(bad)


def test_resynchronisation_examples_from_doc() -> None:
    decoder = p.FrameDecoder()
    assert decoder.feed(b"\x00\xff\xa5\x13" + BY_NAME["hello"].frame) == [p.Frame(1, 0, b"\x01")]
    assert decoder.skipped == 4
    decoder = p.FrameDecoder()
    assert decoder.feed(bytes.fromhex("A55A10020201") + BY_NAME["get_status"].frame) == [p.Frame(0x13, 5)]
    assert decoder.rejected == 1
    decoder = p.FrameDecoder()
    assert decoder.feed(BY_NAME["hello"].frame[:-1] + b"\x65") == []
    assert decoder.rejected == 1
    decoder = p.FrameDecoder()
    assert decoder.feed(bytes.fromhex("A55A0100FF") + BY_NAME["heartbeat_pi"].frame) == [p.Frame(5, 1)]


def test_expire_reveals_a_frame_swallowed_by_a_false_start() -> None:
    decoder = p.FrameDecoder()
    assert decoder.feed(bytes.fromhex("A55A100028") + BY_NAME["buzz_double"].frame) == []
    assert decoder.expire() == [p.Frame(0x11, 3, b"\x02")]
    assert decoder.pending == 0


def test_oversized_payload_and_bad_config_refused() -> None:
    with pytest.raises(ValueError):
        p.encode_frame(0x10, 0, bytes(65))
    with pytest.raises(ValueError):
        p.config(0, {p.ConfigKey.MIN_CYCLE: 2 ** 32})
    with pytest.raises(ValueError):
        p.config(0, {})


frames_st = st.builds(lambda t, s, pl: p.encode_frame(t, s, pl), st.integers(0, 255), st.integers(0, 255),
                      st.binary(max_size=64))


def _assert_only_genuine(frames: list[p.Frame], stream: bytes) -> None:
    for frame in frames:
        assert p.encode_frame(frame.type, frame.seq, frame.payload) in stream


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600), st.integers(1, 64))
def test_random_bytes_never_crash_and_yield_only_frames_present(data: bytes, chunk: int) -> None:
    decoder = p.FrameDecoder()
    frames = []
    for i in range(0, len(data), chunk):
        frames += decoder.feed(data[i:i + chunk])
        assert decoder.pending <= 5 + 64 + 2
    frames += decoder.expire()
    assert decoder.pending == 0
    _assert_only_genuine(frames, data)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.binary(max_size=30), frames_st), min_size=1, max_size=6), st.integers(1, 40))
def test_good_frames_survive_garbage_in_order(parts, chunk: int) -> None:
    stream = b"".join(noise + frame for noise, frame in parts)
    decoder = p.FrameDecoder()
    found = []
    for i in range(0, len(stream), chunk):
        found += decoder.feed(stream[i:i + chunk])
    found += decoder.expire()
    encoded = iter(p.encode_frame(f.type, f.seq, f.payload) for f in found)
    for _, frame in parts:  # every good frame, in order (garbage may add genuine-looking extras)
        assert any(e == frame for e in encoded), "a good frame was lost"
    _assert_only_genuine(found, stream)


@settings(max_examples=300, deadline=None)
@given(frames_st, st.data())
def test_no_corrupted_frame_is_accepted(frame: bytes, data) -> None:
    index = data.draw(st.integers(2, len(frame) - 1), label="corrupted byte")
    flip = data.draw(st.integers(1, 255), label="xor")
    corrupted = bytearray(frame)
    corrupted[index] ^= flip
    decoder = p.FrameDecoder()
    found = decoder.feed(bytes(corrupted)) + decoder.expire()
    originals = [f for f in found if p.encode_frame(f.type, f.seq, f.payload) == frame]
    assert originals == []
    _assert_only_genuine(found, bytes(corrupted))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_crc_agrees_with_the_standard_library(data: bytes) -> None:
    """binascii.crc_hqx is a third, C implementation of the same CRC-16/CCITT-FALSE."""
    import binascii
    assert p.crc16_ccitt(data) == binascii.crc_hqx(data, 0xFFFF)
