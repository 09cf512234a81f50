"""The driver's codec against the hardware document's byte vectors: commands, replies, SW3 decoding,
length-driven parsing with resynchronisation."""
from __future__ import annotations

import pytest

from drivers.idcard import protocol
from drivers.idcard.errors import CardFault, CardRemoved, HostFrameRejected, NoCard, ProtocolError, SamFault
from drivers.idcard.protocol import Command, FrameParser, Sw3
from tests.idcard import vectors as v

COMMAND_OF = {
    "reset_sam": Command.RESET_SAM, "sam_status": Command.SAM_STATUS, "read_sam_id": Command.READ_SAM_ID,
    "find": Command.FIND_CARD, "select": Command.SELECT_CARD, "read_text_photo": Command.READ_TEXT_PHOTO,
    "read_appended_address": Command.READ_APPENDED_ADDRESS, "read_fingerprint": Command.READ_WITH_FINGERPRINT,
}


@pytest.mark.parametrize("name", sorted(COMMAND_OF))
def test_command_frames_match_the_document(name):
    assert protocol.build_command(COMMAND_OF[name]) == v.frame(v.COMMANDS[name])


def test_set_max_rf_frame_matches_the_document():
    assert protocol.set_max_rf_frame_command() == v.frame(v.COMMANDS["set_max_rf_frame"])


@pytest.mark.parametrize("baud,nn", sorted(v.BAUD_PARAMS.items()))
def test_set_baud_frames(baud, nn):
    assert protocol.set_baud_command(baud) == v.PRE + bytes((0x00, 0x03, 0x60, nn, 0x63 ^ nn))


def test_set_baud_rejects_an_unsupported_rate():
    with pytest.raises(ValueError):
        protocol.set_baud_command(4800)


@pytest.mark.parametrize("hex_reply,sw3,data_len,total", [
    (v.REPLY_OK, 0x90, 0, 11), (v.REPLY_FIND_OK, 0x9F, 4, 15), (v.REPLY_FIND_FAILED, 0x80, 0, 11),
    (v.REPLY_SELECT_OK, 0x90, 8, 19), (v.REPLY_READ_FAILED, 0x41, 0, 11),
])
def test_documented_replies_parse(hex_reply, sw3, data_len, total):
    raw = v.frame(hex_reply)
    assert len(raw) == total
    parser = FrameParser()
    [reply] = parser.feed(raw)
    assert (reply.sw1, reply.sw2, reply.sw3, len(reply.data)) == (0, 0, sw3, data_len)
    assert parser.errors == 0 and parser.buffered == 0


def test_encode_reply_reproduces_the_documented_replies():
    assert protocol.encode_reply(0x90) == v.frame(v.REPLY_OK)
    assert protocol.encode_reply(0x9F, bytes(4)) == v.frame(v.REPLY_FIND_OK)
    assert protocol.encode_reply(0x90, bytes(8)) == v.frame(v.REPLY_SELECT_OK)


def test_read_reply_is_1295_bytes_and_splits_into_text_and_photo():
    raw = v.read_reply(v.resident_block())
    assert len(raw) == 1295 and raw[5:14] == bytes.fromhex("05 08 00 00 90 01 00 04 00")
    [reply] = FrameParser().feed(raw)
    record = protocol.parse_card_record(reply.data)
    assert record.text == v.resident_block() and record.photo == bytes(range(256)) * 4


@pytest.mark.parametrize("finger", [0, 512, 1024])
def test_fingerprint_read_reply_lengths(finger):
    data = bytes.fromhex("01000400") + finger.to_bytes(2, "big") + bytes(256) + bytes(1024) + b"\x5A" * finger
    raw = v.reply(0x90, data)
    assert len(raw) == {0: 1297, 512: 1809, 1024: 2321}[finger]
    [reply] = FrameParser().feed(raw)
    record = protocol.parse_card_record(reply.data, with_fingerprint=True)
    assert len(record.fingerprint) == finger and len(record.photo) == 1024


def test_card_record_with_inconsistent_lengths_is_a_protocol_error():
    with pytest.raises(ProtocolError):
        protocol.parse_card_record(bytes.fromhex("01000400") + bytes(100))
    with pytest.raises(ProtocolError):
        protocol.parse_card_record(bytes.fromhex("00FF0400") + bytes(255 + 1024))


def test_sam_id_formatting():
    data = bytes((0x05, 0x00, 0x01, 0x00)) + (20260101).to_bytes(4, "little") + (7).to_bytes(4, "little") \
        + (123).to_bytes(4, "little")
    [reply] = FrameParser().feed(v.reply(0x90, data))
    assert len(v.reply(0x90, data)) == 27
    assert protocol.format_sam_id(reply.data) == "05.01-20260101-0000000007-0000000123"


def test_appended_address_is_81_bytes():
    raw = v.reply(0x90, v.ucs2("新地址路2号", 70))
    assert len(raw) == 81 and raw[5:7] == b"\x00\x4A"
    [reply] = FrameParser().feed(raw)
    assert protocol.decode_appended_address(reply.data) == "新地址路2号"


@pytest.mark.parametrize("sw3,error", [
    (0x80, NoCard), (0x81, CardRemoved), (0x41, CardRemoved), (0x60, SamFault), (0x66, SamFault),
    (0x31, CardFault), (0x47, CardFault), (0x10, HostFrameRejected), (0x11, HostFrameRejected),
    (0x21, HostFrameRejected), (0x5E, ProtocolError),
])
def test_sw3_decodes_into_specific_errors(sw3, error):
    [reply] = FrameParser().feed(v.reply(sw3))
    assert type(protocol.error_for(reply)) is error


def test_sw3_enum_and_ok_codes():
    [found] = FrameParser().feed(v.frame(v.REPLY_FIND_OK))
    assert found.status is Sw3.FIND_OK and protocol.error_for(found) is None
    [odd] = FrameParser().feed(v.reply(0x5E))
    assert odd.status is None


def test_failure_with_card_status_in_sw1_sw2_still_branches_on_sw3():
    [reply] = FrameParser().feed(v.reply(0x81, sw1=0x6A, sw2=0x82))
    assert type(protocol.error_for(reply)) is CardRemoved


def test_noise_before_the_preamble_is_dropped():
    parser = FrameParser()
    replies = parser.feed(b"\x00\x13\xAA\xAA\x96\xAA" + v.frame(v.REPLY_FIND_OK))
    assert [r.sw3 for r in replies] == [0x9F]
    assert parser.noise_bytes == 6 and parser.errors == 0


def test_bad_checksum_is_counted_not_returned_and_the_next_frame_is_found():
    parser = FrameParser()
    bad = bytearray(v.frame(v.REPLY_SELECT_OK))
    bad[-1] ^= 0x01
    assert parser.feed(bytes(bad)) == []
    assert parser.errors == 1 and parser.checksum_errors == 1
    assert [r.sw3 for r in parser.feed(v.frame(v.REPLY_OK))] == [0x90]


def test_stray_partial_frame_before_a_real_one_resynchronises():
    parser = FrameParser()
    replies = parser.feed(v.PRE + b"\x00\x04\x00\x00" + v.frame(v.REPLY_FIND_OK))
    assert [r.sw3 for r in replies] == [0x9F]
    assert parser.errors == 1


@pytest.mark.parametrize("length", [b"\x00\x00", b"\x00\x03", b"\x09\x13", b"\xFF\xFF"])
def test_impossible_length_is_a_counted_length_error(length):
    parser = FrameParser()
    assert parser.feed(v.PRE + length + b"\x00" * 8) == []
    assert parser.length_errors == 1
    assert [r.sw3 for r in parser.feed(v.frame(v.REPLY_OK))] == [0x90]


def test_reading_exactly_wanted_bytes_never_overshoots_a_frame_end():
    raw = v.frame(v.REPLY_SELECT_OK) + v.read_reply(v.resident_block())
    parser = FrameParser()
    got, ends, i = [], [], 0
    while i < len(raw):
        want = parser.wanted()
        new = parser.feed(raw[i:i + want])
        i += want
        if new:
            ends.append(i)
        got += new
    assert ends == [19, 19 + 1295]  # each frame completed exactly at its last byte
    assert [len(r.data) for r in got] == [8, 1284]


def test_frames_fed_one_byte_at_a_time():
    raw = v.frame(v.REPLY_FIND_OK) + v.frame(v.REPLY_SELECT_OK)
    parser = FrameParser()
    got = [r for i in range(len(raw)) for r in parser.feed(raw[i:i + 1])]
    assert [r.sw3 for r in got] == [0x9F, 0x90]


def test_two_frames_in_one_chunk():
    replies = FrameParser().feed(v.frame(v.REPLY_FIND_FAILED) + v.frame(v.REPLY_READ_FAILED))
    assert [r.sw3 for r in replies] == [0x80, 0x41]


def test_reply_repr_hides_data():
    [reply] = FrameParser().feed(v.read_reply(v.resident_block()))
    assert "1101" not in repr(reply) and "data_len=1284" in repr(reply)


def test_reply_fits_only_the_command_it_can_answer():
    [find_ok] = FrameParser().feed(v.frame(v.REPLY_FIND_OK))
    [select_ok] = FrameParser().feed(v.frame(v.REPLY_SELECT_OK))
    [plain_ok] = FrameParser().feed(v.frame(v.REPLY_OK))
    [sam_fault] = FrameParser().feed(v.reply(0x60))
    [read_ok] = FrameParser().feed(v.read_reply(v.resident_block()))
    assert protocol.reply_fits(Command.FIND_CARD, find_ok)
    assert not protocol.reply_fits(Command.SELECT_CARD, find_ok)  # a late find reply is not a select answer
    assert protocol.reply_fits(Command.SELECT_CARD, select_ok)
    assert not protocol.reply_fits(Command.READ_TEXT_PHOTO, select_ok)
    assert protocol.reply_fits(Command.READ_TEXT_PHOTO, read_ok)
    assert not protocol.reply_fits(Command.SAM_STATUS, select_ok) and protocol.reply_fits(Command.SAM_STATUS, plain_ok)
    assert protocol.reply_fits(None, plain_ok) and not protocol.reply_fits(None, find_ok)
    assert all(protocol.reply_fits(c, sam_fault) for c in Command)
