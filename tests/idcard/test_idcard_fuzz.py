"""Property tests of both parsers of outside bytes: nothing crashes them, and no corrupted read reply ever
turns into an identity."""
from __future__ import annotations

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from drivers.idcard import protocol
from drivers.idcard.errors import IdCardError
from drivers.idcard.identity import identity_from_reply, identity_from_text_block
from drivers.idcard.protocol import FrameParser
from drivers.idcard.text_block import decode_text_block
from simulators.idcard import wire
from tests.idcard import vectors as v

GOOD = v.read_reply(v.resident_block())
FIND_OK = v.frame(v.REPLY_FIND_OK)
FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Bytes that favour frame structure: preambles, lengths, checksum-like values.
framey = st.lists(st.one_of(st.binary(max_size=40), st.just(v.PRE), st.just(FIND_OK), st.just(GOOD[:40]),
                            st.sampled_from([b"\x00\x04", b"\x05\x08", b"\xAA", b"\x96\x69"])),
                  max_size=30).map(b"".join)


def identities_from(stream: bytes, chunks: list[int]) -> list:
    """Everything a driver would turn into identities from this byte stream."""
    parser = FrameParser()
    out, i = [], 0
    for size in chunks + [len(stream)]:
        for reply in parser.feed(stream[i:i + size]):
            try:
                out.append(identity_from_reply(reply))
            except IdCardError:
                pass
        i += size
    return out


@FAST
@given(framey, st.lists(st.integers(1, 64), max_size=20))
def test_driver_parser_never_raises_and_returns_only_frames_really_sent(stream, chunks):
    parser = FrameParser()
    i = 0
    for size in chunks + [len(stream)]:
        for reply in parser.feed(stream[i:i + size]):
            # The whole frame, checksum included, was in the input: nothing is invented or patched up.
            assert protocol.encode_reply(reply.sw3, reply.data, reply.sw1, reply.sw2) in stream
        assert 0 < parser.wanted() <= 7 + protocol.MAX_REPLY_LEN
        i += size


@FAST
@given(st.binary(max_size=3000))
def test_driver_parser_survives_arbitrary_bytes(stream):
    parser = FrameParser()
    for reply in parser.feed(stream):
        assert reply.sw3 in range(256)
    assert parser.buffered <= 7 + protocol.MAX_REPLY_LEN


@FAST
@given(st.integers(0, len(GOOD) - 1), st.integers(1, 255), st.binary(max_size=8))
def test_any_single_byte_change_in_a_read_reply_yields_no_identity(pos, delta, tail):
    corrupted = bytearray(GOOD)
    corrupted[pos] ^= delta
    assert identities_from(bytes(corrupted) + tail, []) == []


@FAST
@given(st.lists(st.tuples(st.integers(5, len(GOOD) - 1), st.integers(1, 255)), min_size=2, max_size=6))
def test_multi_byte_corruption_not_cancelling_in_the_checksum_yields_no_identity(flips):
    corrupted = bytearray(GOOD)
    total = 0
    for pos, delta in flips:
        corrupted[pos] ^= delta
    for pos in range(5, len(GOOD)):
        total ^= corrupted[pos] ^ GOOD[pos]
    assume(total != 0)  # XOR detects every corruption whose deltas do not cancel out; nothing more
    assert identities_from(bytes(corrupted), []) == []


@FAST
@given(st.integers(1, len(GOOD) - 1), st.lists(st.integers(1, 200), max_size=10))
def test_truncated_read_reply_yields_nothing(cut, chunks):
    assert identities_from(GOOD[:cut], chunks) == []


@FAST
@given(st.binary(max_size=64), st.lists(st.integers(1, 50), max_size=10))
def test_valid_reply_after_noise_is_still_read(noise, chunks):
    # Noise without a preamble inside cannot hide a frame that follows it.
    noise = noise.replace(b"\xAA", b"")
    [ident] = identities_from(noise + GOOD, chunks)
    assert ident.id_number == "11010519491231002X"


@FAST
@given(st.binary(max_size=400), st.lists(st.integers(1, 40), max_size=20))
def test_simulator_splitter_never_raises(stream, chunks):
    splitter = wire.CommandSplitter()
    i = 0
    for size in chunks + [len(stream)]:
        for item in splitter.push(stream[i:i + size]):
            assert isinstance(item, (wire.HostCommand, wire.HostFrameError))
        i += size


@FAST
@given(st.binary(min_size=256, max_size=256), st.sampled_from(["", "J", "I", "Y", "Z"]))
def test_any_text_block_decodes_or_raises_only_card_errors(block, flag):
    block = block[:248] + (flag.encode("utf-16-le") or b" \x00") + block[250:]
    try:
        ident = identity_from_text_block(decode_text_block(block))
    except IdCardError:
        return
    assert ident.card_type == flag and len(ident.to_dict()) == 12


@FAST
@given(st.binary(max_size=2400))
def test_folded_checksum_equals_the_plain_xor(data):
    assert protocol.checksum(data) == v.xor(data)
