"""Hostile IO-board bytes into the host codec: random streams, mutated frames (bit flips, length lies over 64,
truncation), frames split anywhere and buried in garbage, and random payloads into every payload parser.
The decoder never raises and returns only frames really sent; good frames behind garbage still come through;
payload parsers raise only the driver's ``ProtocolError``."""
from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.ioboard import protocol as p
from drivers.ioboard.errors import ProtocolError
from tests.hostile.bounded import count, within

pytestmark = pytest.mark.timeout(120)

STATUS = bytes([0b101, 1, 2, 1]) + (3).to_bytes(2, "big") + (0).to_bytes(2, "big") + (77).to_bytes(4, "big")
GOOD = [p.encode_frame(p.FrameType.WELCOME, 1, bytes([1, 0, 1, 2, 3]) + STATUS),
        p.encode_frame(p.FrameType.EVENT, 2, bytes([p.EventKind.TAMPER, 1])),
        p.encode_frame(p.FrameType.ACK, 3, b"\x07"), p.encode_frame(p.FrameType.HEARTBEAT, 4),
        p.encode_frame(p.FrameType.NAK, 5, bytes([9, p.NakReason.BAD_PAYLOAD]))]
noise = st.binary(max_size=200).filter(lambda b: p.START not in b and not b.endswith(p.START[:1]))


def decode(stream: bytes, cuts: list[int], expire: bool = True) -> list[p.Frame]:
    decoder = p.FrameDecoder()
    bounds = [0] + sorted({c for c in cuts if 0 < c < len(stream)}) + [len(stream)]
    frames = [f for a, b in itertools.pairwise(bounds) for f in decoder.feed(stream[a:b])]
    if expire:
        frames += decoder.expire()
        assert decoder.pending == 0
    assert decoder.pending <= len(stream)
    return frames


def encoded(frame: p.Frame) -> bytes:
    return p.encode_frame(frame.type, frame.seq, frame.payload)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=3000), st.lists(st.integers(0, 3000), max_size=10))
def test_random_bytes_never_raise_and_yield_only_checked_frames(stream, cuts):
    count("ioboard.random")
    for frame in within(5, decode, stream, cuts):
        assert len(frame.payload) <= p.MAX_PAYLOAD and encoded(frame) in stream


@st.composite
def mutated(draw):
    frame = bytearray(draw(st.sampled_from(GOOD)))
    how = draw(st.sampled_from(["flip", "truncate", "len_lie", "huge_len", "insert"]))
    if how == "flip":
        frame[draw(st.integers(0, len(frame) - 1))] ^= 1 << draw(st.integers(0, 7))
    elif how == "truncate":
        del frame[draw(st.integers(0, len(frame) - 1)):]
    elif how == "len_lie":
        frame[4] = draw(st.integers(0, p.MAX_PAYLOAD).filter(lambda n: n != frame[4]))
    elif how == "huge_len":
        frame[4] = draw(st.integers(p.MAX_PAYLOAD + 1, 255))
    else:
        pos = draw(st.integers(2, len(frame)))
        frame[pos:pos] = draw(st.binary(min_size=1, max_size=8))
    return bytes(frame)


@settings(max_examples=400, deadline=None)
@given(mutated(), st.lists(st.integers(0, 100), max_size=5))
def test_a_mutated_frame_is_dropped_and_the_next_good_one_arrives(bad, cuts):
    """Nothing lost: whatever the damage, the frame sent after it is decoded (CRC-16 catches every
    single-burst error of up to 16 bits, so the damaged one never passes as something else)."""
    count("ioboard.mutated")
    follow = GOOD[3]
    frames = within(5, decode, bad + follow, cuts)
    assert frames[-1] == p.Frame(p.FrameType.HEARTBEAT, 4)
    for frame in frames[:-1]:
        assert encoded(frame) in GOOD and encoded(frame) in bad


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(noise, st.sampled_from(GOOD)), min_size=1, max_size=8), noise,
       st.lists(st.integers(0, 2000), max_size=12))
def test_good_frames_interleaved_with_garbage_all_arrive(pairs, tail, cuts):
    count("ioboard.interleaved")
    stream = b"".join(g + f for g, f in pairs) + tail
    frames = within(5, decode, stream, cuts, False)
    assert [encoded(f) for f in frames] == [f for _, f in pairs]


def test_every_split_position_of_every_frame():
    for frame in GOOD:
        for cut in range(len(frame) + 1):
            count("ioboard.split")
            assert decode(frame, [cut], False) == decode(frame, [], False) and len(decode(frame, [], False)) == 1


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=80), st.sampled_from([p.parse_status, p.parse_welcome, p.parse_event, p.parse_nak]))
def test_payload_parsers_raise_only_protocol_error(payload, parse):
    count("ioboard.payloads")
    try:
        parse(payload)
    except ProtocolError as exc:
        assert exc.code == "ioboard_protocol"
