"""Bundles as the terminal reads them: a real bundle (the terminal's wheel built from this repository, its
dependency wheels, signed by the central simulator's release step) verifies; unsigned, wrongly signed,
unknown-key, downgraded and truncated bundles, and every other damage, are refused with a clear error
before anything is installed."""
from __future__ import annotations

import json
import shutil
import tarfile
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge_sync.crypto import load_public_keys
from kiosk.trust import plan_rotation
from kiosk.update.bundle import read_manifest, verify_bundle
from kiosk.update.errors import (
    BundleBadSignature,
    BundleCorrupt,
    BundleDowngrade,
    BundleMalformed,
    BundleNeedsNewer,
    BundleRefused,
    BundleSameVersion,
    BundleTruncated,
    BundleUnknownKey,
    BundleUnsigned,
)
from kiosk.update.manifest import MANIFEST_TYPE, parse_manifest
from kiosk.update.versions import Version
from simulators.central.release import ReleaseError, build_bundle
from simulators.central.signing import UPDATE_KEY, KeyRing
from tests.update.builds import dependency_wheels
from tests.update.conftest import rebundle

V1 = Version.parse("0.1.0")


@pytest.fixture(scope="module")
def good(bundles) -> Path:
    return bundles.bundle("0.2.0", min_version="0.1.0")


@pytest.fixture(scope="module")
def small(bundles, release_keys, tmp_path_factory) -> Path:
    """A verifiable bundle of two wheels (the terminal's and pip): cheap to copy for property tests."""
    pip = next(w for w in dependency_wheels() if w.name.startswith("pip-"))
    out = tmp_path_factory.mktemp("small") / "small.bundle"
    build_bundle(release_keys, out, "0.2.0", [bundles.wheel("0.2.0"), pip], min_version="0.1.0")
    return out


def test_a_real_bundle_verifies_and_holds_the_terminal_but_never_the_simulators(good, accepted, tmp_path):
    manifest = verify_bundle(good, accepted, V1, dest=tmp_path / "files")
    assert str(manifest.version) == "0.2.0" and manifest.key_id == UPDATE_KEY
    names = {f.name.split("-")[0] for f in manifest.wheels}
    assert {"gov_kiosk", "pip", "paho_mqtt", "cryptography", "pydantic", "aiohttp"} <= names
    assert "gov_kiosk_sim" not in names
    for wheel in manifest.wheels:
        with zipfile.ZipFile(tmp_path / "files" / wheel.path) as archive:
            assert not any(n.startswith("simulators/") for n in archive.namelist()), wheel.name
    # Every file landed with the size the signed manifest gives.
    assert all((tmp_path / "files" / f.path).stat().st_size == f.size for f in manifest.files)


def test_unsigned_bundle_is_refused(good, accepted, tmp_path):
    bad = rebundle(good, tmp_path / "b.bundle", lambda m: {k: v for k, v in m.items() if k != "sig"})
    with pytest.raises(BundleUnsigned, match="not signed"):
        verify_bundle(bad, accepted, V1)


def test_bundle_signed_by_another_key_under_our_key_id_is_refused(good, accepted, tmp_path, bundles):
    impostor = KeyRing(tmp_path / "impostor").ensure(UPDATE_KEY)
    out = tmp_path / "b.bundle"
    build_bundle(impostor, out, "0.2.0", [bundles.wheel("0.2.0"), *dependency_wheels()], min_version="0.1.0")
    with pytest.raises(BundleBadSignature, match="does not verify"):
        verify_bundle(out, accepted, V1)


def test_a_manifest_changed_after_signing_is_refused(good, accepted, tmp_path):
    def widen(manifest: dict) -> dict:
        return {**manifest, "min_version": "0.0.1"}
    with pytest.raises(BundleBadSignature):
        verify_bundle(rebundle(good, tmp_path / "b.bundle", widen), accepted, V1)


def test_key_rotation_as_for_commands(bundles, release_keys, update_keys_b64):
    """Signed by the new key: refused before the terminal has it, accepted during and after the
    rotation; signed by the retired key: refused once it is retired."""
    new_b64 = release_keys.public_keys()["upd-2027"]
    rotation = plan_rotation(update_keys_b64, "upd-2027", new_b64, retire=UPDATE_KEY)
    by_new = bundles.bundle("0.2.0", min_version="0.1.0", key_id="upd-2027")
    by_old = bundles.bundle("0.2.0", min_version="0.1.0")
    with pytest.raises(BundleUnknownKey, match="upd-2027"):
        verify_bundle(by_new, load_public_keys(update_keys_b64), V1)
    assert str(verify_bundle(by_new, load_public_keys(rotation.during), V1).version) == "0.2.0"
    assert str(verify_bundle(by_old, load_public_keys(rotation.during), V1).version) == "0.2.0"
    assert str(verify_bundle(by_new, load_public_keys(rotation.after), V1).version) == "0.2.0"
    with pytest.raises(BundleUnknownKey):
        verify_bundle(by_old, load_public_keys(rotation.after), V1)


def test_version_rules(good, accepted):
    with pytest.raises(BundleDowngrade, match=r"older than the running 0\.3\.0"):
        verify_bundle(good, accepted, Version.parse("0.3.0"))
    with pytest.raises(BundleSameVersion):
        verify_bundle(good, accepted, Version.parse("0.2.0"))
    with pytest.raises(BundleNeedsNewer, match=r"only over 0\.1\.0"):
        verify_bundle(good, accepted, Version.parse("0.0.9"))
    # 0.10.0 is newer than 0.9.0: versions compare as numbers.
    assert Version.parse("0.10.0") > Version.parse("0.9.0")


@pytest.mark.parametrize("where", ["manifest", "middle", "end-marker", "last-byte"])
def test_truncated_bundle_is_refused_clearly(good, accepted, tmp_path, where):
    size = good.stat().st_size
    cut = {"manifest": 700, "middle": size // 2, "end-marker": size - 1500, "last-byte": size - 1}[where]
    copy = tmp_path / "cut.bundle"
    shutil.copyfile(good, copy)
    with open(copy, "r+b") as handle:
        handle.truncate(cut)
    with pytest.raises(BundleTruncated, match="ends"):
        verify_bundle(copy, accepted, V1)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_cut_is_refused(small, accepted, tmp_path, data):
    size = small.stat().st_size
    cut = data.draw(st.integers(0, size - 1), label="cut")
    copy = tmp_path / "cut.bundle"
    shutil.copyfile(small, copy)
    with open(copy, "r+b") as handle:
        handle.truncate(cut)
    with pytest.raises((BundleTruncated, BundleMalformed)) as caught:
        verify_bundle(copy, accepted, V1)
    if cut >= 1024:  # past the manifest's header, the cut is named for what it is
        assert isinstance(caught.value, BundleTruncated), caught.value


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_flipped_byte_never_changes_what_verifies(small, accepted, tmp_path, data):
    """Refused, or (a byte of tar padding) verified with exactly the files the signed manifest lists."""
    raw = bytearray(small.read_bytes())
    at = data.draw(st.integers(0, len(raw) - 1), label="offset")
    raw[at] ^= data.draw(st.integers(1, 255), label="xor")
    copy = tmp_path / "flip.bundle"
    copy.write_bytes(raw)
    try:
        manifest = verify_bundle(copy, accepted, V1, dest=tmp_path / f"x{at}")
    except BundleRefused:
        return
    assert manifest.signed == read_manifest(small).signed


def test_a_file_changed_or_swapped_is_refused(good, accepted, tmp_path):
    def damage(files: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
        name, data = files[0]
        return [(name, data[:-1] + bytes([data[-1] ^ 1])), *files[1:]]
    with pytest.raises(BundleCorrupt, match="sha256"):
        verify_bundle(rebundle(good, tmp_path / "a.bundle", files=damage), accepted, V1)

    def extra(files: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
        return [*files, ("wheels/evil-1.0-py3-none-any.whl", b"x")]
    with pytest.raises(BundleMalformed, match="not a file the manifest lists"):
        verify_bundle(rebundle(good, tmp_path / "b.bundle", files=extra), accepted, V1)


def test_a_symlink_member_is_refused(good, accepted, tmp_path):
    out = tmp_path / "link.bundle"
    with tarfile.open(good) as src, tarfile.open(out, "w", format=tarfile.USTAR_FORMAT) as dst:
        members = list(src)
        for member in members[:2]:
            dst.addfile(member, src.extractfile(member))
        link = members[2]
        link.type, link.linkname, link.size = tarfile.SYMTYPE, "/etc/passwd", 0
        dst.addfile(link)
    with pytest.raises(BundleRefused, match=r"not a regular file|bytes, the manifest says"):
        verify_bundle(out, accepted, V1)


def test_not_a_bundle_at_all(accepted, tmp_path):
    (tmp_path / "x.bundle").write_bytes(b"hello")
    with pytest.raises(BundleMalformed, match="not a bundle"):
        verify_bundle(tmp_path / "x.bundle", accepted, V1)
    with pytest.raises(BundleMalformed, match="folder"):
        verify_bundle(tmp_path, accepted, V1)


GOOD_FILE = {"path": "wheels/gov_kiosk-0.2.0-py3-none-any.whl", "kind": "wheel", "size": 1, "sha256": "0" * 64}
PIP_FILE = {"path": "wheels/pip-26.3-py3-none-any.whl", "kind": "wheel", "size": 1, "sha256": "1" * 64}


def manifest_with(**changes) -> dict:
    base = {"type": MANIFEST_TYPE, "v": 1, "version": "0.2.0", "min_version": "0.1.0", "created_at": "x",
            "key_id": UPDATE_KEY, "sig": "x", "firmware_version": None, "files": [GOOD_FILE, PIP_FILE]}
    return {**base, **changes}


@pytest.mark.parametrize("changes, needle", [
    ({"files": [GOOD_FILE, PIP_FILE, {**PIP_FILE, "path": "wheels/../../etc/x.whl"}]}, "safe"),
    ({"files": [GOOD_FILE, PIP_FILE, {**PIP_FILE, "path": "/abs/x.whl"}]}, "safe"),
    ({"files": [GOOD_FILE, PIP_FILE, {**PIP_FILE, "path": "wheels/gov_kiosk_sim-0.1.0-py3-none-any.whl"}]},
     "simulators"),
    ({"files": [GOOD_FILE]}, "pip wheel"),
    ({"files": [PIP_FILE]}, "gov_kiosk wheel"),
    ({"version": "0.3.0"}, "gov_kiosk wheel of version 0.3.0"),
    ({"min_version": "0.9.0"}, "min_version is newer"),
    ({"version": "1.02.0"}, "version"),
    ({"files": [GOOD_FILE, PIP_FILE, {"path": "firmware/main.py", "kind": "firmware", "size": 1,
                                      "sha256": "2" * 64}]}, "firmware_version"),
    ({"files": [GOOD_FILE, PIP_FILE, PIP_FILE]}, "twice"),
])
def test_malformed_manifests_name_what_is_wrong(changes, needle):
    with pytest.raises(BundleMalformed, match=needle):
        parse_manifest(manifest_with(**changes))


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                    max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["type", "v", "version", "min_version", "created_at", "key_id", "sig",
                                        "firmware_version", "files", "x"]), JSON, max_size=10))
def test_manifest_parser_refuses_garbage_with_its_own_error(obj):
    try:
        parse_manifest(obj)
    except BundleMalformed:
        pass


@settings(max_examples=200, deadline=None)
@given(st.builds(lambda changes: manifest_with(**changes),
                 st.dictionaries(st.sampled_from(["version", "min_version", "files", "firmware_version"]), JSON,
                                 max_size=3)))
def test_near_valid_manifests_parse_or_are_refused(obj):
    try:
        manifest = parse_manifest(obj)
    except BundleMalformed:
        return
    assert manifest.version >= manifest.min_version
    assert json.dumps(manifest.signed)


def test_the_release_step_refuses_what_a_terminal_would_refuse(bundles, release_keys, tmp_path):
    terminal = bundles.wheel("0.2.0")
    deps = dependency_wheels()
    with pytest.raises(ReleaseError, match="pip wheel"):
        build_bundle(release_keys, tmp_path / "a.bundle", "0.2.0", [terminal])
    with pytest.raises(ReleaseError, match=r"exactly one gov_kiosk wheel of version 0\.3\.0"):
        build_bundle(release_keys, tmp_path / "a.bundle", "0.3.0", [terminal, *deps])
    sim = tmp_path / "gov_kiosk_sim-0.1.0-py3-none-any.whl"
    sim.write_bytes(b"")
    with pytest.raises(ReleaseError, match="simulators"):
        build_bundle(release_keys, tmp_path / "a.bundle", "0.2.0", [terminal, sim, *deps])
    sneaky = tmp_path / terminal.name
    shutil.copyfile(terminal, sneaky)
    with zipfile.ZipFile(sneaky, "a") as archive:
        archive.writestr("simulators/central/cli.py", "")
    with pytest.raises(ReleaseError, match="contains the simulators"):
        build_bundle(release_keys, tmp_path / "a.bundle", "0.2.0", [sneaky, *deps])
    assert not (tmp_path / "a.bundle").exists()
