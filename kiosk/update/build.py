"""Building a slot from a bundle, offline. The dependencies go into a layer of their own,
``<root>/deps/<id>``, where ``id`` is the hash of the dependency wheels' names and sha256: an update that
keeps its dependencies (most do) reuses the layer the running slot uses, and builds and stores only the
terminal's own wheel; an update that changes one builds a new layer beside the old. A layer is built in a
temporary folder and renamed into place (it exists only complete), is never written again, and is
removed (renamed away first) once no kept slot names it. The slot's virtual environment finds its layer
through a ``.pth`` file; ``pip check`` and an import of the new version prove the two fit."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from kiosk.update.bundle import verify_bundle
from kiosk.update.errors import InstallFailed
from kiosk.update.manifest import PRODUCT, BundleFile, Manifest, WheelName
from kiosk.update.slots import SLOT_FILE, Layout
from kiosk.update.state import SlotRef, now_iso, write_atomic
from kiosk.update.versions import Version

PIP_TIMEOUT_S = 900.0
SMOKE_TIMEOUT_S = 120.0
PTH_NAME = "kiosk-deps.pth"
# What the new environment must import for its service and for its own updater to work.
SMOKE = "import kiosk, kiosk.app, kiosk.assemble, kiosk.cli.run, kiosk.cli.update; print(kiosk.__version__)"


def base_python(configured: str = "") -> str:
    """The interpreter new environments are made from: the configured one, else the one under ours."""
    return configured or getattr(sys, "_base_executable", sys.executable)


def clean_env() -> dict[str, str]:
    """An environment in which pip reads no configuration: only the bundle's wheels may be installed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "PYTHON"))}
    env["PIP_CONFIG_FILE"] = os.devnull
    return env


def _run(argv: Sequence[str], what: str, timeout: float) -> str:
    try:
        done = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, env=clean_env(),
                              stdin=subprocess.DEVNULL, check=False)
    except subprocess.TimeoutExpired:
        raise InstallFailed(f"{what} took longer than {timeout:.0f} s") from None
    except OSError as exc:
        raise InstallFailed(f"{what} could not run: {exc}") from None
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise InstallFailed(f"{what} failed (exit {done.returncode}): {' | '.join(tail)[:400]}")
    return done.stdout


def pinned(wheels: Iterable[BundleFile]) -> str:
    """Requirements pinning each wheel to its version and sha256: pip installs exactly these or nothing."""
    lines = []
    for wheel in wheels:
        name = WheelName.parse(wheel.name)
        if name is not None:
            lines.append(f"{name.distribution}=={name.version} --hash=sha256:{wheel.sha256}")
    return "\n".join(lines) + "\n"


def split_wheels(manifest: Manifest) -> tuple[BundleFile, list[BundleFile]]:
    """(the terminal's own wheel, the dependency wheels)."""
    own = [w for w in manifest.wheels if (n := WheelName.parse(w.name)) is not None and n.distribution == PRODUCT]
    return own[0], [w for w in manifest.wheels if w is not own[0]]


def deps_id(deps: Iterable[BundleFile]) -> str:
    text = "\n".join(sorted(f"{w.name} {w.sha256}" for w in deps))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


def ensure_deps(layout: Layout, layer: str, deps: list[BundleFile], wheels: Path, pip: list[str]) -> Path:
    """The dependency layer ``layer``, built from ``wheels`` unless it exists (then it is complete)."""
    target = layout.deps / layer
    if target.is_dir():
        return target
    layout.deps.mkdir(parents=True, exist_ok=True)
    tmp = layout.deps / f".{layer}.{os.getpid()}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    requirements = layout.deps / f".{layer}.{os.getpid()}.txt"
    requirements.write_text(pinned(deps), "utf-8")
    try:
        _run([*pip, "install", "--no-index", "--find-links", str(wheels), "--require-hashes", "--no-deps",
              "--only-binary", ":all:", "--no-cache-dir", "--target", str(tmp), "-r", str(requirements)],
             "pip install of the dependencies", PIP_TIMEOUT_S)
        os.replace(tmp, target)
    finally:
        requirements.unlink(missing_ok=True)
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def remove_unused_deps(layout: Layout, keep_slots: Iterable[str]) -> None:
    """Removes layers no kept slot names, and leftovers of interrupted builds. A layer is renamed away
    first, so that a kill in the middle of the removal never leaves a partial layer under its name."""
    used = set()
    for name in keep_slots:
        record = layout.slot_record(name)
        if record is not None and isinstance(record.get("deps"), str):
            used.add(record["deps"])
    if not layout.deps.is_dir():
        return
    for path in layout.deps.iterdir():
        if path.name in used:
            continue
        if not path.name.startswith("."):
            doomed = layout.deps / f".{path.name}.removing"
            os.replace(path, doomed)
            path = doomed
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def build_slot(layout: Layout, name: str, bundle: Path, keys: Mapping[str, Ed25519PublicKey],
               running: Version | None, python: str) -> SlotRef:
    """Builds slot ``name`` from ``bundle`` from scratch (a partial one is removed first) and returns its
    record. The bundle is verified again while it is unpacked: what was checked earlier is not trusted.

    Raises a BundleRefused subclass (the bundle) or InstallFailed (pip, the new version does not import);
    the partial slot is left for the caller to remove."""
    folder = layout.slot_dir(name)
    layout.remove_slot(name)
    folder.mkdir(parents=True)
    files = folder / "files"
    manifest = verify_bundle(bundle, keys, running, dest=files)
    venv = folder / "venv"
    _run([python, "-m", "venv", "--without-pip", str(venv)], "making the virtual environment", SMOKE_TIMEOUT_S)
    slot_python = str(venv / "bin" / "python")
    own, deps = split_wheels(manifest)
    pip_wheel = next(files / w.path for w in deps if (n := WheelName.parse(w.name)) and n.distribution == "pip")
    pip = [slot_python, str(pip_wheel / "pip"), "--isolated", "--disable-pip-version-check", "--no-input"]
    layer = deps_id(deps)
    deps_path = ensure_deps(layout, layer, deps, files / "wheels", pip)
    site = _site_packages(slot_python)
    (site / PTH_NAME).write_text(f"{deps_path.resolve()}\n", "utf-8")
    (folder / "requirements.txt").write_text(pinned([own]), "utf-8")
    _run([*pip, "install", "--no-index", "--find-links", str(files / "wheels"), "--require-hashes", "--no-deps",
          "--only-binary", ":all:", "--no-cache-dir", "-r", str(folder / "requirements.txt")],
         "pip install of the terminal's wheel", PIP_TIMEOUT_S)
    _run([*pip, "check"], "pip check of the new version against its dependencies", SMOKE_TIMEOUT_S)
    reported = _run([slot_python, "-I", "-c", SMOKE], "the new version's import check", SMOKE_TIMEOUT_S).strip()
    if reported != str(manifest.version):
        raise InstallFailed(f"the new environment reports version {reported[:40]!r}, "
                            f"the bundle says {manifest.version}")
    if manifest.firmware:
        os.replace(files / "firmware", layout.firmware_dir(name))
    shutil.rmtree(files, ignore_errors=True)
    slot = SlotRef(name, str(manifest.version), manifest.firmware_version)
    record = {"name": name, "version": slot.version, "firmware_version": slot.firmware_version, "deps": layer,
              "created_at": now_iso(), "bundle": bundle.name}
    write_atomic(folder / SLOT_FILE, json.dumps(record, ensure_ascii=False).encode("utf-8"))
    return slot


def _site_packages(python: str) -> Path:
    out = _run([python, "-I", "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
               "finding the new environment's site-packages", SMOKE_TIMEOUT_S)
    return Path(out.strip())
