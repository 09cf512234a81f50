"""Property-based: whatever a kiosk publishes, central neither crashes nor stops answering; and its
validators never raise on any JSON value."""
from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from simulators.central.contract import check_case, check_chunk, check_envelope, check_event, check_request, check_state
from tests.central.fake_kiosk import FakeKiosk

json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
                           | st.text(max_size=20),
                           lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=10), inner, max_size=4),
                           max_leaves=12)
FIELDS = ["type", "v", "msg_id", "seq", "sent_at", "case_id", "query_code", "device", "site", "created_at", "item",
          "channel", "applicant", "agent", "materials", "pickup", "consent", "test", "score", "category",
          "priority", "cases", "pin", "id_no", "agent_id", "online", "epoch", "records", "state"]


def mutated(base: dict, data) -> dict:
    """A valid message with some fields replaced by arbitrary JSON or removed."""
    out = dict(base)
    for name in data.draw(st.lists(st.sampled_from(FIELDS), max_size=4)):
        if data.draw(st.booleans()):
            out.pop(name, None)
        else:
            out[name] = data.draw(json_values)
    return out


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_validators_never_raise(data):
    kiosk = FakeKiosk.__new__(FakeKiosk)  # only its message builders, no connection
    kiosk.device, kiosk.site, kiosk._seq = "KSK-511902-0007", "511902-HALL-01", {}
    payload = mutated(kiosk.case(), data) if data.draw(st.booleans()) else data.draw(json_values)
    for check in (lambda p: check_envelope(p, kiosk.device), check_state):
        assert check(payload) is None or isinstance(check(payload), str)
    if isinstance(payload, dict):
        for check in (lambda p: check_case(p, kiosk.device), check_event, check_request):
            assert check(payload) is None or isinstance(check(payload), str)
    keys = st.sampled_from(["blob_id", "index", "count", "size", "sha256", "msg_id", "mime"])
    props = data.draw(st.dictionaries(keys, st.text(max_size=70), max_size=7))
    header, reason = check_chunk(props, data.draw(st.integers(0, 300_000)))
    assert (header is None) != (reason is None)


@pytest.mark.integration
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_malformed_up_messages_never_stop_central(central, kiosk, data):
    kind = data.draw(st.sampled_from(["case", "event", "request", "blob", "state"]))
    builders = {"case": lambda: kiosk.case(),
                "event": lambda: kiosk.envelope("event", "evaluation", score=3, comment=""),
                "request": lambda: kiosk.envelope("request", "queue.take", category="SOC", cases=1),
                "blob": lambda: {},
                "state": lambda: {"type": "state", "v": 1, "online": True, "epoch": 1}}
    if data.draw(st.booleans()):
        payload = data.draw(st.binary(max_size=200))
    else:
        payload = json.dumps(mutated(builders[kind](), data), ensure_ascii=False).encode("utf-8")
    props = Properties(PacketTypes.PUBLISH)
    if kind == "blob":
        props.UserProperty = list(data.draw(st.dictionaries(
            st.sampled_from(["blob_id", "index", "count", "size", "sha256", "msg_id"]), st.text(
                alphabet="0123456789abcdef-", min_size=1, max_size=64), max_size=6)).items()) or [("x", "y")]
    if kind == "request":
        props.ResponseTopic = f"gov/v1/down/{kiosk.device}/reply"
        props.CorrelationData = data.draw(st.binary(min_size=1, max_size=16))
    kiosk.publish(kind, payload, properties=props)
    probe = kiosk.envelope("event", "help.requested")
    kiosk.publish("event", probe)
    assert kiosk.wait_ack(probe["msg_id"], timeout=10)["result"] == "accepted"
    assert not any("Traceback" in line for line in central.stderr_lines)  # validation caught it, not luck
