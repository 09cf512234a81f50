"""Synthetic identities for driver ⇄ simulator tests (hardware doc §11.9): the shared sample plus an HMT
permit, both foreigner layouts, a 长期 card with a `·` name and an abandoned region code, an unknown flag,
a number failing its check, and cards with fingerprint and appended address."""
from __future__ import annotations

import json
from pathlib import Path

EXTRA = [
    {"name": "阿·买买提", "gender_code": "1", "nation_code": "05", "birth": "19600101",
     "address": "新疆维吾尔自治区示例县示例乡1号", "id_number": "512301196001010019", "authority": "示例县公安局",
     "valid_from": "20100101", "valid_to": "长期", "card_type": "", "fingerprint": 512,
     "appended_address": "示例县新城路2号"},
    {"name": "陈大文", "gender_code": "1", "nation_code": "", "birth": "19800101",
     "address": "香港特别行政区示例道8号", "id_number": "810000198001010014", "authority": "深圳市公安局",
     "valid_from": "20200101", "valid_to": "20250101", "pass_number": "H12345678", "issue_count": "01",
     "card_type": "J"},
    {"name_en": "SMITH, JOHN", "gender_code": "1", "id_number": "CAN110079012345", "nationality": "CAN",
     "name": "约翰", "valid_from": "20170601", "valid_to": "20270601", "birth": "19790112", "version": "01",
     "authority": "1500", "card_type": "I"},
    {"name": "玛丽亚", "gender_code": "2", "renewal_count": "00", "birth": "19850315",
     "name_en": "GARCIA LOPEZ, MARIA DEL CARMEN ISABEL", "id_number": "932110198503150014",
     "valid_from": "20230401", "valid_to": "20330401", "nationality": "ESP", "card_type": "Y",
     "fingerprint": 1024},
    {"name": "王五", "gender_code": "9", "nation_code": "99", "birth": "19900101", "address": "示例地址",
     "id_number": "110105199001010010", "authority": "示例局", "valid_from": "20100101",
     "valid_to": "20300101", "card_type": "Q"},
    {"name": "赵六", "gender_code": "1", "nation_code": "01", "birth": "19490101", "address": "示例地址",
     "id_number": "110105194901010012", "authority": "示例局", "valid_from": "20100101",
     "valid_to": "20300101", "card_type": ""},
]
LONG_TERM, HMT, FOREIGNER_2017, FOREIGNER_2023, UNKNOWN_FLAG, BAD_CHECK = range(6)


def write_identities(shared_sample: Path, directory: Path) -> tuple[Path, int]:
    """The sample identities followed by EXTRA in one file; returns the file and EXTRA's first index."""
    sample = json.loads(shared_sample.read_text(encoding="utf-8"))["identities"]
    path = directory / "identities.json"
    path.write_text(json.dumps({"identities": sample + EXTRA}, ensure_ascii=False), encoding="utf-8")
    return path, len(sample)
