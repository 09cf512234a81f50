"""The Pi side of the firmware update, without a board: the FW_* payloads against the document's byte
vectors, the checks of a firmware image before anything is sent (names, sizes, versions, a manifest's
sizes and SHA-256), and property-based checks that the parsers of the board's replies and of a
manifest refuse bad input with their own error and nothing else."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.ioboard import FirmwareImage, FirmwareInputError, FirmwareState, RollbackReason
from drivers.ioboard import protocol as p
from drivers.ioboard.errors import ProtocolError
from drivers.ioboard.firmware import (
    fw_data_payload,
    fw_file_payload,
    parse_fw_data_ack,
    parse_fw_state,
)
from tests.ioboard.vectors import BY_NAME

VERSION_110 = b"FIRMWARE_VERSION = (1, 1, 0)\n"


def test_update_payloads_match_doc() -> None:
    assert fw_file_payload("version.py", VERSION_110) == BY_NAME["fw_file_version"].payload
    assert fw_data_payload(0, VERSION_110) == BY_NAME["fw_data_version"].payload
    assert parse_fw_data_ack(BY_NAME["ack_fw_data"].payload) == len(VERSION_110)
    assert parse_fw_state(BY_NAME["ack_fw_state_trial"].payload) == FirmwareState(
        trial=True, backup=True, staging=False, trial_boots=1, last_rollback=None, staged_files=0)
    assert parse_fw_state(BY_NAME["ack_fw_state_rolled_back"].payload) == FirmwareState(
        trial=False, backup=False, staging=False, trial_boots=0, last_rollback=RollbackReason.UNCONFIRMED,
        staged_files=0)
    assert p.parse_nak(BY_NAME["nak_bad_hash"].payload) == (0x13, p.NakReason.BAD_HASH)
    for name, ftype in (("fw_begin", p.FrameType.FW_BEGIN), ("fw_verify", p.FrameType.FW_VERIFY),
                        ("fw_commit", p.FrameType.FW_COMMIT), ("fw_state", p.FrameType.FW_STATE),
                        ("fw_confirm", p.FrameType.FW_CONFIRM), ("fw_rollback", p.FrameType.FW_ROLLBACK)):
        vector = BY_NAME[name]
        assert p.encode_frame(ftype, vector.seq) == vector.frame


@pytest.mark.parametrize("name", ["main.py", "fwboot.py", "boot.py", "../app.py", "App.py", "app", ".py",
                                  "app.txt", "a" * 22 + ".py", "dir/app.py", "应用.py", ""])
def test_bad_and_protected_names_refused(name: str) -> None:
    with pytest.raises(FirmwareInputError) as info:
        FirmwareImage.of({name: b"x = 1\n"}, "1.1.0")
    assert info.value.code == "ioboard_firmware_input"


@pytest.mark.parametrize("files, version, says", [
    ({}, "1.1.0", "no firmware files"),
    ({"app.py": b""}, "1.1.0", "0 bytes"),
    ({"app.py": bytes(0x40000)}, "1.1.0", "262144 bytes"),
    ({f"m{i}.py": b"x" for i in range(17)}, "1.1.0", "at most 16"),
    ({"app.py": b"x"}, "1.1", "MAJOR.MINOR.PATCH"),
    ({"app.py": b"x"}, "1.256.0", "0-255"),
    ({"app.py": b"x"}, "v1.1.0", "MAJOR.MINOR.PATCH"),
])
def test_bad_images_refused_with_a_clear_error(files: dict[str, bytes], version: str, says: str) -> None:
    with pytest.raises(FirmwareInputError, match=says):
        FirmwareImage.of(files, version)


def test_image_from_a_folder_checks_its_manifest(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_bytes(b"# app\n" * 100)
    (tmp_path / "version.py").write_bytes(VERSION_110)
    image = FirmwareImage.of({"app.py": b"# app\n" * 100, "version.py": VERSION_110}, "1.1.0")
    manifest = image.manifest()
    assert FirmwareImage.from_folder(tmp_path, manifest) == image
    (tmp_path / "app.py").write_bytes(b"# app\n" * 50)  # cut short, as a copy that stopped half way
    with pytest.raises(FirmwareInputError, match=r"app.py: 300 bytes, the manifest says 600 \(truncated\)"):
        FirmwareImage.from_folder(tmp_path, manifest)
    (tmp_path / "app.py").write_bytes(b"# ap!\n" * 100)
    with pytest.raises(FirmwareInputError, match="SHA-256 differs"):
        FirmwareImage.from_folder(tmp_path, manifest)
    (tmp_path / "app.py").unlink()
    with pytest.raises(FirmwareInputError, match="not readable"):
        FirmwareImage.from_folder(tmp_path, manifest)
    with pytest.raises(FirmwareInputError, match="no \"files\""):
        FirmwareImage.from_folder(tmp_path, {"version": "1.1.0"})


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=12))
def test_fw_state_parser_takes_any_bytes(data: bytes) -> None:
    try:
        state = parse_fw_state(data)
    except ProtocolError:
        return
    assert len(data) == 5 and 0 <= state.trial_boots <= 255


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=10))
def test_fw_data_ack_parser_takes_any_bytes(data: bytes) -> None:
    try:
        assert 0 <= parse_fw_data_ack(data) <= 0xFFFFFFFF
    except ProtocolError:
        assert len(data) != 5


_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=12),
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner,
                                                                                  max_size=3), max_leaves=12)


@settings(max_examples=200, deadline=None)
@given(manifest=st.dictionaries(st.sampled_from(["version", "files", "sig", "x"]), _JSON, max_size=4),
       files=st.dictionaries(st.sampled_from(["app.py", "version.py", "main.py", "x"]), _JSON, max_size=3))
def test_manifest_reader_refuses_anything_malformed(tmp_path_factory, manifest: dict, files: dict) -> None:
    folder = tmp_path_factory.mktemp("fw")
    (folder / "app.py").write_bytes(b"x = 1\n")
    if files:
        manifest = {**manifest, "files": files}
    try:
        image = FirmwareImage.from_folder(folder, json.loads(json.dumps(manifest)))
    except FirmwareInputError as exc:
        assert str(exc)
        return
    # Accepted only when it really describes app.py.
    assert image.files == {"app.py": b"x = 1\n"}
    assert manifest["files"]["app.py"]["sha256"].lower() == hashlib.sha256(b"x = 1\n").hexdigest()
