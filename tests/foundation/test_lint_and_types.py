"""ruff over the whole tree and mypy over the four packages, bench/ and tests/, with the settings in pyproject.toml:
any finding fails CI. Both tools are pinned in setup.py's dev extras (a newer ruff brings new rules, a newer mypy new
inferences), so a finding here is one the change under test introduced.

Each check also asserts that the tool looked at the packages at all, so that an ``exclude`` grown too wide
cannot turn the check into one that always passes."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("drivers", "edge_sync", "kiosk", "simulators")
# Checked by mypy besides the packages: the benches and the tests (a test's wrong types hide what it checks).
TYPED_FOLDERS = (*PACKAGES, "bench", "tests")


def run(args: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, timeout=timeout,
                          cwd=REPO, check=False)


def test_ruff_finds_nothing_in_the_tree() -> None:
    listed = run(["ruff", "check", "--no-cache", "--show-files", "."], timeout=120)
    assert listed.returncode == 0, listed.stderr
    checked = {Path(line.strip()).resolve().relative_to(REPO).parts[0]
               for line in listed.stdout.splitlines() if line.strip().endswith(".py")}
    assert {*PACKAGES, "tests", "bench"} <= checked
    result = run(["ruff", "check", "--no-cache", "--output-format", "concise", "."], timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_finds_nothing_in_the_packages_benches_and_tests(tmp_path: Path) -> None:
    """mypy over the packages, bench/ and tests/ in one run: cold (a fresh cache), about 10 s here; the
    timeout leaves room for a slow, shared machine."""
    # A cache of its own: a stale cache from another checkout or version can hide or invent errors.
    # bench/ is a folder of scripts, not a package, and tests/ is named from the repository's root too
    # (tests.support...): --explicit-package-bases names every module from there.
    result = run(["mypy", "--cache-dir", str(tmp_path / "mypy-cache"), "--explicit-package-bases",
                  *TYPED_FOLDERS], timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    summary = re.search(r"no issues found in (\d+) source files", result.stdout)
    assert summary, result.stdout
    sources = sum(1 for folder in TYPED_FOLDERS for _ in (REPO / folder).rglob("*.py"))
    # Only the MicroPython code (the simulated board's scripts, the firmware's test scripts under
    # tests/ioboard/mp/) and simulators/setup.py are excluded.
    assert int(summary.group(1)) >= 0.9 * sources, (summary.group(1), sources)
