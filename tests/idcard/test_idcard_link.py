"""The driver against the independent simulator over real ptys (and TCP): every card layout, the card
sequence, every fault kind, host frame errors and baud changes."""
from __future__ import annotations

import json

import pytest

from drivers.idcard import (
    CardRemoved,
    HostFrameRejected,
    IdCardReader,
    InvalidIdentity,
    LinkLost,
    NoCard,
    ProtocolError,
    SamFault,
    UnknownCardLayout,
    protocol,
)
from tests.idcard import fixtures as fx
from tests.idcard.conftest import QUICK

pytestmark = pytest.mark.integration


def sample(identities_file, index):
    return json.loads(identities_file.read_text(encoding="utf-8"))["identities"][index]


def test_every_sample_identity_reads_back_exactly(make_sim, open_reader, identities_file):
    sim = make_sim()
    reader = open_reader(sim.link.port)
    for index in range(8):
        sim.present(index)
        ident = reader.read_card()
        expected = sample(identities_file, index)
        assert ident.to_dict(reveal=True) == {k: expected[k] for k in ident.to_dict()}
        assert len(ident.photo) == 1024


def test_real_115200_pacing_and_bytes_exchanged(make_sim, open_reader, idcard_identities):
    sim = make_sim(time_scale=1.0)
    sim.present(0)
    reader = open_reader(sim.link.port)
    ident = reader.read_card()
    assert ident.id_number == "511902198806120319"
    assert (reader.bytes_sent, reader.bytes_received) == (30, 15 + 19 + 1295)


@pytest.mark.parametrize("offset,card_type,id_type,name", [
    (fx.LONG_TERM, "", "resident", "阿·买买提"), (fx.HMT, "J", "hmt_permit", "陈大文"),
    (fx.FOREIGNER_2017, "I", "foreigner", "约翰"), (fx.FOREIGNER_2023, "Y", "foreigner", "玛丽亚"),
])
def test_other_layouts(make_sim, open_reader, idcard_identities, offset, card_type, id_type, name):
    sim = make_sim()
    sim.present(idcard_identities[1] + offset)
    ident = open_reader(sim.link.port).read_card()
    assert (ident.card_type, ident.id_type, ident.name) == (card_type, id_type, name)


def test_long_term_card_with_abandoned_region_and_appended_address(make_sim, open_reader, idcard_identities):
    sim = make_sim()
    sim.present(idcard_identities[1] + fx.LONG_TERM)
    reader = open_reader(sim.link.port)
    ident = reader.read_card()
    assert ident.valid_to == "长期" and ident.id_number.startswith("512301")
    assert reader.read_appended_address() == "示例县新城路2号"
    sim.present(0)
    reader.read_card()
    assert reader.read_appended_address() is None


def test_unknown_flag_and_bad_check_number_are_never_returned(make_sim, open_reader, idcard_identities):
    sim = make_sim()
    reader = open_reader(sim.link.port)
    sim.present(idcard_identities[1] + fx.UNKNOWN_FLAG)
    with pytest.raises(UnknownCardLayout) as info:
        reader.read_card()
    assert len(info.value.raw_block) == 256 and info.value.flag == "Q"
    sim.present(idcard_identities[1] + fx.BAD_CHECK)
    with pytest.raises(InvalidIdentity):
        reader.read_card()


def test_card_must_leave_the_field_before_it_is_found_again(make_sim, open_reader):
    sim = make_sim()
    sim.present(2)
    reader = open_reader(sim.link.port)
    reader.read_card()
    with pytest.raises(NoCard):
        reader.read_card()
    assert reader.card_still_present()
    sim.remove()
    assert not reader.card_still_present()
    sim.present(2)
    assert reader.read_card().nation == "土家"


def test_no_card_waits_for_the_timeout_and_a_card_presented_meanwhile_is_read(make_sim, open_reader):
    sim = make_sim()
    reader = open_reader(sim.link.port)
    with pytest.raises(NoCard):
        reader.read_card(timeout=0.6)
    sim.present(3)
    assert reader.read_card(timeout=2.0).nation == "彝"


@pytest.mark.parametrize("apdu", [False, True])
def test_card_removed_mid_sequence(make_sim, open_reader, apdu):
    sim = make_sim(*(["apdu-status"] if apdu else []))
    reader = open_reader(sim.link.port)
    sim.present(0)
    reader.find_card()
    sim.remove()
    with pytest.raises(CardRemoved):
        reader.select_card()
    sim.present(0)
    reader.find_card()
    reader.select_card()
    sim.remove()
    with pytest.raises(CardRemoved):
        reader.read_selected()


@pytest.mark.parametrize("fault", ["noise", "fragment", "noise:read", "fragment:read"])
def test_noise_and_fragmentation_are_survived(make_sim, open_reader, fault):
    sim = make_sim(fault, time_scale=5.0)
    sim.present(1)
    reader = open_reader(sim.link.port)
    for _ in range(3):
        assert reader.read_card().id_number == "510107199903050262"
        sim.present(1)
    assert reader.parser.frames == 9


@pytest.mark.parametrize("fault,error", [
    ("badsum", ProtocolError), ("badsum:read", ProtocolError), ("truncate", ProtocolError),
    ("truncate:read", ProtocolError), ("silence", LinkLost), ("silence:select", LinkLost),
])
def test_corrupt_or_missing_replies_never_yield_an_identity(make_sim, open_reader, fault, error):
    sim = make_sim(fault)
    sim.present(0)
    reader = open_reader(sim.link.port, **QUICK)
    with pytest.raises(error):
        reader.read_card()
    sim.clear_faults()
    sim.present(0)
    assert reader.read_card().gender == "男"  # the link recovers once the fault is gone


def test_duplicated_replies_are_skipped(make_sim, open_reader):
    sim = make_sim("duplicate")
    reader = open_reader(sim.link.port)
    for index in (0, 1, 0):
        sim.present(index)
        assert reader.read_card().id_number == ("511902198806120319", "510107199903050262")[index]
    reader.sam_status()
    assert reader.parser.frames == 2 * (3 * 3 + 1) - 1  # every copy arrived and none was taken as an answer


def test_reply_after_the_deadline_does_not_answer_a_later_command(make_sim, open_reader):
    sim = make_sim("late:find")
    sim.present(3)
    reader = open_reader(sim.link.port, **QUICK)
    with pytest.raises(LinkLost, match="no reply"):
        reader.find_card()
    sim.clear_faults()
    reader.find_timeout = 2.0  # the simulator first finishes the late answer it is holding back
    assert reader.read_card().name == "吉克阿依"


def test_bad_reply_checksum_is_counted(make_sim, open_reader):
    sim = make_sim("badsum:find")
    sim.present(0)
    reader = open_reader(sim.link.port, **QUICK)
    with pytest.raises(ProtocolError, match="corrupt"):
        reader.find_card()
    assert reader.parser.checksum_errors == 1


@pytest.mark.parametrize("fault,sw3", [("sam-error", 0x60), ("sam-unauth", 0x66)])
def test_sam_fault_until_reset(make_sim, open_reader, fault, sw3):
    sim = make_sim(fault)
    sim.present(0)
    reader = open_reader(sim.link.port)
    for _ in range(2):
        with pytest.raises(SamFault, match=f"{sw3:02X}"):
            reader.read_card()
    reader.reset_sam()
    reader.sam_status()
    assert reader.read_card().name == "张伟"
    assert reader.read_sam_id().startswith("05.01-")


@pytest.mark.parametrize("frame,sw3", [
    (protocol.PREAMBLE + b"\x00\x03\x20\x01\x23", 0x10),  # bad CHK
    (protocol.PREAMBLE + b"\x00\x04\x20\x01\x00\x25", 0x11),  # Len does not fit the command
    (protocol.PREAMBLE + b"\x7F\x00", 0x11),  # impossible Len
    (protocol.build_frame(0x30, 0x05), 0x21),  # "MID": not implemented
    (protocol.build_frame(0x60, 0x09), 0x21),  # no such baud code
])
def test_host_frame_errors(make_sim, open_reader, frame, sw3):
    sim = make_sim()
    reader = open_reader(sim.link.port)
    reply = reader.send_raw(frame, timeout=1.0)
    assert reply.sw3 == sw3
    assert isinstance(protocol.error_for(reply), HostFrameRejected)


@pytest.mark.parametrize("reply_at_new_baud", [False, True])
def test_baud_change_with_reply_at_old_or_new_rate(make_sim, open_reader, reply_at_new_baud):
    sim = make_sim(reply_at_new_baud=reply_at_new_baud)
    sim.present(5)
    reader = open_reader(sim.link.port)
    reader.set_baud(57600)
    assert sim.baud == 57600 and reader.baudrate == 57600
    assert reader.read_card().birth == "20150808"
    reader.set_baud(115200)
    assert sim.baud == 115200


def test_over_tcp(make_sim, open_reader):
    sim = make_sim("fragment", link="tcp:127.0.0.1:0")
    assert sim.link.port.startswith("socket://127.0.0.1:")
    sim.present(6)
    assert open_reader(sim.link.port).read_card().id_number.endswith("109X")


def test_missing_port_and_vanished_port_are_link_lost(make_sim, tmp_path):
    with pytest.raises(LinkLost):
        IdCardReader(str(tmp_path / "no-such-port")).open()
    sim = make_sim()
    reader = IdCardReader(sim.link.port, **QUICK).open()
    try:
        sim.stop()
        sim.link.close()
        with pytest.raises(LinkLost):
            reader.read_card()
        assert not reader.is_open
    finally:
        reader.close()


def test_reader_accepts_an_open_port_and_leaves_it_open(make_sim):
    import serial
    sim = make_sim()
    sim.present(0)
    port = serial.serial_for_url(sim.link.port, baudrate=115200, timeout=0)
    try:
        with IdCardReader(port) as reader:
            assert reader.read_card().name == "张伟"
        assert port.is_open
    finally:
        port.close()


def test_nothing_personal_reaches_the_logs_or_error_messages(make_sim, open_reader, idcard_identities, caplog,
                                                             identities_file):
    caplog.set_level("DEBUG", logger="drivers.idcard")
    sim = make_sim("noise")
    reader = open_reader(sim.link.port)
    messages = []
    for index in (0, idcard_identities[1] + fx.UNKNOWN_FLAG, idcard_identities[1] + fx.BAD_CHECK):
        sim.present(index)
        try:
            reader.read_card()
        except Exception as exc:  # the messages of expected failures are checked below
            messages.append(str(exc) + repr(exc))
    assert any(r.getMessage().startswith("idcard READ_TEXT_PHOTO: SW3 90") for r in caplog.records)
    text = "\n".join(messages + [r.getMessage() for r in caplog.records])
    people = json.loads(identities_file.read_text(encoding="utf-8"))["identities"][:1] + \
        [fx.EXTRA[fx.UNKNOWN_FLAG], fx.EXTRA[fx.BAD_CHECK]]
    for person in people:
        for key in ("name", "id_number", "address"):
            assert person[key] not in text
