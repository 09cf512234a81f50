"""OpenAPI 3.1 description of the local JSON API (served at ``/api/openapi.json``), for technicians and for
schema-driven fuzzing of the API; a test checks it names every route the server has."""
from __future__ import annotations

from typing import Any

S = {"type": "string"}
CODE = {"type": "string", "maxLength": 120, "description": "query code or notice URL (dashes, spaces, case tolerated)"}
ITEM = {"type": "string", "maxLength": 64}
SITUATION = {"type": "string", "maxLength": 20}
MATERIAL = {"type": "string", "maxLength": 20}

PHONE = {"type": "string", "maxLength": 20}
ADDRESS = {"type": "object", "description": "mail address entered on screen", "properties": {
    "recipient": S, "phone": PHONE, "province": S, "city": S, "county": S, "street": S, "detail": S,
    "postcode": {"type": "string", "pattern": "^[0-9]{6}$"}},
    "required": ["recipient", "phone", "province", "city", "county", "street", "detail"]}

# (method, path, summary, JSON body properties or None, required properties)
ROUTES: list[tuple[str, str, str, dict[str, Any] | None, list[str]]] = [
    ("post", "/api/session/touch", "user activity: start a session or restart its timer", {}, []),
    ("post", "/api/session/end", "end the session now (wipe)", {}, []),
    ("post", "/api/session/release-card", "forget the card holder, keep the session (agent)", {}, []),
    ("post", "/api/session/card-gone", "give up the draft kept while the card was away", {}, []),
    ("get", "/api/session", "masked view of the current session", None, []),
    ("get", "/api/home", "categories, themes and departments with item counts", None, []),
    ("get", "/api/browse/{by}/{code}", "items of a category, theme or department", None, []),
    ("get", "/api/search", "search by Hanzi, pinyin or initials (?q=)", None, []),
    ("get", "/api/items/{code}", "the item page with its facts (legal and fee basis, 中介服务, 前置许可, 办理对象, "
     "own window, village points, 即办)", None, []),
    ("get", "/api/bundles", "一件事一次办: the bundles of related items", None, []),
    ("post", "/api/checklist/print", "print the checklist slip; offers an evaluation of the visit",
     {"item": ITEM, "situation": SITUATION}, ["item"]),
    ("post", "/api/query", "follow a case by its code (masked view); offers an evaluation of the visit",
     {"code": CODE}, ["code"]),
    ("get", "/api/my/cases", "the card holder's cases in full with their actions (card in the reader)", None, []),
    ("post", "/api/submit/start", "start a submission of one item (item + situation) or of a bundle; checks age "
     "and card type against the situation", {"item": ITEM, "situation": SITUATION,
                                             "bundle": {"type": "string", "maxLength": 20}}, []),
    ("get", "/api/submit", "the current draft", None, []),
    ("post", "/api/submit/material", "choose how a material is handed in",
     {"material": MATERIAL, "choice": {"enum": ["shared", "scan", "paper"]}}, ["material", "choice"]),
    ("post", "/api/submit/capture", "capture one page with the document camera", {"material": MATERIAL},
     ["material"]),
    ("post", "/api/submit/retake", "drop a captured page", {"material": MATERIAL, "page": {"type": "integer"}},
     ["material", "page"]),
    ("get", "/api/submit/page/{material}/{index}", "a captured page (image/jpeg, not cached)", None, []),
    ("post", "/api/submit/page/replace", "retake a captured page in place (重拍)",
     {"material": MATERIAL, "page": {"type": "integer"}}, ["material", "page"]),
    ("post", "/api/submit/page/delete", "delete a captured page", {"material": MATERIAL, "page": {"type": "integer"}},
     ["material", "page"]),
    ("post", "/api/submit/page/move", "move a captured page to another position",
     {"material": MATERIAL, "page": {"type": "integer"}, "to": {"type": "integer"}}, ["material", "page", "to"]),
    ("post", "/api/submit/details", "phone, pickup at the window or the only village point, consent (agent mode: "
     "only by the resident after a fresh card read)",
     {"phone": PHONE, "pickup": {"enum": ["window", "village_point"]}, "consent": {"type": "boolean"}}, []),
    ("post", "/api/submit/pickup", "pickup: window (the item's own), mail (structured address), village point",
     {"method": {"enum": ["window", "mail", "village_point"]}, "point": {"type": "string", "maxLength": 40},
      "address": ADDRESS}, ["method"]),
    ("post", "/api/submit/consent/ask", "agent mode: ask the resident to read their card again and consent", {}, []),
    ("post", "/api/submit/cancel", "drop the draft", {}, []),
    ("post", "/api/submit/commit", "commit durably (idempotent: a repeated or concurrent commit answers with the "
     "same cases), wait for the ack, print 受理通知书 / 预审回执", {}, []),
    ("post", "/api/reprint", "print a notice again (applicant's card or submitting agent; survives a restart)",
     {"code": CODE}, ["code"]),
    ("post", "/api/cases/acceptance-notice", "print the 受理通知书 of a case central has accepted", {"code": CODE},
     ["code"]),
    ("post", "/api/cases/withdraw", "撤回 a case central has not accepted yet",
     {"code": CODE, "reason": {"type": "string", "maxLength": 100}}, ["code"]),
    ("get", "/api/complaints/categories", "the categories of 催办 and 投诉", None, []),
    ("post", "/api/complaints", "催办 or 投诉 about a case: receipt number from central, printed slip",
     {"code": CODE, "kind": {"enum": ["urge", "complaint"]}, "category": {"type": "string", "maxLength": 32},
      "text": {"type": "string", "maxLength": 300}, "callback": {"type": "boolean"}, "phone": PHONE},
     ["code", "kind", "category"]),
    ("post", "/api/complaints/print", "print the slip of a 催办/投诉 filed in this session again",
     {"receipt_no": {"type": "string", "maxLength": 40}}, ["receipt_no"]),
    ("post", "/api/corrections/start", "open the 补正 of a case in correction_needed", {"code": CODE}, ["code"]),
    ("get", "/api/corrections", "the open correction", None, []),
    ("post", "/api/corrections/capture", "capture one page of a requested material", {"material": MATERIAL},
     ["material"]),
    ("post", "/api/corrections/retake", "drop a captured page of the correction",
     {"material": MATERIAL, "page": {"type": "integer"}}, ["material", "page"]),
    ("get", "/api/corrections/page/{material}/{index}", "a captured correction page (image/jpeg)", None, []),
    ("post", "/api/corrections/commit", "submit the correction (durable, idempotent)", {}, []),
    ("post", "/api/agent/login", "village agent login (agent's card in the reader)",
     {"agent_id": {"type": "string", "maxLength": 20}, "pin": {"type": "string", "maxLength": 12}},
     ["agent_id", "pin"]),
    ("get", "/api/agent/cases", "本村办件: every case of the agent's village points, from central", None, []),
    ("get", "/api/queue/options", "whether the green channel is offered (registered agents only)", None, []),
    ("post", "/api/queue", "take a queue number (green: a registered agent, 2..max cases); sends ticket.issued",
     {"category": {"enum": ["SOC", "ECO", "CON"]}, "green": {"type": "boolean"},
      "cases": {"type": "integer", "minimum": 1, "maximum": 20}}, ["category"]),
    ("post", "/api/pickup", "pickup check (code + card)", {"code": CODE}, ["code"]),
    ("get", "/api/evaluate/options", "the five levels and the reasons for the two lowest", None, []),
    ("get", "/api/evaluate/offers", "the services of this session not evaluated yet", None, []),
    ("post", "/api/evaluate", "好差评 of an offered service (one per service)",
     {"kind": {"enum": ["case", "ticket", "visit"]}, "ref": {"type": "string", "maxLength": 96},
      "level": {"type": "integer", "minimum": 1, "maximum": 5},
      "reasons": {"type": "array", "items": S, "maxItems": 8}, "comment": {"type": "string", "maxLength": 200},
      "callback": {"type": "boolean"}, "phone": PHONE}, ["kind", "ref", "level"]),
    ("post", "/api/help", "call staff", {}, []),
    ("post", "/api/maint/login", "technician login", {"pin": {"type": "string", "maxLength": 20}}, ["pin"]),
    ("get", "/api/maint/status", "devices, outbox, catalog, disk, clock (technician)", None, []),
    ("post", "/api/maint/print-test", "print the test page (technician)", {}, []),
    ("post", "/api/maint/lock", "lock the terminal (technician)", {"reason": {"type": "string", "maxLength": 40}}, []),
    ("post", "/api/maint/unlock", "unlock the terminal (technician)", {}, []),
    ("get", "/api/status", "device status (no personal data)", None, []),
    ("get", "/api/token", "a token for this page: every POST must carry it in X-Kiosk-Token", None, []),
    ("get", "/api/events", "event stream (text/event-stream): hello, status, session.*, card.*, scan, …", None, []),
]

ERROR = {"type": "object", "required": ["error", "message"],
         "properties": {"error": S, "message": {"type": "string", "description": "中文, for the screen"}}}


def openapi() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for method, path, summary, body, required in ROUTES:
        op: dict[str, Any] = {"summary": summary, "responses": {
            "200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}},
            "default": {"description": "refused, with a villager message",
                        "content": {"application/json": {"schema": ERROR}}}}}
        params = [{"name": p.strip("{}"), "in": "path", "required": True, "schema": {"type": "string", "maxLength": 64}}
                  for p in path.split("/") if p.startswith("{")]
        if path == "/api/search":
            params.append({"name": "q", "in": "query", "schema": {"type": "string", "maxLength": 40}})
        if params:
            op["parameters"] = params
        if body is not None:
            op["requestBody"] = {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "properties": body, "required": required}}}}
        paths.setdefault(path, {})[method] = op
    return {"openapi": "3.1.0", "info": {"title": "政务服务自助终端 local API", "version": "1"},
            "servers": [{"url": "http://127.0.0.1:8080"}], "paths": paths}
