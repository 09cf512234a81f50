"""Hostile requests to the kiosk's local HTTP API: the real aiohttp server (``kiosk.app.Kiosk``) in-process on
127.0.0.1 with the application's own port doubles (tests/app), every route of its route table (the app has no
OpenAPI description) driven with generated bodies, queries, path parameters and content types. Never a 500;
every error is JSON ``{"error": code, "message": 中文}``; no identity data in error bodies; the server
listens on loopback only and still serves after the run. The defects it found are fixed and kept as regression tests."""
from __future__ import annotations

import http.client
import json
import re
import socket
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.adapters import ReceiptsAdapter
from kiosk.app import Kiosk, Ports
from kiosk.catalog import load_catalog
from kiosk.config import ConfigError, load_config
from kiosk.ports import CardEvent
from kiosk.web.guards import TOKEN_HEADER
from tests.app.doubles import ALICE, FakeCamera, FakePrinter, FakeReader, FakeSync
from tests.app.harness import KioskThread
from tests.hostile.bounded import count
from tests.support.kioskapi import page_token
from tests.support.net import free_port

pytestmark = [pytest.mark.timeout(240), pytest.mark.integration]

SKIP = {"/api/events"}  # an endless event stream: checked on its own below
KEYS = ["code", "item", "situation", "material", "choice", "page", "phone", "pickup", "consent", "agent_id", "pin",
        "category", "green", "cases", "score", "tags", "comment", "reason", "index", "by"]
HOSTILE_TEXT = ["", " ", "\x00", "\x1b[2J", "\r\nX-Injected: 1", "\u202e", "𠀀", "😀" * 50, "'; DROP TABLE cases; --",
                "<script>alert(1)</script>", "../../etc/passwd", "%00", "{{7*7}}", "$(reboot)", ALICE.id_number,
                "https://zwfw.example.gov.cn.evil.com/q/7KQ2M9XDPA4TH6WRP", "7KQ2M9XDPA4TH6WRP", "x" * 5000,
                "511900-XK-0001", "S01", "M01", "SOC", "scan", "paper", "shared", "window", "123456"]
# Numbers that are JSON but not finite (1e999, Infinity, NaN) are left to the pinned defect test below.
scalar = (st.none() | st.booleans() | st.integers(-(10 ** 20), 10 ** 20) | st.floats(allow_nan=False,
          allow_infinity=False) | st.sampled_from(HOSTILE_TEXT) | st.text(max_size=40))
value = st.recursive(scalar, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                         max_size=4), max_leaves=10)
json_body = st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=10), value, max_size=6).map(
    lambda d: json.dumps(d).encode())
raw_body = st.binary(max_size=300) | st.sampled_from([b"", b"null", b"[]", b"1", b'"x"', b"{", b"\xff\xfe",
                                                      b'{"code": "\xff"}', b"[" * 50, b'{"a":' * 50 + b"1" + b"}" * 50])
content_type = st.sampled_from(["application/json", "application/json; charset=utf-8", "APPLICATION/JSON",
                                "application/json; charset=gb18030", "text/plain", "application/x-www-form-urlencoded",
                                "multipart/form-data; boundary=x", ""])
# "{" and "}" cannot match a route parameter: they give the framework 404 pinned below.
param = st.text(st.characters(blacklist_characters="/?#{}", blacklist_categories=["Cs"]), min_size=1,
                max_size=60).filter(lambda s: s.strip(" .") != "" and s not in (".", ".."))


class Client:
    """Plain HTTP/1.1 over loopback, one connection per request, every call with a timeout."""

    def __init__(self, port: int) -> None:
        self.port = port

    def send(self, method: str, path: str, body: bytes | None = None,
             headers: dict[str, str] | None = None) -> tuple[int, str, bytes]:
        headers = dict(headers or {})
        if method not in ("GET", "HEAD") and TOKEN_HEADER not in headers:
            headers[TOKEN_HEADER] = page_token(f"http://127.0.0.1:{self.port}/")   # as the page sends it
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            return response.status, response.getheader("Content-Type") or "", response.read()
        finally:
            conn.close()


class Served(KioskThread):
    """The served kiosk, a raw HTTP client for it and the double behind its ID-reader port (set by the fixture)."""

    client: Client
    reader: FakeReader


@pytest.fixture(scope="module")
def server(catalog_file, tmp_path_factory):
    reader = FakeReader()
    ports = Ports(sync=FakeSync(), idreader=reader, printer=FakePrinter(), receipts=ReceiptsAdapter(),
                  camera=FakeCamera())
    config = load_config(None, env={"KIOSK_DEVICE_DATA_DIR": str(tmp_path_factory.mktemp("kiosk"))})
    runner = Served(lambda: Kiosk(config, load_catalog(catalog_file), ports, tick_s=0.05), free_port()).start()
    runner.client = Client(runner.port)
    runner.reader = reader
    try:
        yield runner
    finally:
        runner.stop()


def routes(server) -> list[tuple[str, str]]:
    found = []
    for route in server.kiosk.app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        path = info.get("path") or info.get("formatter")
        if route.method in ("GET", "POST") and path and path.startswith("/api/") and path not in SKIP:
            found.append((route.method, path))
    return sorted(set(found))


def assert_clear(status: int, ctype: str, body: bytes, what: str) -> Any:
    """Not a server error; an error is JSON with a code and a Chinese message and holds no identity data."""
    assert (status != 500 and status < 500) or status == 503, f"{what}: {status} {body[:200]!r}"
    if status >= 400:
        assert ctype.startswith("application/json"), f"{what}: {status} {ctype} {body[:120]!r}"
        data = json.loads(body)
        assert isinstance(data.get("error"), str) and data["error"], what
        message = data.get("message")
        assert isinstance(message, str) and message, what
        assert data["error"] == "bad_host" or re.search(r"[\u4e00-\u9fff]", message), f"{what}: {message}"
        text = body.decode("utf-8")
        for secret in (ALICE.id_number, ALICE.address, ALICE.name):
            assert secret not in text, f"{what}: identity data in an error body"
        return data
    return None


def fill(path: str, values: list[str]) -> str:
    it = iter(values)
    return re.sub(r"\{[^}]+\}", lambda m: quote(next(it), safe=""), path)


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(data=st.data())
def test_every_route_with_generated_requests(server, data):
    count("http.generated")
    method, path = data.draw(st.sampled_from(routes(server)))
    url = fill(path, [data.draw(param) for _ in re.findall(r"\{", path)])
    if data.draw(st.booleans()):
        url += "?" + "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in data.draw(
            st.dictionaries(st.sampled_from(["q", "limit", "code", "x"]) | st.text(max_size=5),
                            st.sampled_from(HOSTILE_TEXT) | st.text(max_size=50), max_size=3)).items())
    headers = {"Content-Type": data.draw(content_type)} if method == "POST" else {}
    body = data.draw(json_body | raw_body) if method == "POST" else None
    if data.draw(st.integers(0, 9)) == 0:  # now and then the card of a citizen is in the reader
        server.call(lambda: server.reader.on_event(CardEvent("card_present", ALICE)))
    status, ctype, answer = server.client.send(method, url, body, headers)
    count(f"http.generated.status_{status // 100}xx")  # shows the run reached errors and successes alike
    assert_clear(status, ctype, answer, f"{method} {url[:100]}")


def test_the_server_still_serves_after_the_run(server):
    count("http.recovery")
    status, _, body = server.client.send("GET", "/api/home")
    assert status == 200 and json.loads(body)["categories"]


@pytest.mark.parametrize("host", ["evil.example.com", "127.0.0.1.evil.com", "localhost.evil", "[::2]", "", "0",
                                  "xn--80ak6aa92e.com", "127.0.0.2.nip.io", "127.0.0.1:x@evil.com",
                                  "localhost:80:80", "127.0.0.1:8080.evil.com"])
def test_foreign_host_headers_are_refused_as_json(server, host):
    count("http.hosts")
    status, ctype, body = server.client.send("GET", "/api/home", headers={"Host": host})
    assert status in (400, 403)
    if status == 403:
        assert assert_clear(status, ctype, body, host)["error"] == "bad_host"


def test_listens_on_loopback_only(server):
    count("http.loopback")
    sockets = [s.getsockname()[0] for site in server.kiosk._runner.sites for s in site._server.sockets]
    assert sockets and all(addr in ("127.0.0.1", "::1") for addr in sockets)
    for host in ("0.0.0.0", "192.168.1.10", "::", "example.com"):
        with pytest.raises(ConfigError, match=r"loopback|IP address"):
            load_config(None, env={"KIOSK_WEB_HOST": host})
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("10.255.255.255", 1))  # no packet is sent: this only picks the outward interface
        outward = probe.getsockname()[0]
    except OSError:
        outward = None
    finally:
        probe.close()
    if outward and not outward.startswith("127."):
        with pytest.raises(OSError):
            socket.create_connection((outward, server.port), timeout=2).close()


def test_event_stream_with_hostile_headers_answers_and_closes(server):
    count("http.events")
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        conn.request("GET", "/api/events", headers={"Last-Event-ID": "\x00" * 100, "Accept": "x/y"})
        response = conn.getresponse()
        assert response.status < 500
    finally:
        conn.close()


# -- defects this suite found in kiosk/web, fixed; kept as regression tests (docs/hostile-input.md) ------------

NON_FINITE = [(route, key, number) for route, key in (("/api/queue", "cases"), ("/api/evaluate", "score"),
                                                      ("/api/submit/retake", "page"))
              for number in (b"1e999", b"Infinity", b"-Infinity")]


@pytest.mark.parametrize("route,key,number", NON_FINITE)
def test_non_finite_numbers_are_a_json_400(server, route, key, number):
    count("http.pinned")
    status, ctype, body = server.client.send("POST", route, b'{"%s": %s}' % (key.encode(), number),
                                             {"Content-Type": "application/json"})
    assert_clear(status, ctype, body, route)


@pytest.mark.parametrize("payload", [b"[" * 50000, b'{"a":' * 12000])
def test_deeply_nested_json_is_a_json_400(server: Served, payload: bytes) -> None:
    count("http.pinned")
    assert_clear(*server.client.send("POST", "/api/query", payload, {"Content-Type": "application/json"}), "deep")


def test_unknown_charset_is_a_json_400(server: Served) -> None:
    count("http.pinned")
    assert_clear(*server.client.send("POST", "/api/query", b'{"code": "x"}',
                                     {"Content-Type": "application/json; charset=bogus"}), "charset")


@pytest.mark.parametrize("method,path,body", [("GET", "/api/nope", None), ("DELETE", "/api/home", None),
                                              ("POST", "/api/query", b'{"code":"' + b"x" * 70000 + b'"}')])
def test_framework_errors_are_json_too(server: Served, method: str, path: str, body: bytes | None) -> None:
    count("http.pinned")
    assert_clear(*server.client.send(method, path, body, {"Content-Type": "application/json"}), path)
