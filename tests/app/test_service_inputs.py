"""Parsers of outside data the services added, under hypothesis: the catalog's service fields (from
central), a mail address and an evaluation typed on screen, the age read from a card — each gives a value
or a clear refusal (CatalogError / ServiceError), never another exception."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.catalog import CatalogError
from kiosk.catalog.details import SituationRule
from kiosk.catalog.extras import parse_extras, parse_service_fields
from kiosk.services import ServiceError
from kiosk.services.draft import MailAddress
from kiosk.services.eligibility import age_on, birth_date, check_applicant
from kiosk.services.query import actions

JSON = st.recursive(st.none() | st.booleans() | st.integers(-5, 300) | st.text(max_size=12),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                               max_size=4), max_leaves=16)
ITEM_KEYS = st.sampled_from(["fee_basis", "intermediary_services", "prerequisites", "targets", "window", "village",
                             "window_check", "online_level", "situations"])
SITUATION_KEYS = st.sampled_from(["code", "min_age", "max_age", "id_types", "authorization"])


@settings(max_examples=300, deadline=None)
@given(item=st.dictionaries(ITEM_KEYS, JSON, max_size=6),
       situations=st.lists(st.dictionaries(SITUATION_KEYS, JSON, max_size=5), max_size=3))
def test_item_details_parse_or_name_the_fault(item, situations):
    raw = {**item, "situations": situations} if situations else item
    try:
        details = parse_service_fields(raw, "item X")
    except CatalogError as exc:
        assert "item X" in str(exc)
    else:
        assert isinstance(details.window_check, bool)


@settings(max_examples=300, deadline=None)
@given(raw=st.dictionaries(st.sampled_from(["village_points", "bundles", "items"]), JSON, max_size=3))
def test_village_points_and_bundles_parse_or_name_the_fault(raw):
    try:
        extras = parse_extras(raw)
    except CatalogError:
        return
    assert all(len(b.items) >= 2 for b in extras.bundles)


@settings(max_examples=300, deadline=None)
@given(raw=JSON | st.dictionaries(st.sampled_from(["recipient", "phone", "province", "city", "county", "street",
                                                   "detail", "postcode"]), JSON | st.text(max_size=80), max_size=8))
def test_mail_address_is_a_value_or_a_villager_message(raw):
    try:
        address = MailAddress.from_input(raw)
    except ServiceError as exc:
        assert exc.status == 400 and exc.message
    else:
        assert address.phone.isdigit() and "****" in address.masked_text()


@dataclass(frozen=True)
class Holder:
    id_number: str
    birth: str = ""
    id_type: str = "resident"


@settings(max_examples=300, deadline=None)
@given(number=st.text(max_size=20), birth=st.text(max_size=10), id_type=st.text(max_size=12),
       low=st.none() | st.integers(0, 120), high=st.none() | st.integers(0, 120))
def test_conditions_from_any_card_are_checked_or_explained(number, birth, id_type, low, high):
    rule = SituationRule(min_age=low, max_age=high, id_types=("resident",))
    try:
        check_applicant(Holder(number, birth, id_type), rule, date(2026, 11, 24), "情形")
    except ServiceError as exc:
        assert exc.code == "not_eligible" and "情形" in exc.message


def test_age_counts_from_the_birthday_and_the_card_number():
    assert birth_date(Holder("500107201508080531")) == date(2015, 8, 8)
    assert birth_date(Holder("x", birth="19990305")) == date(1999, 3, 5)
    assert age_on(date(2008, 11, 24), date(2026, 11, 24)) == 18 and age_on(date(2008, 11, 25), date(2026, 11, 24)) == 17
    with pytest.raises(ServiceError):
        check_applicant(Holder("500107201508080531"), SituationRule(min_age=18), date(2026, 11, 24), "成年人")


def test_urge_is_prominent_on_yellow_and_red_steps_only():
    view: dict[str, Any] = {"status": "in_review",
                            "steps": [{"state": "done", "light": "red"}, {"state": "active", "light": "green"}]}
    assert actions(view)["urge"] and not actions(view)["urge_prominent"]
    view["steps"][1]["light"] = "yellow"
    assert actions(view)["urge_prominent"] and not actions(view)["withdraw"]
    assert actions({"status": "received", "steps": []})["withdraw"]
    assert actions({"status": "correction_needed", "steps": []})["correct"]
    done = actions({"status": "picked_up", "steps": []})
    assert not done["urge"] and done["complain"] and done["print_acceptance"]
