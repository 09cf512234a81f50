"""OpenAPI 3.1 description of the local JSON API (served at ``/api/openapi.json``), for technicians and for
schema-driven fuzzing of the API; a test checks it names every route the server has."""
from __future__ import annotations

from typing import Any

S = {"type": "string"}
CODE = {"type": "string", "maxLength": 120, "description": "query code or notice URL (dashes, spaces, case tolerated)"}
ITEM = {"type": "string", "maxLength": 64}
SITUATION = {"type": "string", "maxLength": 20}
MATERIAL = {"type": "string", "maxLength": 20}

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
    ("get", "/api/items/{code}", "the item page", None, []),
    ("post", "/api/checklist/print", "print the checklist slip", {"item": ITEM, "situation": SITUATION}, ["item"]),
    ("post", "/api/query", "follow a case by its code (masked view)", {"code": CODE}, ["code"]),
    ("get", "/api/my/cases", "the card holder's cases (card in the reader)", None, []),
    ("post", "/api/submit/start", "start a submission", {"item": ITEM, "situation": SITUATION},
     ["item", "situation"]),
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
    ("post", "/api/submit/details", "phone, pickup method, consent",
     {"phone": {"type": "string", "maxLength": 20}, "pickup": {"enum": ["window", "mail", "village_point"]},
      "consent": {"type": "boolean"}}, []),
    ("post", "/api/submit/cancel", "drop the draft", {}, []),
    ("post", "/api/submit/commit", "commit durably, wait for the ack, print the notice", {}, []),
    ("post", "/api/reprint", "print a notice again (applicant's card or submitting agent)", {"code": CODE},
     ["code"]),
    ("post", "/api/agent/login", "village agent login (agent's card in the reader)",
     {"agent_id": {"type": "string", "maxLength": 20}, "pin": {"type": "string", "maxLength": 12}},
     ["agent_id", "pin"]),
    ("get", "/api/agent/cases", "cases the agent submitted here, with their status", None, []),
    ("post", "/api/queue", "take a queue number",
     {"category": {"enum": ["SOC", "ECO", "CON"]}, "green": {"type": "boolean"},
      "cases": {"type": "integer", "minimum": 1, "maximum": 20}, "agent_id": {"type": "string", "maxLength": 20}},
     ["category"]),
    ("post", "/api/pickup", "pickup check (code + card)", {"code": CODE}, ["code"]),
    ("post", "/api/evaluate", "satisfaction evaluation",
     {"code": CODE, "score": {"type": "integer", "minimum": 1, "maximum": 5},
      "tags": {"type": "array", "items": S, "maxItems": 10}, "comment": {"type": "string", "maxLength": 200}},
     ["code", "score"]),
    ("get", "/api/evaluate/tags", "the evaluation tags", None, []),
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

ERROR = {"type": "object", "properties": {"error": S, "message": {"type": "string", "description": "中文, for the screen"}},
         "required": ["error", "message"]}


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
