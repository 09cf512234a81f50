"""Compiled catalogs (kiosk.catalog.store): compiled once per version, read back from disk with the same
answers as the JSON, details read on use, damaged or stale files compiled again, two kept; compiled by a
short-lived child so that the serving process never parses the JSON nor holds pypinyin."""
from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from kiosk.catalog import Catalog, CatalogError
from kiosk.catalog import compiled as compiled_module
from kiosk.catalog.compiled import CompiledDetails
from kiosk.catalog.compiler import EXIT_UNUSABLE, main
from kiosk.catalog.pinyin import InProcessPinyin, Syllables
from kiosk.catalog.store import CatalogStore, CompilerUnavailable
from kiosk.catalog.terms import WordTable, builtin_words

REPO = Path(__file__).resolve().parents[2]
QUERIES = [row["q"] for row in json.loads((REPO / "tests/data/everyday-queries.json").read_text("utf-8"))["queries"]]


class Recording:
    """A PinyinSource that computes in this process and remembers what it was asked."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def syllables(self, texts: Sequence[str]) -> list[Syllables]:
        self.asked += texts
        return InProcessPinyin().syllables(texts)


class Refusing:
    """A PinyinSource for loads that must not compute any pinyin."""

    def syllables(self, texts: Sequence[str]) -> list[Syllables]:
        raise AssertionError(f"pinyin asked for {list(texts)[:3]}")


def answers(catalog: Catalog) -> list[list[tuple]]:
    return [[(f.item.code, f.score, f.kind, f.how, f.term) for f in catalog.find(q).found] for q in QUERIES]


def test_compiled_catalog_answers_like_the_json(tmp_path, aliased_file, aliased):
    compiled = CatalogStore(tmp_path, Recording()).from_file(aliased_file)
    assert answers(compiled) == answers(aliased)
    assert [compiled.item_view(i) for i in compiled.items.values()] == \
        [aliased.item_view(i) for i in aliased.items.values()]
    assert compiled.home() == aliased.home()
    assert compiled.calendar.holidays == aliased.calendar.holidays
    assert [p.name for p in tmp_path.iterdir()] == [next(tmp_path.glob("file-*.sqlite")).name]


def test_second_start_reads_the_compiled_file_and_computes_nothing(tmp_path, aliased_file):
    first = Recording()
    CatalogStore(tmp_path, first).from_file(aliased_file)
    assert len(first.asked) > 100
    again = CatalogStore(tmp_path, Refusing()).from_file(aliased_file)
    assert again.find("shebaoka").found[0].item.code == "511900-GG-0002"


def test_a_new_version_computes_pinyin_only_for_new_strings(tmp_path, aliased_raw):
    store = CatalogStore(tmp_path, Recording())
    store.install(1, aliased_raw)
    raw = copy.deepcopy(aliased_raw)
    raw["version"] = 2
    raw["items"][0]["aliases"] = ["开办新公司"]
    source = Recording()
    store.pinyin = source
    catalog = store.install(2, raw)
    assert source.asked == ["开办新公司"]
    assert catalog.version == 2 and catalog.find("kaibanxingongsi").found[0].item.code == "511900-XK-0001"


def test_details_are_read_from_disk_when_a_page_opens(tmp_path, aliased_file, monkeypatch):
    monkeypatch.setattr(compiled_module, "DETAILS_CACHED", 4)
    catalog = CatalogStore(tmp_path, Recording()).from_file(aliased_file)
    source = next(iter(catalog.items.values())).source
    assert isinstance(source, CompiledDetails) and source.cached() == 0
    for item in catalog.items.values():
        assert item.situations and item.steps
    assert source.cached() == 4  # the last pages opened, not the whole catalog


def test_damaged_stale_or_foreign_files_are_compiled_again(tmp_path, aliased_file):
    CatalogStore(tmp_path, Recording()).from_file(aliased_file)
    path = next(tmp_path.glob("file-*.sqlite"))
    path.write_bytes(b"not a database" * 100)
    source = Recording()
    assert CatalogStore(tmp_path, source).from_file(aliased_file).find("yyzz").found
    assert source.asked  # compiled again
    other_table = WordTable.parse(json.dumps({"groups": [{"words": ["开个公司"], "concepts": ["企业设立"]}]}).encode())
    source = Recording()
    catalog = CatalogStore(tmp_path, source, words=other_table).from_file(aliased_file)
    assert source.asked and catalog.find("开个公司").found[0].item.code == "511900-XK-0001"
    assert CatalogStore(tmp_path, Recording(), words=builtin_words()).from_file(aliased_file).find("社保卡").found


def test_changing_the_json_file_compiles_it_again(tmp_path, aliased_raw):
    file = tmp_path / "catalog.json"
    file.write_text(json.dumps(aliased_raw, ensure_ascii=False), "utf-8")
    store = CatalogStore(tmp_path / "compiled", Recording())
    assert store.from_file(file).version == 1
    file.write_text(json.dumps({**aliased_raw, "version": 9}, ensure_ascii=False), "utf-8")
    assert store.from_file(file).version == 9


def test_the_version_in_use_and_the_one_before_are_kept(tmp_path, aliased_raw):
    store = CatalogStore(tmp_path, Recording())
    for version in range(1, 5):
        store.install(version, {**aliased_raw, "version": version})
        os.utime(tmp_path / f"central-v{version}.sqlite", ns=(version * 10**9, version * 10**9))
    assert sorted(p.name for p in tmp_path.glob("*.sqlite")) == ["central-v3.sqlite", "central-v4.sqlite"]
    found = store.installed(4, raw=lambda: pytest.fail("compiled version read from JSON"))
    assert found is not None and found.version == 4
    assert store.installed(8, raw=lambda: None) is None


def test_without_a_folder_nothing_is_kept(tmp_path, aliased_file):
    catalog = CatalogStore(None, Recording()).from_file(aliased_file)
    assert catalog.find("社保卡").found and not list(tmp_path.iterdir())


def test_the_child_compiles_what_this_process_would(tmp_path, aliased_file, aliased_raw, aliased):
    child = CatalogStore(tmp_path / "child")
    assert child.in_child
    compiled = child.from_file(aliased_file)
    assert child.last_computed > 100 and answers(compiled) == answers(aliased)
    again = child.install(2, {**aliased_raw, "version": 2})   # from a dict, as edge_sync hands it over
    assert child.last_computed == 0 and again.version == 2 and answers(again) == answers(aliased)
    assert not list((tmp_path / "child").glob("*.json"))      # the spooled JSON is gone


def test_the_child_refuses_a_bad_catalog_by_name_and_reports_its_own_failures(tmp_path, aliased_raw):
    bad = copy.deepcopy(aliased_raw)
    bad["items"][3]["promised_days"] = "soon"
    with pytest.raises(CatalogError, match="item 511900-XK-0004: field 'promised_days'"):
        CatalogStore(tmp_path).install(9, bad)
    with pytest.raises(CompilerUnavailable, match="did not run"):
        CatalogStore(tmp_path, python=str(tmp_path / "no-python")).install(9, aliased_raw)
    (tmp_path / "bad.json").write_text("[1, 2]", "utf-8")
    assert main([str(tmp_path / "bad.json"), str(tmp_path / "x.sqlite"), "k"]) == EXIT_UNUSABLE
    assert not (tmp_path / "x.sqlite").exists()


SERVING = """
import json, sys, time
from kiosk.assemble import assemble
from kiosk.config import load_config
config = load_config(None, env={"KIOSK_DEVICE_DATA_DIR": sys.argv[1], "KIOSK_SYNC_ENABLED": "false"})
kiosk, _ = assemble(config, sys.argv[2])
raw = json.load(open(sys.argv[2], encoding="utf-8"))
raw["version"] = 7
kiosk.on_catalog(7, raw)  # as edge_sync does: compiled and swapped in by a thread of its own
del raw
deadline = time.monotonic() + 60
while kiosk.catalog.version != 7 and time.monotonic() < deadline:
    time.sleep(0.05)
print(json.dumps({"pypinyin": "pypinyin" in sys.modules, "version": kiosk.catalog.version,
                  "found": [i.code for i in kiosk.catalog.search("shebaoka")][:1]}))
"""


def test_the_serving_process_never_imports_pypinyin(tmp_path, aliased_file):
    for run in ("cold", "warm"):
        done = subprocess.run([sys.executable, "-c", SERVING, str(tmp_path), str(aliased_file)], cwd=REPO,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]
        assert json.loads(done.stdout) == {"pypinyin": False, "version": 7, "found": ["511900-GG-0002"]}, run
    assert sorted(p.name.split("-")[0] for p in (tmp_path / "catalog").glob("*.sqlite")) == ["central", "file"]
