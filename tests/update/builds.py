"""Real update bundles for the tests: the terminal's wheel built from a copy of this repository (its version
set, optionally a defect planted in it), the dependency wheels ``scripts/bootstrap`` collected, signed by
the central simulator's release step. Built once per session and per variant."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from simulators.central.release import build_bundle
from simulators.central.signing import KeyRing

REPO = Path(__file__).resolve().parents[2]
WHEELHOUSE = REPO / ".venv" / "wheelhouse"
FIRMWARE = REPO / "firmware" / "io_board"
# The version the repository's firmware reports (firmware/io_board/version.py: FIRMWARE_VERSION = (1, 0, 0)).
FIRMWARE_VERSION = ".".join(re.findall(r"\d+", (FIRMWARE / "version.py").read_text().split("=", 1)[1]))
SOURCES = ("setup.py", "pyproject.toml", "kiosk", "drivers", "edge_sync")

# Defects planted in a copy of the source, each a (file, text, replacement): the text must be there, so
# that a change of the code fails here loudly instead of building a "bad" version that is not bad.
DEFECTS: dict[str, list[tuple[str, str, str]]] = {
    "good": [],
    # The service runs and its UI answers, but sync never reaches the broker.
    "offline": [("edge_sync/session.py", "host, port, _ = self.cfg.broker",
                 "host, port = '127.0.0.1', 9  # planted defect: a port nothing listens on")],
    # The service exits at once, every time systemd starts it.
    "crash": [("kiosk/cli/run.py", "def run(args: argparse.Namespace) -> int:\n",
               "def run(args: argparse.Namespace) -> int:\n    raise SystemExit('planted defect: does not start')\n")],
}


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "PYTHON"))}
    env["PIP_CONFIG_FILE"] = os.devnull
    return env


def dependency_wheels() -> list[Path]:
    wheels = sorted(p for p in WHEELHOUSE.glob("*.whl") if not p.name.startswith("gov_kiosk-"))
    if not any(p.name.startswith("pip-") for p in wheels):
        raise RuntimeError(f"no dependency wheels in {WHEELHOUSE}: run scripts/bootstrap")
    return wheels


def build_terminal_wheel(version: str, variant: str, work: Path) -> Path:
    """The gov_kiosk wheel of this repository at ``version`` with the defects of ``variant``."""
    src = work / f"src-{version}-{variant}"
    shutil.rmtree(src, ignore_errors=True)
    src.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in SOURCES:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=ignore)
        else:
            shutil.copy2(path, src / name)
    init = src / "kiosk" / "__init__.py"
    text = init.read_text("utf-8")
    assert '__version__ = "' in text
    init.write_text("\n".join(f'__version__ = "{version}"' if line.startswith("__version__") else line
                              for line in text.splitlines()) + "\n", "utf-8")
    for file, old, new in DEFECTS[variant]:
        target = src / file
        code = target.read_text("utf-8")
        assert old in code, f"the {variant} defect no longer applies to {file}"
        target.write_text(code.replace(old, new, 1), "utf-8")
    out = work / f"wheels-{version}-{variant}"
    shutil.rmtree(out, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "--no-index",
                    "-w", str(out), str(src)], check=True, env=clean_env(), capture_output=True, timeout=300)
    (wheel,) = out.glob("gov_kiosk-*.whl")
    return wheel


@dataclass
class BundleFactory:
    """Signed bundles by (version, variant, min_version, with firmware, key id), cached for the session."""

    work: Path
    keys: KeyRing
    _wheels: dict[tuple[str, str], Path] = field(default_factory=dict)
    _bundles: dict[tuple, Path] = field(default_factory=dict)

    def wheel(self, version: str, variant: str = "good") -> Path:
        key = (version, variant)
        if key not in self._wheels:
            self._wheels[key] = build_terminal_wheel(version, variant, self.work)
        return self._wheels[key]

    def bundle(self, version: str, variant: str = "good", min_version: str | None = None,
               firmware: Path | None = FIRMWARE, firmware_version: str | None = FIRMWARE_VERSION,
               key_id: str = "upd-2026") -> Path:
        """A bundle of this repository at ``version``; like a real one it brings the IO board firmware (the
        repository's, unless ``firmware`` names another folder or None)."""
        key = (version, variant, min_version, str(firmware), firmware_version, key_id)
        if key not in self._bundles:
            out = self.work / f"gov-kiosk-{version}-{variant}-{len(self._bundles)}.bundle"
            build_bundle(self.keys, out, version, [self.wheel(version, variant), *dependency_wheels()],
                         min_version=min_version or "0.0.1", firmware=firmware, firmware_version=firmware_version,
                         key_id=key_id)
            self._bundles[key] = out
        return self._bundles[key]
