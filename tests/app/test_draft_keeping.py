"""Nothing a person entered is thrown away without asking (issue 10), on the server's side: a draft is kept
while the card is away until the person answers or the inactivity reset; camera pages are retaken in
place, deleted and moved; the result names the originals to bring; 我的办件 offline shows the cached list
with its age and the notices printed here, in the words of the paper."""
from __future__ import annotations

import pytest

from kiosk.services import ServiceError
from kiosk.session import Role
from tests.app.doubles import ALICE, BOB
from tests.app.test_flow_services import VIEW
from tests.app.test_submit_service import ITEM, SITUATION, fill

DRAFT = "card:draft"


def draft_then_card_removed(world):
    """ALICE starts a submission, then her card leaves the reader."""
    world.ctx.sessions.card_present(ALICE)
    world.services.submit.start(ITEM, SITUATION)
    world.ctx.sessions.card_removed()


def test_card_removal_keeps_the_draft_until_the_person_answers(world):
    sessions = world.ctx.sessions
    draft_then_card_removed(world)
    session = sessions.current
    assert session.card_away and DRAFT in session.flow and session.role is Role.CITIZEN
    held = [e for e in world.events if e["type"] == "card.removed"][-1]
    assert held["held"] is True and held["ended"] is False and ALICE.id_number not in repr(held)
    with pytest.raises(ServiceError) as refused:  # nothing goes on for an absent card
        world.services.submit.view()
    assert refused.value.code == "card_away"

    sessions.card_present(ALICE)  # the same card comes back: the draft goes on
    assert not session.card_away and world.services.submit.view()["item"]["code"] == ITEM

    sessions.card_removed()
    sessions.confirm_card_removed()  # 放弃申请
    assert session.card is None and DRAFT not in session.flow and not session.card_away
    assert world.events[-1]["type"] == "card.removed" and world.events[-1]["ended"] is True


def test_another_card_after_removal_never_inherits_the_draft(world):
    sessions = world.ctx.sessions
    draft_then_card_removed(world)
    sessions.card_present(BOB)
    assert DRAFT not in sessions.current.flow and not sessions.current.card_away
    with pytest.raises(ServiceError):
        world.services.submit.view()


def test_without_a_draft_removal_ends_the_card_flows_at_once(world):
    sessions = world.ctx.sessions
    sessions.card_present(ALICE)
    sessions.card_removed()
    assert sessions.current.card is None and world.events[-1]["ended"] is True


def test_the_inactivity_reset_wipes_a_kept_draft(world):
    sessions = world.ctx.sessions
    draft_then_card_removed(world)
    session = sessions.current
    world.clock.advance(61)
    sessions.tick()
    assert sessions.current is None and session.card is None and session.flow == {}


def test_pages_are_retaken_in_place_deleted_and_moved(world):
    world.ctx.sessions.card_present(ALICE)
    s = world.services.submit
    material = s.start(ITEM, SITUATION)["materials"][0]["code"]
    for _ in range(3):
        view = s.capture(material)
    ids = view["materials"][0]["page_ids"]
    assert len(set(ids)) == 3

    view = s.replace_page(material, 1)
    after = view["materials"][0]["page_ids"]
    assert after[0] == ids[0] and after[2] == ids[2] and after[1] not in ids and view["page"] == 1

    world.camera.reject_next = "blurred_page"
    with pytest.raises(ServiceError) as rejected:
        s.replace_page(material, 0)
    assert rejected.value.code == "capture_blurred_page"
    assert s.view()["materials"][0]["page_ids"] == after  # a failed retake keeps the page

    assert s.move_page(material, 2, 0)["materials"][0]["page_ids"] == [after[2], after[0], after[1]]
    assert s.delete_page(material, 1)["materials"][0]["page_ids"] == [after[2], after[1]]
    for bad in ((5, 0), (0, 7), (-1, 0)):
        with pytest.raises(ServiceError):
            s.move_page(material, *bad)
    with pytest.raises(ServiceError):
        s.delete_page(material, 2)


def test_the_result_names_the_originals_to_bring(world):
    world.ctx.sessions.card_present(ALICE)
    view = fill(world, paper=("M03",))
    paper = [m for m in view["materials"] if m["choice"] == "paper"]
    assert paper
    result = world.services.committer.commit()
    assert [b["code"] for b in result["bring"] if b["why"] == "paper"] == [m["code"] for m in paper]
    assert all(b["name"] and b["form"] for b in result["bring"])


def test_my_cases_offline_show_the_cache_with_its_age_and_the_notices_printed_here(world):
    world.ctx.sessions.card_present(ALICE)
    with_card = {**VIEW, "case_no": "SL-1", "query_code": "7KQ2M9XDPA4TH6WRP",
                 "applicant": {"name": "张三丰", "phone": "13800000000"}}
    world.sync.online = False
    with pytest.raises(ServiceError) as offline:  # nothing known here at all
        world.services.query.my_cases()
    assert offline.value.code == "offline"

    world.sync.listed_cache = ([with_card], 420.0)
    fill(world)
    notice = world.services.committer.commit()["notice"]
    answer = world.services.query.my_cases()
    assert answer["cached"] is True and answer["age_s"] == 420.0 and answer["offline"] is True
    cached, local = answer["cases"]
    assert cached["case_no"] == "SL-1" and cached["applicant"]["phone"] == "138****0000"
    # The case submitted here while offline, as its printed notice says it.
    assert local["status_label"] == "已提交，待平台确认" and local["query_code"] == notice["query_code"]
    assert local["query_code_display"] == notice["query_code_display"] and local["promised_by"] == notice["promised_by"]

    world.sync.online = True  # once central lists it, its own view replaces the local one
    world.sync.listed = [with_card, {**VIEW, "query_code": notice["query_code"], "applicant": {}}]
    answer = world.services.query.my_cases()
    assert answer["cached"] is False and len(answer["cases"]) == 2 and not any(c.get("local") for c in answer["cases"])
    world.ctx.sessions.card_present(BOB)  # another holder never sees ALICE's notices
    assert world.services.query.local_notices(world.ctx.sessions.current) == []
