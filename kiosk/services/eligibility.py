"""Conditions a machine can check before a submission (申报条件预检): the applicant's age from the ID card
against the situation, and the kind of card the situation accepts. Each refusal says why and what to do."""
from __future__ import annotations

from datetime import date
from typing import Any

from kiosk.catalog.details import SituationRule
from kiosk.services import ServiceError

ID_TYPE_NAMES = {"resident": "居民身份证", "hmt_permit": "港澳台居民居住证", "foreigner": "外国人永久居留身份证"}


def birth_date(identity: Any) -> date | None:
    """From the card's birth field (YYYYMMDD), else from digits 7–14 of an 18-digit resident number."""
    text = str(getattr(identity, "birth", "") or "")
    if len(text) != 8:
        number = str(getattr(identity, "id_number", "") or "")
        text = number[6:14] if len(number) == 18 else ""
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        return None


def age_on(born: date, day: date) -> int:
    """Full years on ``day`` (a birthday counts from that day on)."""
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def check_applicant(identity: Any, rule: SituationRule, today: date, situation_name: str) -> None:
    """Raises ServiceError("not_eligible") with a clear explanation when the card holder cannot apply for
    this situation here."""
    id_type = str(getattr(identity, "id_type", "resident"))
    if rule.id_types and id_type not in rule.id_types:
        accepted = "、".join(ID_TYPE_NAMES.get(t, t) for t in rule.id_types)
        raise ServiceError("not_eligible", f"“{situation_name}”只受理{accepted}，读到的是"
                           f"{ID_TYPE_NAMES.get(id_type, '其他证件')}，不能在本机提交。请带证件到窗口咨询。", 409)
    if rule.min_age is None and rule.max_age is None:
        return
    born = birth_date(identity)
    if born is None:
        raise ServiceError("not_eligible", f"“{situation_name}”有年龄要求，本机读不出出生日期，请到窗口办理。", 409)
    age = age_on(born, today)
    if rule.min_age is not None and age < rule.min_age:
        raise ServiceError("not_eligible", f"“{situation_name}”要求申请人年满{rule.min_age}周岁。"
                           f"身份证显示申请人今年{age}周岁，未满{rule.min_age}周岁，不能提交。"
                           "请由符合条件的人（如监护人）办理，或到窗口咨询。", 409)
    if rule.max_age is not None and age > rule.max_age:
        raise ServiceError("not_eligible", f"“{situation_name}”要求申请人不超过{rule.max_age}周岁，"
                           f"身份证显示申请人{age}周岁，不能提交。请到窗口咨询。", 409)
