"""Downlink blobs: the real edge_sync engine fetches a file central offers, by chunk, over a real mosquitto
from the central simulator; interrupted, it asks again only for the chunks it does not hold; an unknown
blob is a clear error; chunks that do not fit are dropped, never written."""
from __future__ import annotations

import hashlib
import json
import os
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge_sync import SyncConfig, SyncEngine
from edge_sync.fetch import WINDOW, DownBlob, FetchError, parse_chunk
from simulators.central.downblobs import publish_blob

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]
DEVICE = "KSK-511902-0301"
CHUNK = 64 * 1024


def engine_for(hall, data) -> SyncEngine:
    config = SyncConfig(device_id=DEVICE, site_id="511902-HALL-01", mqtt_url=hall.broker.url, data_dir=data,
                        min_free_mb=1, reconnect_min_s=0.2, reconnect_max_s=1.0)
    engine = SyncEngine(config).start()
    assert engine.wait_online(15)
    return engine


@pytest.fixture
def offered(hall, tmp_path) -> tuple[DownBlob, bytes]:
    data = os.urandom(40 * CHUNK + 123)
    source = tmp_path / "payload.bin"
    source.write_bytes(data)
    return DownBlob.parse(publish_blob(hall.bundles, source, CHUNK)), data


def test_an_interrupted_fetch_asks_only_for_what_is_missing(hall, tmp_path, offered):
    blob, data = offered
    dest = tmp_path / "data" / "blob.bin"
    stop = threading.Event()
    first = engine_for(hall, tmp_path / "data")
    try:
        with pytest.raises(FetchError) as cancelled:
            first.fetch_blob(blob, dest, lambda have, count: stop.set() if have >= 12 else None, stop)
        assert cancelled.value.code == "cancelled"
        written_first = first.fetcher.written
    finally:
        first.stop()
    held = json.loads(dest.with_name("blob.bin.have").read_text())["have"]
    assert 12 <= len(held) <= written_first and not dest.exists()

    again = engine_for(hall, tmp_path / "data")   # a restart: a new engine on the same data dir
    try:
        assert again.fetch_blob(blob, dest) == dest
        assert again.fetcher.written == blob.count - len(held)    # nothing held is asked for again
        assert again.fetcher.dropped == 0
    finally:
        again.stop()
    assert dest.read_bytes() == data
    assert not dest.with_name("blob.bin.part").exists() and not dest.with_name("blob.bin.have").exists()
    assert blob.count == 41 and blob.count > WINDOW


def test_an_unknown_blob_is_refused_by_central(hall, tmp_path):
    engine = engine_for(hall, tmp_path / "data")
    try:
        blob = DownBlob("upd-" + "0" * 32, 1000, "0" * 64, 1024)
        with pytest.raises(FetchError) as refused:
            engine.fetch_blob(blob, tmp_path / "x.bin")
        assert refused.value.code == "unknown_blob"
    finally:
        engine.stop()


BLOB = DownBlob("upd-abc", 5000, hashlib.sha256(b"").hexdigest(), 1024)


def props(index: int, data: bytes, **changes: str) -> dict[str, str]:
    base = {"blob_id": BLOB.blob_id, "index": str(index), "count": str(BLOB.count), "size": str(BLOB.size),
            "sha256": BLOB.sha256, "chunk_sha256": hashlib.sha256(data).hexdigest()}
    return {**base, **changes}


def test_chunks_that_do_not_fit_are_refused():
    good = bytes(1024)
    assert parse_chunk(BLOB, good, props(0, good)).index == 0
    last = bytes(5000 - 4 * 1024)
    assert parse_chunk(BLOB, last, props(4, last)).data == last
    for payload, user in ((good, props(0, good, blob_id="upd-other")), (good, props(5, good)),
                          (good[:-1], props(0, good[:-1])), (good, props(0, good, chunk_sha256="0" * 64)),
                          (good, props(0, good, count="9")), (good, {"blob_id": BLOB.blob_id})):
        with pytest.raises(ValueError):
            parse_chunk(BLOB, payload, user)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=1100), st.dictionaries(st.sampled_from(["blob_id", "index", "count", "size", "sha256",
                                                                  "chunk_sha256", "x"]),
                                                 st.text(max_size=70), max_size=7))
def test_random_chunks_are_refused_or_fit_exactly(payload, user):
    try:
        chunk = parse_chunk(BLOB, payload, user)
    except ValueError:
        return
    assert len(chunk.data) == BLOB.chunk_len(chunk.index)
    assert hashlib.sha256(chunk.data).hexdigest() == user["chunk_sha256"]


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["blob_id", "size", "sha256", "chunk_size"]),
                       st.one_of(st.integers(-5, 10**10), st.text(max_size=70), st.none(), st.booleans()), max_size=4))
def test_blob_descriptions_from_a_command_are_checked(raw):
    try:
        blob = DownBlob.parse(raw)
    except ValueError:
        return
    assert blob.size > 0 and 1024 <= blob.chunk_size <= 262144 and blob.count >= 1
