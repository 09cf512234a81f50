"""Hostile ID-card replies: random bytes, mutated read replies (bit flips, truncation, length lies, huge Len,
re-checksummed edits), valid frames split at every position and buried in garbage — into ``FrameParser`` and
the whole ``IdCardReader`` over a pty whose far end is a raw writer of this test (not the simulator).
Nothing but an ``IdCardError`` ever comes out, and never an identity other than the one on the card."""
from __future__ import annotations

import itertools
import threading
import time

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from drivers.idcard import protocol
from drivers.idcard.errors import IdCardError, LinkLost, ProtocolError
from drivers.idcard.identity import identity_from_reply
from drivers.idcard.protocol import PREAMBLE, FrameParser
from drivers.idcard.reader import IdCardReader
from simulators.link import LinkClosed, open_link
from tests.hostile.bounded import count, within
from tests.idcard import vectors as v

pytestmark = pytest.mark.timeout(120)

GOOD = v.read_reply(v.resident_block())
FIND_OK = v.frame(v.REPLY_FIND_OK)
SELECT_OK = v.frame(v.REPLY_SELECT_OK)
TRUE_IDENTITY = identity_from_reply(FrameParser().feed(GOOD)[0])
PARSER_CASES = 400
READER_CASES = 20

noise = st.binary(max_size=300).filter(lambda b: PREAMBLE not in b)


def parse_all(stream: bytes, cuts: list[int]) -> list:
    """Feed ``stream`` cut at ``cuts``; the identities of every reply, or the IdCardError each raised."""
    parser = FrameParser()
    out: list = []
    bounds = sorted({c for c in cuts if 0 < c < len(stream)}) + [len(stream)]
    start = 0
    for end in bounds:
        for reply in parser.feed(stream[start:end]):
            try:
                out.append(identity_from_reply(reply))
            except IdCardError as exc:
                out.append(exc)
        start = end
    assert parser.buffered <= protocol.HEADER_SIZE + protocol.MAX_REPLY_LEN
    return out


def identities(results: list) -> list:
    return [r for r in results if not isinstance(r, IdCardError)]


@st.composite
def mutated_reply(draw):
    """A read reply damaged the way a bad line or a hostile device would damage it."""
    frame = bytearray(GOOD)
    how = draw(st.sampled_from(["flip", "truncate", "len_lie", "huge_len", "insert", "delete", "splice"]))
    if how == "flip":
        pos = draw(st.integers(0, len(frame) - 1))
        frame[pos] ^= 1 << draw(st.integers(0, 7))
    elif how == "truncate":
        del frame[draw(st.integers(0, len(frame) - 1)):]
    elif how == "len_lie":
        frame[5:7] = draw(st.integers(0, 0xFFFF).filter(lambda n: n != len(GOOD) - 7)).to_bytes(2, "big")
    elif how == "huge_len":
        frame[5:7] = draw(st.integers(protocol.MAX_REPLY_LEN + 1, 0xFFFF)).to_bytes(2, "big")
    elif how == "insert":
        pos = draw(st.integers(7, len(frame)))
        frame[pos:pos] = draw(st.binary(min_size=1, max_size=16))
    elif how == "delete":
        pos = draw(st.integers(7, len(frame) - 2))
        del frame[pos:pos + draw(st.integers(1, 16))]
    else:  # two replies glued: the head of one, the tail of another
        cut = draw(st.integers(1, len(frame) - 1))
        frame = frame[:cut] + bytearray(GOOD[draw(st.integers(1, len(GOOD) - 1)):])
    return how, bytes(frame)


@settings(max_examples=PARSER_CASES, deadline=None)
@given(st.binary(max_size=4000), st.lists(st.integers(0, 4000), max_size=12))
def test_random_bytes_give_no_identity_and_no_other_exception(stream, cuts):
    count("idcard.parser.random")
    assert identities(within(5, parse_all, stream, cuts)) == []


def xor_collision(stream: bytes) -> bool:
    """Whether the parser accepts a frame from ``stream`` that is not the good reply: damage the 8-bit XOR
    checksum cannot see (about 1 in 256 multi-byte changes). The protocol cannot tell; counted, not failed."""
    return any(protocol.encode_reply(r.sw3, r.data, r.sw1, r.sw2) != GOOD for r in FrameParser().feed(stream))


@settings(max_examples=PARSER_CASES, deadline=None)
@given(mutated_reply(), st.lists(st.integers(0, 1400), max_size=6))
def test_mutated_reply_is_never_a_wrong_identity(mutation, cuts):
    count("idcard.parser.mutated")
    how, frame = mutation
    assume(frame != GOOD)
    results = within(5, parse_all, frame, cuts)  # raises anything but IdCardError
    if xor_collision(frame):
        count("idcard.parser.xor_collisions")
        return
    # Only glued pieces that rebuilt the exact frame can give an identity, and then the card's own.
    assert identities(results) == [TRUE_IDENTITY] * frame.count(GOOD), how


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 0xFFFF), st.binary(max_size=1400), st.integers(0, 255))
def test_checksummed_lies_raise_idcard_errors_only(sw, data, sw3):
    """A frame a hostile device built with a correct CHK (any length, any data): parsing it and turning it
    into an identity raises nothing but IdCardError."""
    count("idcard.parser.checksummed")
    frame = protocol.encode_reply(sw3, data, sw >> 8, sw & 0xFF)
    for result in within(5, parse_all, frame, []):
        if not isinstance(result, IdCardError):
            assert result.id_number and len(result.id_number) in (15, 18)


@settings(max_examples=60, deadline=None)
@given(noise, noise, st.data())
def test_good_frame_in_garbage_split_anywhere_still_arrives(before, after, data):
    """Nothing lost: a valid reply after and before noise, cut at random points, comes through intact."""
    count("idcard.parser.buried")
    stream = before + GOOD + after
    assume(stream.find(PREAMBLE) == len(before))
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=8))
    assert identities(within(5, parse_all, stream, cuts)) == [TRUE_IDENTITY]


def test_every_split_position_of_every_reply_parses_the_same():
    for frame in (FIND_OK, SELECT_OK, GOOD):
        for cut in range(len(frame) + 1):
            count("idcard.parser.split")
            parser = FrameParser()
            replies = parser.feed(frame[:cut]) + parser.feed(frame[cut:])
            assert len(replies) == 1 and parser.buffered == 0


def test_frames_interleaved_with_garbage_all_come_through():
    garbage = [b"\x00", b"\xAA\xAA", b"\xAA\xAA\xAA\x96", b"\xff" * 40, PREAMBLE + b"\xff\xff", PREAMBLE + b"\x00\x01"]
    stream = b"".join(g + f for g in garbage for f in (FIND_OK, SELECT_OK, GOOD))
    count("idcard.parser.interleaved")
    parser = FrameParser()
    got = []
    for i in range(0, len(stream), 7):
        got += parser.feed(stream[i:i + 7])
    assert [r.sw3 for r in got] == [0x9F, 0x90, 0x90] * len(garbage)
    assert [identity_from_reply(r) for r in got if len(r.data) > 8] == [TRUE_IDENTITY] * len(garbage)


# -- the whole driver against a hostile device on a pty ----------------------------------------------------

class HostilePeer:
    """The device end of a pty: reads each command frame the driver sends and answers with scripted raw
    bytes (a list of chunks per command), written in pieces with short pauses, like a noisy line."""

    def __init__(self, script: dict[tuple[int, int], list[bytes]]) -> None:
        self.link = open_link("pty")
        self.script = script
        self.commands: list[tuple[int, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hostile-idcard-peer", daemon=True)

    def __enter__(self) -> HostilePeer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self.link.close()

    def _run(self) -> None:
        buf = bytearray()
        while not self._stop.is_set():
            try:
                buf += self.link.read(256, 0.05)
            except LinkClosed:
                continue
            while (at := buf.find(PREAMBLE)) >= 0 and len(buf) >= at + 7:
                end = at + 7 + int.from_bytes(buf[at + 5:at + 7], "big")
                if len(buf) < end:
                    break
                command = (buf[at + 7], buf[at + 8])
                del buf[:end]
                self.commands.append(command)
                for chunk in self.script.get(command, []):
                    self.link.write_raw(chunk)
                    time.sleep(0.002)


def chunks(data: bytes, cuts: list[int]) -> list[bytes]:
    bounds = [0] + sorted({c for c in cuts if 0 < c < len(data)}) + [len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


def read_through(script: dict[tuple[int, int], list[bytes]], timeout: float = 0.25):
    """Run one ``read_card`` against the hostile peer: its identity, or the exception it raised. Short
    timeouts where an error is an accepted answer; generous ones where the card must be read."""
    with HostilePeer(script) as peer:
        reader = IdCardReader(peer.link.port, find_timeout=timeout, select_timeout=timeout, read_timeout=timeout)
        with reader:
            try:
                return within(10, reader.read_card, 0.0)
            except Exception as exc:  # the assertion is on its type
                return exc


FIND, SELECT, READ = (0x20, 0x01), (0x20, 0x02), (0x30, 0x01)


@settings(max_examples=READER_CASES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_reply(), st.lists(st.integers(0, 1400), max_size=4), noise)
def test_reader_over_pty_with_a_hostile_read_reply(mutation, cuts, before):
    count("idcard.reader.hostile")
    how, frame = mutation
    assume(frame != GOOD and not xor_collision(frame))  # collisions: counted by the parser test above
    result = read_through({FIND: [FIND_OK], SELECT: [SELECT_OK], READ: [before] + chunks(frame, cuts)})
    assert isinstance(result, IdCardError) or result == TRUE_IDENTITY, (how, result)
    if not isinstance(result, IdCardError):
        assert GOOD in frame  # only a glued copy that rebuilt the exact frame may give the card's identity


@settings(max_examples=READER_CASES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(noise, noise, st.lists(st.integers(0, 1400), max_size=6))
def test_reader_over_pty_finds_the_card_behind_garbage(before, after, cuts):
    count("idcard.reader.buried")
    stream = before + GOOD + after
    assume(stream.find(PREAMBLE) == len(before))
    result = read_through({FIND: [b"\x00\xff" + FIND_OK], SELECT: [SELECT_OK + b"\xAA"],
                           READ: chunks(stream, cuts)}, timeout=3.0)
    assert result == TRUE_IDENTITY


def test_reader_over_pty_with_random_bytes_only_raises_idcard_errors():
    import random
    rnd = random.Random(7)
    for _ in range(6):
        count("idcard.reader.random")
        junk = bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 600)))
        result = read_through({FIND: [junk], SELECT: [junk], READ: [junk]})
        assert isinstance(result, (ProtocolError, LinkLost)), result
