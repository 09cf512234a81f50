"""Consult (no identification): browse, search, the item page and the printed checklist (一次性告知单)."""
from __future__ import annotations

from typing import Any

from drivers.scanner.receipt_code import NOTICE_HOST
from kiosk.catalog import Item
from kiosk.ports import PrintFailed
from kiosk.services import Context, ServiceError

ITEM_URL = f"https://{NOTICE_HOST}/item/"
PRINT_MESSAGES = {
    "paper_out": "打印机缺纸，没有打印出来。请联系工作人员加纸后再打印。",
    "cover_open": "打印机盖没有关好，没有打印出来。请联系工作人员。",
    "no_printer": "这台终端没有打印机，请用手机拍下本页内容。",
}
PRINT_DEFAULT = "打印没有成功，请稍后再试，或联系工作人员。"
NO_RESULT = "没有找到“{query}”相关的事项。可以按下面的分类查找，或点“呼叫工作人员”请工作人员帮忙。"
EMPTY_QUERY = "请输入事项名称、拼音或首字母，也可以按下面的分类查找，或点“呼叫工作人员”。"


def print_message(code: str) -> str:
    return PRINT_MESSAGES.get(code, PRINT_DEFAULT)


class ConsultService:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def home(self) -> dict[str, Any]:
        return self.ctx.catalog().home()

    def browse(self, by: str, code: str) -> dict[str, Any]:
        """Items of a category, theme or department. Raises ServiceError for an unknown list."""
        catalog = self.ctx.catalog()
        if by == "category" and code in catalog.categories:
            title, items = catalog.categories[code].name, catalog.by_category(code)
        elif by == "theme" and code in catalog.themes:
            title, items = catalog.themes[code]["name"], catalog.by_theme(code)
        elif by == "department" and code in catalog.departments:
            title, items = catalog.departments[code], catalog.by_department(code)
        else:
            raise ServiceError("not_found", "没有找到这个分类，请返回首页重新选择。", 404)
        return {"title": title, "items": [i.summary() for i in items]}

    def search(self, query: str) -> dict[str, Any]:
        """Items for what was typed (each item's summary plus ``match``: the term that found it). With
        none, ``no_result`` is true and the answer carries a message, the categories and themes to browse
        and ``call_staff`` — never a dead end."""
        query = query.strip()[:40]
        catalog = self.ctx.catalog()
        result = catalog.find(query)
        answer: dict[str, Any] = {"query": query, "items": [f.to_dict() for f in result.found],
                                  "no_result": result.no_result}
        if result.no_result:
            home = catalog.home()
            answer.update(message=NO_RESULT.format(query=query) if not result.query.empty else EMPTY_QUERY,
                          categories=home["categories"], themes=home["themes"], call_staff=True)
        return answer

    def item(self, code: str) -> Item:
        item = self.ctx.catalog().item(code)
        if item is None:
            raise ServiceError("not_found", "没有找到这个事项，请返回首页重新查找。", 404)
        return item

    def item_view(self, code: str) -> dict[str, Any]:
        catalog = self.ctx.catalog()
        item = self.item(code)
        view = catalog.item_view(item)
        view["can_self_submit"] = item.self_service and self.ctx.settings.self_service
        return view

    def checklist_data(self, code: str, situation: str | None) -> dict[str, Any]:
        """Plain data of the checklist slip for `kiosk.receipts.checklist_slip`."""
        catalog = self.ctx.catalog()
        item = self.item(code)
        situations = [s for s in item.situations if situation in (None, "", s.code)]
        if not situations:
            raise ServiceError("not_found", "没有找到这个情形，请重新选择。", 404)
        window = catalog.window_of(item)
        return {
            "item_code": item.code, "item_name": item.name,
            "department": catalog.departments.get(item.department, item.department),
            "situations": [s.to_dict() for s in situations],
            "statutory_days": item.statutory_days, "promised_days": item.promised_days,
            "fees": list(item.fees), "window": window, "online_level": item.online_level,
            "url": ITEM_URL + item.code, "site_name": self.ctx.settings.site_name,
            "hotline": self.ctx.settings.hotline, "catalog_version": catalog.version,
        }

    def print_checklist(self, code: str, situation: str | None) -> dict[str, Any]:
        """Print the checklist; consultation does not need a notice, so only the printer itself matters.
        Raises ServiceError with a villager message when the printer did not confirm."""
        devices = self.ctx.devices
        if devices.receipts is None or devices.printer is None:
            raise ServiceError("no_printer", print_message("no_printer"), 503)
        document = devices.receipts.checklist_slip(self.checklist_data(code, situation))
        try:
            devices.print(document)
        except PrintFailed as exc:
            self.ctx.audit("kiosk", "print", f"checklist {code} failed: {exc.code}")
            raise ServiceError(exc.code, print_message(exc.code), 503) from None
        self.ctx.audit("kiosk", "print", f"checklist {code}")
        return {"printed": True}
