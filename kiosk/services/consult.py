"""Consult (no identification): browse, search, the item page and the printed checklist (一次性告知单)."""
from __future__ import annotations

from typing import Any

from kiosk.catalog import Item
from kiosk.ports import PrintFailed
from kiosk.receipts.data import ChecklistData
from kiosk.services import Context, ServiceError, itemfacts, require_session
from kiosk.services.evaluation import offer, visit_ref

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
        """The item page: the catalog's item with its facts (basis, 中介服务, 前置许可, 办理对象, place, 即办)."""
        catalog = self.ctx.catalog()
        item = self.item(code)
        view = catalog.item_view(item)
        view["can_self_submit"] = item.self_service and self.ctx.settings.self_service
        view["facts"] = itemfacts.facts(catalog, item, self.ctx.settings)
        return view

    def bundles(self) -> dict[str, Any]:
        """一件事一次办: the bundles of related items the catalog offers."""
        catalog = self.ctx.catalog()
        out = []
        for bundle in catalog.extras.bundles:
            items = [(catalog.item(b.item), b.situation) for b in bundle.items]
            out.append({"code": bundle.code, "name": bundle.name, "description": bundle.description,
                        "items": [{"code": i.code, "name": i.name, "situation": s,
                                   "situation_name": getattr(i.situation(s), "name", "")}
                                  for i, s in items if i is not None],
                        "complete": all(i is not None for i, _ in items)})
        return {"bundles": out}

    def checklist_data(self, code: str, situation: str | None) -> ChecklistData:
        """The checklist slip's typed value (`kiosk.receipts.checklist_slip`)."""
        try:
            return itemfacts.checklist(self.ctx.catalog(), self.item(code), situation, self.ctx.settings)
        except LookupError:
            raise ServiceError("not_found", "没有找到这个情形，请重新选择。", 404) from None

    def print_checklist(self, code: str, situation: str | None) -> dict[str, Any]:
        """Print the checklist; consultation does not need a notice, so only the printer itself matters.
        Raises ServiceError with a villager message when the printer did not confirm."""
        devices = self.ctx.devices
        if devices.receipts is None or devices.printer is None:
            raise ServiceError("no_printer", print_message("no_printer"), 503)
        slip = self.checklist_data(code, situation)
        try:
            devices.print(devices.receipts.checklist_slip(slip))
        except PrintFailed as exc:
            self.ctx.audit("kiosk", "print", f"checklist {code} failed: {exc.code}")
            raise ServiceError(exc.code, print_message(exc.code), 503) from None
        self.ctx.audit("kiosk", "print", f"checklist {code}")
        session = require_session(self.ctx)
        visit = offer(session, "visit", visit_ref(self.ctx, session), f"咨询：{slip.item_name}")
        return {"printed": True, "evaluation": visit}
