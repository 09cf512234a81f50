"""The real aiohttp server over loopback HTTP: JSON API, errors in Chinese, guards (Host, content type,
locked terminal), the event stream's hello and session events, and clean shutdown."""
from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge_sync.querycode import mint_query_code
from kiosk.adapters import ReceiptsAdapter
from kiosk.app import Kiosk, Ports
from kiosk.config import load_config
from tests.app.doubles import ALICE, FakeCamera, FakePrinter, FakeReader, FakeSync
from tests.app.harness import KioskThread
from tests.support.kioskapi import token_headers
from tests.support.net import free_port


class Served(KioskThread):
    """The served kiosk and the doubles behind its sync and ID-reader ports (set by the fixture)."""

    sync: FakeSync
    reader: FakeReader


@pytest.fixture
def server(sample_catalog, tmp_path):
    sync = FakeSync()
    reader = FakeReader()
    ports = Ports(sync=sync, idreader=reader, printer=FakePrinter(), receipts=ReceiptsAdapter(), camera=FakeCamera())
    config = load_config(None, env={"KIOSK_DEVICE_DATA_DIR": str(tmp_path), "KIOSK_WEB_MAINTENANCE_PIN_SHA256":
                                    "8d969eef6ecad3c29a3a629280e686cf0c3f5d5a86aff3ca12020c923adc6c92"})
    runner = Served(lambda: Kiosk(config, sample_catalog, ports, tick_s=0.05), free_port()).start()
    runner.sync, runner.reader = sync, reader
    try:
        yield runner
    finally:
        runner.stop()


def call(server, method: str, path: str, body=None, headers=None):
    data = json.dumps(body).encode() if body is not None else None
    token = {} if method == "GET" else token_headers(server.url)
    req = urllib.request.Request(server.url.rstrip("/") + path, data=data, method=method,
                                 headers={"Content-Type": "application/json", **token, **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


def test_consult_endpoints(server):
    status, home = call(server, "GET", "/api/home")
    assert status == 200 and [c["code"] for c in home["categories"]] == ["SOC", "ECO", "CON"]
    status, found = call(server, "GET", "/api/search?q=yyzz")
    assert "营业执照" in found["items"][0]["name"]
    status, item = call(server, "GET", "/api/items/511900-XK-0001")
    assert item["window"]["floor"] == 2 and item["can_self_submit"] is True
    status, err = call(server, "GET", "/api/items/nope")
    assert status == 404 and err["error"] == "not_found" and "事项" in err["message"]


def test_query_and_errors_are_villager_messages(server):
    code = mint_query_code()
    server.sync.views[code] = {"item_name": "结婚登记", "status": "accepted", "steps": []}
    status, body = call(server, "POST", "/api/query", {"code": code})
    assert status == 200 and body["case"]["status_label"] == "已受理"
    status, body = call(server, "POST", "/api/query", {"code": "https://evil.example/q/" + code})
    assert status == 400 and body["error"] == "not_receipt"
    status, body = call(server, "GET", "/api/my/cases")
    assert status == 403 and "身份证" in body["message"]


def test_guards(server):
    assert call(server, "GET", "/api/home", headers={"Host": "evil.example.com"})[0] == 403
    req = urllib.request.Request(server.url + "api/help", data=b"a=1", method="POST",
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(req, timeout=5)
    assert info.value.code == 415
    status, _body = call(server, "POST", "/api/query", None)
    assert status == 400
    raw = urllib.request.Request(server.url + "api/query", data=b"[1,2", method="POST",
                                 headers=token_headers(server.url))
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(raw, timeout=5)
    assert info.value.code == 400


def test_state_changes_need_the_page_token_and_this_origin(server):
    """Another site's page (a browser tab, DNS rebinding) cannot change state: without the page's token,
    with a stale one, or from another Origin the POST is refused before any handler runs."""
    for headers, code in (({"X-Kiosk-Token": ""}, "bad_token"), ({"X-Kiosk-Token": "guessed"}, "bad_token"),
                          ({"Origin": "http://evil.example"}, "cross_origin"),
                          ({"Origin": "null"}, "cross_origin")):
        status, body = call(server, "POST", "/api/maint/lock", {}, headers=headers)
        assert (status, body["error"]) == (403, code), headers
    assert server.call(lambda: server.kiosk.devices.locked) is None
    own = {"Origin": server.url.rstrip("/")}
    assert call(server, "POST", "/api/session/touch", {}, headers=own)[0] == 200


def test_locked_terminal_refuses_flows_but_not_maintenance(server):
    status, _ = call(server, "POST", "/api/maint/login", {"pin": "123456"})
    assert status == 200
    assert call(server, "POST", "/api/maint/lock", {})[0] == 200
    status, body = call(server, "GET", "/api/search?q=jh")
    assert status == 423 and "暂停服务" in body["message"]
    assert call(server, "POST", "/api/maint/login", {"pin": "123456"})[0] == 200
    assert call(server, "POST", "/api/maint/unlock", {})[0] == 200
    assert call(server, "GET", "/api/search?q=jh")[0] == 200


def read_events(sock_file, until: str) -> list[dict]:
    """Events up to and including the first of type ``until`` (the socket's timeout bounds the wait)."""
    events: list[dict] = []
    while not events or events[-1]["type"] != until:
        line = sock_file.readline()
        if not line:
            break
        if line.startswith(b"data: "):
            events.append(json.loads(line[6:]))
    return events


def test_event_stream_carries_hello_card_and_reset(server):
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    sock.sendall(b"GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    stream = sock.makefile("rb")
    try:
        hello, = read_events(stream, "hello")
        assert hello["type"] == "hello" and hello["status"]["printer"]["installed"] is True
        from kiosk.ports import CardEvent
        server.call(lambda: server.reader.on_event(CardEvent("card_present", ALICE)))
        server.call(lambda: server.kiosk.sessions.end())
        events = read_events(stream, "session.reset")
        kinds = [e["type"] for e in events]
        assert "card.present" in kinds and "session.reset" in kinds
        assert ALICE.id_number not in json.dumps(events, ensure_ascii=False)
    finally:
        stream.close()
        sock.close()


def test_openapi_describes_every_route(server):
    status, spec = call(server, "GET", "/api/openapi.json")
    assert status == 200 and spec["openapi"].startswith("3.")
    described = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}
    served = {(r.method, r.resource.canonical) for r in server.kiosk.app.router.routes()
              if r.resource is not None and r.resource.canonical.startswith("/api/") and r.method != "HEAD"}
    assert served - described == {("GET", "/api/openapi.json")}


JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
                           | st.text(max_size=30),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner,
                                                                                       max_size=3), max_leaves=8)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_json_body_gets_an_answer_never_a_crash(server, data):
    from kiosk.web.openapi import ROUTES

    posts = [(path, body) for method, path, _, body, _ in ROUTES if method == "post" and "{" not in path]
    path, props = data.draw(st.sampled_from(posts))
    keys = list(props or {}) + ["x"]
    body = data.draw(st.dictionaries(st.sampled_from(keys), JSON_VALUES, max_size=4) | JSON_VALUES)
    status, answer = call(server, "POST", path, body)
    assert status != 500, (path, body, answer)  # 503/507 are refusals with a message; 500 would be a bug
    if status >= 400:
        assert answer["error"] and answer["message"]


def test_an_internal_fault_is_still_a_json_message(server, monkeypatch, caplog):
    def broken() -> dict:
        raise RuntimeError("bug")
    monkeypatch.setattr(server.kiosk.services.consult, "home", broken)
    status, data = call(server, "GET", "/api/home")
    assert status == 500 and data["error"] == "internal" and "请返回首页" in data["message"]
    assert "GET /api/home failed" in caplog.text
    status, data = call(server, "GET", "/api/nope")
    assert status == 404 and data["error"] == "not_found"
