"""Catalog once per version: terminals receive the catalog bytes once per change (≤ 1.05 × the compressed
catalog, MQTT topics included), a central restart sends nothing, old versions are cleared from the broker,
a new terminal fetches only the current version, and two central instances publish a version once."""
from __future__ import annotations

import json
import random
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from tests.fleet.harness import Fleet, start_central, stats, wait_until

pytestmark = pytest.mark.integration

WIRE_OVERHEAD = 5   # fixed header, packet id, property length of a QoS 1 PUBLISH (besides topic and payload)


def catalog_keys(keys_dir: Path) -> dict[str, str]:
    return {"cat-2026": (keys_dir / "cat-2026.pub").read_text().strip()}


def count_catalog_bytes(engine) -> list[int]:
    """Wraps the engine's message callback: bytes of every catalog message it receives, topic included."""
    total = [0]
    inner = engine.session._on_message

    def counting(msg):
        if msg.topic.startswith("gov/v1/catalog/"):
            total[0] += len(msg.topic) + len(msg.payload) + WIRE_OVERHEAD
        inner(msg)
    engine.session._on_message = counting
    return total


def big_catalog(base: dict, version: int, items: int) -> dict:
    """The sample catalog with many more items (random names: gzip cannot fold them away)."""
    rng = random.Random(version)
    extra = [{**base["items"][i % len(base["items"])], "code": f"511900-ZZ-{version}{i:05d}",
              "name": "".join(chr(0x4E00 + rng.randrange(0x5000)) for _ in range(40))} for i in range(items)]
    return {**base, "version": version, "items": base["items"] + extra}


def installed(engine) -> int | None:
    current = engine.current_catalog()
    return None if current is None else current[0]


def test_catalog_change_costs_each_terminal_one_compressed_catalog(broker, tmp_path, catalog_file):
    base = json.loads(Path(catalog_file).read_text(encoding="utf-8"))
    v2 = tmp_path / "catalog-v2.json"
    v2.write_text(json.dumps(big_catalog(base, 2, 1500), ensure_ascii=False), encoding="utf-8")
    central = start_central(broker.url, tmp_path, catalog_file)
    keys = catalog_keys(tmp_path / "keys")
    fleet = Fleet(broker.url, tmp_path, 2, catalog_keys=keys)
    late = None
    try:
        counters = [count_catalog_bytes(e) for e in fleet.engines]
        fleet.start()
        wait_until(lambda: all(installed(e) == 1 for e in fleet.engines), 20, "v1 installed")
        v1_size = fleet.engines[0].store.scalar("SELECT length(data) FROM catalog WHERE version = 1")
        assert all(c[0] <= 1.05 * v1_size for c in counters), (counters, v1_size)

        before = [c[0] for c in counters]
        births = [e.drain.stats["central_births"] for e in fleet.engines]
        central.stop()
        central = start_central(broker.url, tmp_path, catalog_file)
        wait_until(lambda: all(e.drain.stats["central_births"] > b
                               for e, b in zip(fleet.engines, births, strict=True)), 20, "central's birth seen")
        time.sleep(0.5)
        assert [c[0] for c in counters] == before            # a restart re-sends nothing
        assert stats(central)["catalog_publications"] == 0

        central.send(f"publish-catalog {v2}")
        wait_until(lambda: all(installed(e) == 2 for e in fleet.engines), 30, "v2 installed")
        v2_size = fleet.engines[0].store.scalar("SELECT length(data) FROM catalog WHERE version = 2")
        parts = json.loads(fleet.engines[0].store.query(
            "SELECT manifest FROM catalog WHERE version = 2")[0][0])["parts"]
        assert parts >= 3      # a catalog of several parts: each is fetched once
        assert all(c[0] - b <= 1.05 * v2_size
                   for c, b in zip(counters, before, strict=True)), (counters, before, v2_size)

        retained = _retained(broker.port)
        assert {t for t, p in retained.items() if p} == {"gov/v1/catalog/manifest"} | {
            f"gov/v1/catalog/2/part/{n}" for n in range(parts)}      # v1's part is cleared

        late = Fleet(broker.url, tmp_path / "late", 1, first=10, catalog_keys=keys)
        counter = count_catalog_bytes(late.engines[0])
        late.start()
        wait_until(lambda: installed(late.engines[0]) == 2, 30, "a new terminal installs v2")
        assert counter[0] <= 1.05 * v2_size                   # only the current version, once
    finally:
        fleet.stop()
        if late is not None:
            late.stop()
        central.stop()


def test_two_instances_starting_together_publish_once(broker, tmp_path, catalog_file):
    sims: list = [None, None]

    def start(n: int) -> None:
        sims[n] = start_central(broker.url, tmp_path, catalog_file, "--instance", f"central-{n}")
    threads = [threading.Thread(target=start, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    try:
        assert all(sims)
        assert sum(stats(s)["catalog_publications"] for s in sims) == 1
    finally:
        for s in sims:
            if s is not None:
                s.stop()


def _retained(port: int, quiet: float = 1.0) -> dict[str, bytes]:
    """Every retained catalog message the broker holds, as a fresh subscriber sees them."""
    got: dict[str, bytes] = {}
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"probe-{time.time_ns()}",
                         protocol=mqtt.MQTTv5)
    client.on_message = lambda _c, _u, msg: got.__setitem__(msg.topic, bytes(msg.payload))
    client.connect("127.0.0.1", port)
    client.subscribe("gov/v1/catalog/#", qos=1)
    client.loop_start()
    time.sleep(quiet)
    client.loop_stop()
    client.disconnect()
    return got
