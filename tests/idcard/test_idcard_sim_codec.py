"""The simulator's own codec and reader behaviour against the same document vectors (no driver code here)."""
from __future__ import annotations

import pytest

from simulators.idcard import wire
from simulators.idcard.cards import encode_text, make_card
from simulators.idcard.device import ReaderDevice
from simulators.idcard.server import parse_fault
from tests.idcard import vectors as v

EXPECTED = {
    "reset_sam": (0x10, 0xFF, b""), "sam_status": (0x11, 0xFF, b""), "read_sam_id": (0x12, 0xFF, b""),
    "find": (0x20, 0x01, b""), "select": (0x20, 0x02, b""), "read_text_photo": (0x30, 0x01, b""),
    "read_appended_address": (0x30, 0x03, b""), "read_fingerprint": (0x30, 0x10, b""),
    "set_max_rf_frame": (0x61, 0xFF, b"\x50"),
}

RESIDENT = {"name": "阿·买买提", "gender_code": "2", "nation_code": "05", "birth": "19491231",
            "address": "北京市朝阳区示例路1号", "id_number": "11010519491231002X", "authority": "北京市公安局朝阳分局",
            "valid_from": "20100101", "valid_to": "长期", "card_type": ""}
HMT = {"name": "陈大文", "gender_code": "1", "nation_code": "", "birth": "19800101",
       "address": "香港特别行政区示例道8号", "id_number": "810000198001010014", "authority": "深圳市公安局",
       "valid_from": "20200101", "valid_to": "20250101", "pass_number": "H12345678", "issue_count": "01",
       "card_type": "J"}
FOREIGNER_2017 = {"name_en": "SMITH, JOHN", "gender_code": "1", "id_number": "CAN110079012345",
                  "nationality": "CAN", "name": "约翰", "valid_from": "20170601", "valid_to": "20270601",
                  "birth": "19790112", "version": "01", "authority": "1500", "card_type": "I"}
FOREIGNER_2023 = {"name": "玛丽亚", "gender_code": "2", "renewal_count": "00", "birth": "19850315",
                  "name_en": "GARCIA LOPEZ, MARIA DEL CARMEN ISABEL", "id_number": "932110198503150014",
                  "valid_from": "20230401", "valid_to": "20330401", "nationality": "ESP", "card_type": "Y"}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_splitter_reads_every_documented_command(name):
    [cmd] = wire.CommandSplitter().push(v.frame(v.COMMANDS[name]))
    assert isinstance(cmd, wire.HostCommand)
    assert (cmd.cmd, cmd.para, cmd.data) == EXPECTED[name]
    assert cmd.wire_size == len(v.frame(v.COMMANDS[name]))


@pytest.mark.parametrize("nn", sorted(v.BAUD_PARAMS.values()))
def test_splitter_reads_set_baud(nn):
    [cmd] = wire.CommandSplitter().push(v.PRE + bytes((0, 3, 0x60, nn, 0x63 ^ nn)))
    assert isinstance(cmd, wire.HostCommand)
    assert (cmd.cmd, cmd.para) == (0x60, nn)


def test_reply_frames_match_the_document():
    assert wire.reply_frame(0x90) == v.frame(v.REPLY_OK)
    assert wire.reply_frame(0x9F, bytes(4)) == v.frame(v.REPLY_FIND_OK)
    assert wire.reply_frame(0x80) == v.frame(v.REPLY_FIND_FAILED)
    assert wire.reply_frame(0x90, bytes(8)) == v.frame(v.REPLY_SELECT_OK)
    assert wire.reply_frame(0x41) == v.frame(v.REPLY_READ_FAILED)


def test_splitter_skips_noise_and_handles_fragments():
    stream = b"\x01\xAA\x96" + v.frame(v.COMMANDS["find"]) + v.frame(v.COMMANDS["select"])
    splitter = wire.CommandSplitter()
    got = [c for i in range(len(stream)) for c in splitter.push(stream[i:i + 1])]
    # A frame error among them would stay in the list and fail the comparison.
    assert [(c.cmd, c.para) if isinstance(c, wire.HostCommand) else c for c in got] == [(0x20, 0x01), (0x20, 0x02)]


def test_host_checksum_and_length_errors():
    bad_sum = bytearray(v.frame(v.COMMANDS["find"]))
    bad_sum[-1] ^= 0xFF
    [err] = wire.CommandSplitter().push(bytes(bad_sum))
    assert err == wire.HostFrameError(0x10, 10)
    [err] = wire.CommandSplitter().push(v.PRE + b"\x01\x00\x20\x01")
    assert isinstance(err, wire.HostFrameError)
    assert err.sw3 == 0x11
    device = ReaderDevice([])
    assert device.handle(err).frame == wire.reply_frame(0x11)


def _run(device: ReaderDevice, name: str) -> bytes:
    [cmd] = wire.CommandSplitter().push(v.frame(v.COMMANDS[name]))
    return device.handle(cmd).frame


def _sw3(frame: bytes) -> int:
    return frame[9]


def test_length_not_fitting_the_command_and_unknown_commands():
    device = ReaderDevice([])
    long_find = v.PRE + b"\x00\x04\x20\x01\x00" + bytes((0x04 ^ 0x20 ^ 0x01,))
    [cmd] = wire.CommandSplitter().push(long_find)
    assert _sw3(device.handle(cmd).frame) == 0x11
    for code, para in ((0x30, 0x05), (0x60, 0x05), (0x77, 0x01)):
        body = bytes((0, 3, code, para))
        [c] = wire.CommandSplitter().push(v.PRE + body + bytes((v.xor(body),)))
        assert _sw3(device.handle(c).frame) == 0x21


def test_sequence_find_select_read_then_halted_until_the_card_leaves():
    device = ReaderDevice([make_card(RESIDENT, 0)])
    assert _sw3(_run(device, "find")) == 0x80
    device.present(0)
    assert _sw3(_run(device, "select")) == 0x81  # never found: not activated
    assert _sw3(_run(device, "read_text_photo")) == 0x21  # not selected: sequence error
    assert _run(device, "find") == v.frame(v.REPLY_FIND_OK)
    assert _run(device, "select") == v.frame(v.REPLY_SELECT_OK)
    read = _run(device, "read_text_photo")
    assert len(read) == 1295 and read[5:14] == bytes.fromhex("05 08 00 00 90 01 00 04 00")
    assert read[14:14 + 256] == v.resident_block()
    assert _sw3(_run(device, "find")) == 0x80  # halted after the read
    assert _sw3(_run(device, "select")) == 0x90  # still in the field
    device.remove()
    assert _sw3(_run(device, "select")) == 0x81
    device.present(0)
    assert _sw3(_run(device, "find")) == 0x9F  # left and came back


def test_removal_mid_sequence_gives_81_and_41_with_optional_card_status():
    device = ReaderDevice([make_card(RESIDENT, 0)])
    device.present(0)
    _run(device, "find")
    _run(device, "select")
    device.remove()
    assert _run(device, "read_text_photo") == v.frame(v.REPLY_READ_FAILED)
    device.apdu_status = True
    device.present(0)
    _run(device, "find")
    device.remove()
    frame = _run(device, "select")
    assert frame[7:10] == bytes((0x6A, 0x82, 0x81))


def test_sam_fault_until_reset_and_sam_id():
    device = ReaderDevice([])
    device.sam_fault = 0x66
    assert _sw3(_run(device, "find")) == 0x66 and _sw3(_run(device, "sam_status")) == 0x66
    assert _run(device, "reset_sam") == v.frame(v.REPLY_OK)
    assert _sw3(_run(device, "find")) == 0x80
    assert len(_run(device, "read_sam_id")) == 27


def test_fingerprint_and_appended_address():
    device = ReaderDevice([make_card({**RESIDENT, "fingerprint": 512, "appended_address": "新地址路2号"}, 0),
                           make_card(RESIDENT, 1)])
    device.present(0)
    _run(device, "find")
    _run(device, "select")
    assert len(_run(device, "read_fingerprint")) == 1809
    assert _run(device, "read_appended_address") == v.reply(0x90, v.ucs2("新地址路2号", 70))
    device.present(1)
    _run(device, "find")
    _run(device, "select")
    assert _sw3(_run(device, "read_appended_address")) == 0x91


@pytest.mark.parametrize("person,block", [
    (RESIDENT, v.resident_block()), (HMT, v.hmt_block()), (FOREIGNER_2017, v.foreigner_2017_block()),
    (FOREIGNER_2023, v.foreigner_2023_block()), ({**RESIDENT, "card_type": "Z"}, v.resident_block("Z")),
])
def test_text_block_encoding_matches_hand_built_layouts(person, block):
    assert encode_text(person) == block


def test_overlong_field_is_refused():
    with pytest.raises(ValueError):
        encode_text({**RESIDENT, "name": "长" * 16})


def test_fault_specs():
    assert parse_fault("badsum") == ("badsum", "any")
    assert parse_fault("truncate:read") == ("truncate", "read")
    for bad in ("melt", "noise:write"):
        with pytest.raises(ValueError):
            parse_fault(bad)
