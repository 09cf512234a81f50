"""A typed notice (`kiosk.services.notice.Notice`) for receipt and printer tests, built the way the commit
service builds one: masked applicant, one case (or several for a 一件事一次办 notice)."""
from __future__ import annotations

from drivers.masking import mask_name
from kiosk.services.notice import Notice, NoticeCase, NoticeStage, PickupPlace


def notice_case(code: str, *, stage: NoticeStage = NoticeStage.ACCEPTED,
                item_name: str = "居民身份证申领（换领、补领）",
                case_no: str | None = "SL-2026-000123", promised_by: str | None = "2026-12-01",
                promised_days: int = 5, originals: tuple[str, ...] = ("居民户口簿",),
                pickup: PickupPlace = PickupPlace("window", "户政窗口 1楼 3-5号窗口")) -> NoticeCase:
    return NoticeCase(item_code="511900-GG-0001", item_name=item_name, situation_name="首次申领",
                      authority="示例市公安局", query_code=code, case_no=case_no if stage is not NoticeStage.PENDING
                      else None, stage=stage, promised_days=promised_days,
                      promised_by=promised_by if stage is NoticeStage.ACCEPTED else None, originals=originals,
                      pickup=pickup)


def sample_notice(*codes: str, name: str = "张三丰", stage: NoticeStage = NoticeStage.ACCEPTED,
                  agent: str | None = None, bundle: str | None = None, submitted_at: str | None = "2026-11-24 15:30",
                  hotline: str = "12345") -> Notice:
    return Notice(cases=tuple(notice_case(code, stage=stage) for code in codes), applicant_masked=mask_name(name),
                  site_name="示例市政务服务中心", hotline=hotline, submitted_at=submitted_at,
                  channel="agent" if agent else "self", agent_masked=mask_name(agent) if agent else None,
                  bundle_name=bundle)
