"""A small central-platform peer for edge_sync tests, on raw paho and written from the contract:
acks cases, blobs and events, answers requests, and can be scripted to drop or duplicate acks,
reject cases, lose chunks. Run as ``python -m tests.edge_sync.central_peer --broker URL`` for benches."""
from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions


def _now() -> str:
    return datetime.now(UTC).astimezone().isoformat(timespec="seconds")


class CentralPeer:
    def __init__(self, broker_url: str, *, drop_acks: float = 0.0, dup_acks: float = 0.0, seed: int = 1,
                 decide: Callable[[dict], tuple[str, dict] | None] | None = None,
                 lose_chunks: set[tuple[str, int]] | None = None,
                 corrupt_chunks: set[tuple[str, int]] | None = None, client_id: str = "central-peer",
                 server_time: Callable[[], str] | None = None) -> None:
        parts = urlsplit(broker_url)
        if parts.hostname is None or parts.port is None:
            raise ValueError(f"broker URL needs a host and a port: {broker_url}")
        self.host, self.port = parts.hostname, parts.port
        self.drop_acks, self.dup_acks = drop_acks, dup_acks
        self.rand = random.Random(seed)
        self.decide = decide
        self.lose_chunks = set(lose_chunks or ())
        self.corrupt_chunks = set(corrupt_chunks or ())
        self.chunk_log: list[tuple[str, int]] = []
        self.server_time = server_time or _now
        self.client_id = client_id
        self.lock = threading.Lock()
        self.cases: dict[str, dict] = {}          # case_id → envelope (first arrival)
        self.case_order: list[tuple[str, int, str]] = []   # (device, seq, case_id) in first-arrival order
        self.msg_outcome: dict[str, tuple[str, dict]] = {}
        self.case_msg_ids: dict[str, set[str]] = {}   # a re-send must keep its msg_id
        self.case_msgs = 0
        self.blobs: dict[str, dict[int, bytes]] = {}
        self.blob_meta: dict[str, dict] = {}
        self.stored_blobs: dict[str, bytes] = {}
        self.chunk_msgs = 0
        self.events: list[dict] = []
        self.requests: list[dict] = []
        self.states: list[dict] = []
        self.replies: dict[str, Callable[[dict], dict | None]] = {}
        self.reply_delay = 0.0
        self.client: mqtt.Client | None = None
        self.ready = threading.Event()

    @property
    def mqtt_client(self) -> mqtt.Client:
        """The connected client (``start()`` first)."""
        if self.client is None:
            raise RuntimeError("central peer not started")
        return self.client

    # -- lifecycle --------------------------------------------------------------------------------
    def start(self) -> CentralPeer:
        self.ready.clear()
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=self.client_id, protocol=mqtt.MQTTv5)
        c.max_inflight_messages_set(0)
        c.on_connect = self._on_connect
        c.on_message = self._on_message
        c.on_subscribe = lambda *a: self.ready.set()
        c.connect(self.host, self.port, keepalive=30, clean_start=True)
        self.client = c
        c.loop_start()
        if not self.ready.wait(10):
            raise TimeoutError("central peer not subscribed")
        return self

    def stop(self) -> None:
        if self.client is not None:
            self.client.disconnect()
            self.client.loop_stop()
            self.client = None

    def __enter__(self) -> CentralPeer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def _on_connect(self, client, _ud, _flags, reason, _props) -> None:
        if reason.is_failure:
            return
        subs = [(f"$share/central/gov/v1/up/+/{k}", SubscribeOptions(qos=1))
                for k in ("case", "blob", "event", "request")]
        subs.append(("gov/v1/up/+/state", SubscribeOptions(qos=1)))
        client.subscribe(subs)

    # -- acks -------------------------------------------------------------------------------------
    def _ack(self, device: str, ref: str, result: str, detail: dict | None = None) -> None:
        if self.drop_acks and self.rand.random() < self.drop_acks:
            return
        body = json.dumps({"type": "ack", "v": 1, "ref": ref, "result": result, "at": _now(),
                           "server_time": self.server_time(), "detail": detail or {}}).encode()
        times = 2 if self.dup_acks and self.rand.random() < self.dup_acks else 1
        for _ in range(times):
            self.mqtt_client.publish(f"gov/v1/down/{device}/ack", body, qos=1)

    def _on_message(self, client, _ud, msg) -> None:
        parts = msg.topic.split("/")
        if len(parts) != 5:
            return
        device, kind = parts[3], parts[4]
        try:
            if kind == "blob":
                self._blob(device, msg)
                return
            body = json.loads(msg.payload)
            if kind == "state":
                with self.lock:
                    self.states.append(body)
            elif kind == "case":
                self._case(device, body)
            elif kind == "event":
                with self.lock:
                    self.events.append(body)
                self._ack(device, body["msg_id"], "accepted")
            elif kind == "request":
                self._request(device, body, msg.properties)
        except Exception as exc:
            print(f"central peer error: {exc!r}", file=sys.stderr)

    def _case(self, device: str, env: dict) -> None:
        msg_id, case_id = env["msg_id"], env["case_id"]
        with self.lock:
            self.case_msgs += 1
            self.case_msg_ids.setdefault(case_id, set()).add(msg_id)
            if msg_id in self.msg_outcome or case_id in self.cases:
                first = self.msg_outcome.get(msg_id) or self.msg_outcome.get(self.cases[case_id]["msg_id"])
                assert first is not None, "a case is stored only with its first message's outcome"
                result, detail = ("duplicate", first[1]) if first[0] != "rejected" else first
                self._ack(device, msg_id, result, detail)
                return
            decided = self.decide(env) if self.decide else None
            if decided is None:
                missing = [m["blob"]["id"] for m in env.get("materials", [])
                           if m.get("blob") and m["blob"]["id"] not in self.stored_blobs]
                if missing:
                    self._ack(device, msg_id, "incomplete", {"missing_blobs": missing})
                    return
                decided = ("accepted", {"case_no": f"C{len(self.cases) + 1:06d}", "promised_by": "2026-12-09",
                                        "status": "received"})
            result, detail = decided
            if result in ("accepted", "rejected"):
                self.msg_outcome[msg_id] = (result, detail)
            if result == "accepted":
                self.cases[case_id] = env
                self.case_order.append((device, env["seq"], case_id))
        self._ack(device, msg_id, result, detail)

    def _blob(self, device: str, msg) -> None:
        props = dict(msg.properties.UserProperty)
        blob_id, index, count = props["blob_id"], int(props["index"]), int(props["count"])
        with self.lock:
            self.chunk_msgs += 1
            self.chunk_log.append((blob_id, index))
            payload = bytes(msg.payload)
            if (blob_id, index) in self.corrupt_chunks:
                self.corrupt_chunks.discard((blob_id, index))
                payload = bytes([payload[0] ^ 0xFF]) + payload[1:]
            if (blob_id, index) in self.lose_chunks:
                self.lose_chunks.discard((blob_id, index))
                return
            if blob_id in self.stored_blobs:
                self._ack(device, props["msg_id"], "stored", {"blob_id": blob_id})
                return
            self.blob_meta[blob_id] = props
            chunks = self.blobs.setdefault(blob_id, {})
            chunks[index] = payload
            if len(chunks) == count:
                data = b"".join(chunks[i] for i in range(count))
                if hashlib.sha256(data).hexdigest() != props["sha256"] or len(data) != int(props["size"]):
                    del self.blobs[blob_id]
                    self._ack(device, props["msg_id"], "corrupt", {"blob_id": blob_id})
                    return
                self.stored_blobs[blob_id] = data
                del self.blobs[blob_id]
                self._ack(device, props["msg_id"], "stored", {"blob_id": blob_id})
            elif index == count - 1:
                missing = [i for i in range(count) if i not in chunks]
                self._ack(device, props["msg_id"], "missing", {"blob_id": blob_id, "missing_chunks": missing})

    def _request(self, device: str, body: dict, props) -> None:
        with self.lock:
            self.requests.append(body)
        handler = self.replies.get(body["type"])
        reply = handler(body) if handler else self._default_reply(body)
        if reply is None:
            return
        out = Properties(PacketTypes.PUBLISH)
        out.CorrelationData = props.CorrelationData
        def send() -> None:
            self.mqtt_client.publish(props.ResponseTopic, json.dumps(reply, ensure_ascii=False).encode(),
                                qos=1, properties=out)

        if self.reply_delay:
            threading.Timer(self.reply_delay, send).start()
        else:
            send()

    def _default_reply(self, body: dict) -> dict:
        if body["type"] == "case.query":
            with self.lock:
                hit = next((e for e in self.cases.values() if e["query_code"] == body["query_code"]), None)
            if hit is None:
                return {"type": "case.status", "v": 1, "found": False}
            return {"type": "case.status", "v": 1, "found": True,
                    "case": {"item_name": hit["item"]["code"], "status": "received", "steps": [],
                             "applicant_masked": "张*三", "promised_by": "2026-12-09"}}
        return {"type": body["type"], "v": 1, "ok": True}

    # -- test helpers -----------------------------------------------------------------------------
    def case_count(self) -> int:
        with self.lock:
            return len(self.cases)

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> None:
        self.mqtt_client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(5)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--broker", required=True)
    args = parser.parse_args()
    peer = CentralPeer(args.broker, client_id=f"central-peer-{time.time_ns() % 100000}").start()
    print(json.dumps({"device": "central-peer", "broker": args.broker}), flush=True)
    for line in sys.stdin:
        cmd = line.strip()
        if cmd == "stats":
            with peer.lock:
                print(json.dumps({"cases": len(peer.cases), "case_msgs": peer.case_msgs,
                                  "blobs": len(peer.stored_blobs), "chunk_msgs": peer.chunk_msgs,
                                  "order": [s for _, s, _ in peer.case_order]}), flush=True)
        elif cmd == "quit":
            break
    peer.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
