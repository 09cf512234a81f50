"""The layering rule (DESIGN §3), read from the import statements: drivers and edge_sync import neither each
other nor the kiosk, and the simulators, the other side of every wire, import none of the terminal's
packages."""
from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TERMINAL = {"drivers", "edge_sync", "kiosk"}
ALLOWED = {
    "drivers": {"drivers", "serial", "PIL", "pyzbar"},
    "edge_sync": {"edge_sync", "paho", "pydantic", "cryptography"},
}


def imported_roots(path: Path) -> set[str]:
    """Top-level names of every absolute import in the file (under TYPE_CHECKING too: a type is a crossing)."""
    roots = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots - set(sys.stdlib_module_names) - {"__future__"}


def imports_of(package: str) -> dict[str, set[str]]:
    return {str(p.relative_to(REPO)): imported_roots(p) for p in sorted((REPO / package).rglob("*.py"))}


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_lower_layers_import_only_what_the_rule_allows(package: str) -> None:
    found = imports_of(package)
    assert found, package
    wrong = {path: sorted(roots - ALLOWED[package]) for path, roots in found.items() if roots - ALLOWED[package]}
    assert wrong == {}


def test_the_simulators_import_nothing_of_the_terminal() -> None:
    wrong = {path: sorted(roots & TERMINAL) for path, roots in imports_of("simulators").items() if roots & TERMINAL}
    assert wrong == {}
