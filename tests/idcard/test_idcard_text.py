"""Text-block layouts, code tables, ID-number check and the masked ``Identity`` value."""
from __future__ import annotations

import copy
import pickle

import pytest

from drivers.idcard import idnumber
from drivers.idcard.codes import GENDERS, NATIONS, gender_name, nation_name
from drivers.idcard.errors import InvalidIdentity, UnknownCardLayout
from drivers.idcard.identity import PUBLIC_KEYS, identity_from_text_block
from drivers.idcard.text_block import CardLayout, decode_text_block
from tests.idcard import vectors as v


def test_long_term_valid_to_bytes_match_the_document():
    block = v.resident_block()
    assert block[204:220] == bytes.fromhex("7F951F67") + b" \x00" * 6
    assert block[30:32] == b"2\x00" and block[32:36] == bytes.fromhex("30003500")


def test_resident_block_decodes_with_middle_dot_name_and_long_term():
    tb = decode_text_block(v.resident_block())
    assert tb.layout is CardLayout.RESIDENT
    ident = identity_from_text_block(tb, b"\x01" * 1024)
    assert ident.name == "阿·买买提"
    assert (ident.gender, ident.gender_code, ident.nation, ident.nation_code) == ("女", "2", "维吾尔", "05")
    assert (ident.birth, ident.valid_from, ident.valid_to) == ("19491231", "20100101", "长期")
    assert ident.id_number == "11010519491231002X" and ident.card_type == "" and ident.id_type == "resident"
    assert ident.address == "北京市朝阳区示例路1号" and ident.authority == "北京市公安局朝阳分局"


def test_hmt_residence_permit_layout():
    ident = identity_from_text_block(decode_text_block(v.hmt_block()))
    assert ident.card_type == "J" and ident.id_type == "hmt_permit"
    assert ident.id_number.startswith("81") and ident.nation == "" and ident.name == "陈大文"
    assert decode_text_block(v.hmt_block()).fields["pass_number"] == "H12345678"


def test_foreigner_2017_layout():
    ident = identity_from_text_block(decode_text_block(v.foreigner_2017_block()))
    assert ident.card_type == "I" and ident.id_type == "foreigner"
    assert (ident.name, ident.name_en, ident.nation_code) == ("约翰", "SMITH, JOHN", "CAN")
    assert (ident.birth, ident.valid_to, ident.gender) == ("19790112", "20270601", "男")


def test_foreigner_2023_layout_joins_the_english_name():
    ident = identity_from_text_block(decode_text_block(v.foreigner_2023_block()))
    assert ident.card_type == "Y" and ident.name == "玛丽亚"
    assert ident.name_en == "GARCIA LOPEZ, MARIA DEL CARMEN ISABEL" and ident.nation == "ESP"
    assert ident.gender == "女"


def test_foreigner_number_with_wrong_format_is_rejected():
    with pytest.raises(InvalidIdentity):
        identity_from_text_block(decode_text_block(v.foreigner_2023_block(number="932110850315001X")))


def test_unknown_flag_keeps_the_raw_block():
    block = v.resident_block(flag="Z")
    tb = decode_text_block(block)
    assert tb.layout is CardLayout.UNKNOWN and tb.raw == block and tb.fields == {}
    with pytest.raises(UnknownCardLayout) as info:
        identity_from_text_block(tb)
    assert info.value.raw_block == block and info.value.flag == "Z"
    assert "1101" not in str(info.value)


def test_wrong_check_character_is_never_returned():
    block = v.resident_block().replace(v.ucs2("11010519491231002X", 36), v.ucs2("110105194912310021", 36))
    with pytest.raises(InvalidIdentity):
        identity_from_text_block(decode_text_block(block))


def test_birth_not_matching_the_number_is_rejected():
    block = v.resident_block().replace(v.ucs2("19491231", 16), v.ucs2("19491230", 16))
    with pytest.raises(InvalidIdentity):
        identity_from_text_block(decode_text_block(block))


def test_garbled_characters_never_crash_decoding():
    block = bytearray(v.resident_block())
    block[0:4] = b"\x00\xD8\x41\x00"  # lone surrogate then "A"
    block[4:6] = b"\x01\xE0"  # private-use U+E001 (a rare character)
    fields = decode_text_block(bytes(block)).fields
    assert "\ufffd" in fields["name"] and "\ue001" in fields["name"]


def test_block_of_wrong_size_is_refused():
    with pytest.raises(ValueError):
        decode_text_block(bytes(255))


def test_gender_table_is_explicit():
    assert GENDERS == {"0": "未知", "1": "男", "2": "女", "9": "未说明"}
    assert gender_name("3") == "3"


@pytest.mark.parametrize("code,name", [
    ("01", "汉"), ("02", "蒙古"), ("15", "土家"), ("20", "傈僳"), ("22", "\u7572"), ("36", "毛南"),
    ("43", "乌孜别克"), ("46", "德昂"), ("56", "基诺"), ("97", "其他"), ("98", "外国血统中国籍人士"),
])
def test_nation_table_uses_the_correct_names(code, name):
    assert nation_name(code) == name


def test_nation_table_is_complete_and_free_of_known_errors():
    assert len(NATIONS) == 58 and "00" not in NATIONS
    names = set(NATIONS.values())
    assert not names & {"德昴", "崩龙", "毛难", "乌兹别克", "僳僳", "\u756c"}
    assert nation_name("57") == "57" and nation_name("00") == "00"


@pytest.mark.parametrize("number", ["11010519491231002X", "440524188001010014", "11010519491231002x"])
def test_id_number_vectors_pass(number):
    assert idnumber.is_valid(number)
    assert idnumber.validate(number) == number.upper()


def test_check_character_table():
    assert idnumber.WEIGHTS == (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    assert idnumber.check_character("11010519491231002") == "X"
    assert idnumber.check_character("44052418800101001") == "4"


@pytest.mark.parametrize("number", ["110105194912310021", "44052418800101001X", "1101051949123100", "",
                                    "11010519491231002Y", "1101051949123100２X"])
def test_bad_id_numbers_fail(number):
    assert not idnumber.is_valid(number)
    with pytest.raises(idnumber.InvalidIdNumber):
        idnumber.validate(number)


def test_every_single_digit_change_is_detected():
    good = "440524188001010014"
    for pos in range(18):
        for digit in "0123456789X":
            if digit != good[pos]:
                assert not idnumber.is_valid(good[:pos] + digit + good[pos + 1:])


def test_identity_masks_itself_and_refuses_pickling():
    ident = identity_from_text_block(decode_text_block(v.resident_block()), b"\x07" * 1024)
    text = repr(ident) + str(ident) + f"{ident}"
    assert "11010519491231002X" not in text and "买买提" not in text and "朝阳区示例路" not in text
    assert "1101**********002X" in text
    with pytest.raises(TypeError):
        pickle.dumps(ident)
    assert copy.deepcopy({"who": ident})["who"] is ident


def test_to_dict_has_exactly_the_public_keys_and_masks_unless_revealed():
    ident = identity_from_text_block(decode_text_block(v.resident_block()), b"\x07" * 1024)
    masked, full = ident.to_dict(), ident.to_dict(reveal=True)
    assert tuple(masked) == PUBLIC_KEYS == tuple(full)
    assert masked["id_number"] == "1101**********002X" and masked["address"].startswith("北京市朝阳区")
    assert "示例路" not in masked["address"]
    assert full["id_number"] == "11010519491231002X" and full["address"] == "北京市朝阳区示例路1号"
    assert b"\x07" not in str(full).encode()
