"""The catalog compiler's pinyin helper (kiosk.catalog.compiler.ForkedPinyin): the compiled file is the
same with and without it, one core means no helper, a helper that dies is replaced by the compiler's own
work (logged), and a compiler killed mid-way leaves no helper behind."""
from __future__ import annotations

import copy
import json
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from kiosk.catalog import compiler
from kiosk.catalog.compiler import ForkedPinyin
from kiosk.catalog.pinyin import InProcessPinyin

TWO_CORES = pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="the helper needs a second core")


def compile_file(source: Path, dest: Path, cores: set[int] | None = None) -> dict[str, Any]:
    argv = [sys.executable, "-m", "kiosk.catalog.compiler", str(source), str(dest), "k"]
    done = subprocess.run(argv, capture_output=True, timeout=120, check=True,
                          preexec_fn=(lambda: os.sched_setaffinity(0, cores)) if cores else None)
    answer: dict[str, Any] = json.loads(done.stdout.decode().splitlines()[-1])
    return answer


def terms(path: Path) -> list[tuple[str, str, bytes]]:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT text, syllables, users FROM terms ORDER BY id").fetchall()


@TWO_CORES
def test_the_file_is_the_same_with_the_helper_and_on_one_core(tmp_path, aliased_file):
    both = compile_file(aliased_file, tmp_path / "two.sqlite")
    one = compile_file(aliased_file, tmp_path / "one.sqlite", cores={min(os.sched_getaffinity(0))})
    assert both == one and both["computed"] > 100
    assert terms(tmp_path / "two.sqlite") == terms(tmp_path / "one.sqlite")


def test_no_helper_on_one_core(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0})
    pinyin = ForkedPinyin()
    assert not pinyin.forked
    assert pinyin.syllables(["营业执照"]) == [("ying", "ye", "zhi", "zhao")]


def die(texts: list[str]) -> None:
    os._exit(9)


@TWO_CORES
def test_a_helper_that_dies_is_replaced_by_the_compilers_own_work(monkeypatch, caplog):
    # The helper is forked from this process, so it runs the patched function: it dies on its task.
    monkeypatch.setattr(compiler, "_syllables", die)
    pinyin = ForkedPinyin()
    try:
        assert pinyin.forked
        with caplog.at_level(logging.WARNING, logger="kiosk.catalog.compiler"):
            got = pinyin.syllables(["银行", "社会保障卡"])
    finally:
        pinyin.close()
    assert got == InProcessPinyin().syllables(["银行", "社会保障卡"])
    assert not pinyin.forked
    assert "pinyin helper failed" in caplog.text and "computing here" in caplog.text


def children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found.update(int(c) for c in (task / "children").read_text().split())
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


@TWO_CORES
def test_a_compiler_killed_mid_way_leaves_no_helper(tmp_path, aliased_raw):
    big = copy.deepcopy(aliased_raw)
    base = big["items"]
    big["items"] = [{**copy.deepcopy(base[n % len(base)]), "code": f"511900-T-{n:05d}",
                     "name": f"{base[n % len(base)]['name']}{n}"} for n in range(3000)]
    source = tmp_path / "big.json"
    source.write_text(json.dumps(big, ensure_ascii=False), "utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "kiosk.catalog.compiler", str(source),
                             str(tmp_path / "big.sqlite"), "k"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    helper = None
    try:
        deadline = time.monotonic() + 30
        while helper is None and time.monotonic() < deadline and proc.poll() is None:
            helper = next(iter(children(proc.pid)), None)
            time.sleep(0.005)
        assert helper is not None, "the compiler never started its helper"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        deadline = time.monotonic() + 10
        while alive(helper) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not alive(helper), "the helper outlived its compiler"
        assert not (tmp_path / "big.sqlite").exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        if helper is not None and alive(helper):
            os.kill(helper, signal.SIGKILL)
