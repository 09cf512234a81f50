"""Configuration: defaults, file values, environment overrides and clear errors."""
from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.config import ConfigError, load_config

EXAMPLE = Path(__file__).resolve().parents[2] / "kiosk" / "config.example.toml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "kiosk.toml"
    path.write_text(text, "utf-8")
    return path


def test_defaults_without_file():
    config = load_config(None, env={})
    assert config.get("web", "host") == "127.0.0.1"
    assert config.get("web", "port") == 8080
    assert config.get("session", "warn_after_s") == 45.0
    assert config.get("session", "reset_after_s") == 60.0
    assert config.get("session", "agent_reset_after_s") > config.get("session", "reset_after_s")


def test_example_file_is_valid():
    config = load_config(EXAMPLE, env={})
    assert config.device_id == "KSK-511902-0007"
    assert config.get("printer", "paper") == 80


def test_env_overrides_every_section_with_types(tmp_path):
    env = {"KIOSK_WEB_PORT": "9090", "KIOSK_SESSION_RESET_AFTER_S": "90", "KIOSK_DEVICE_SELF_SERVICE": "no",
           "KIOSK_DEVICES_PRINTER": "socket://127.0.0.1:9100"}
    config = load_config(write(tmp_path, "[web]\nport = 8081\n"), env=env)
    assert config.get("web", "port") == 9090
    assert config.get("session", "reset_after_s") == 90.0
    assert config.get("device", "self_service") is False
    assert config.get("devices", "printer") == "socket://127.0.0.1:9100"


def test_short_sync_variables(tmp_path):
    env = {"KIOSK_DEVICE_ID": "KSK-511902-0042", "KIOSK_SITE_ID": "511902-VIL-03",
           "KIOSK_MQTT_URL": "mqtt://127.0.0.1:18830", "KIOSK_DATA_DIR": str(tmp_path)}
    config = load_config(None, env=env)
    assert config.device_id == "KSK-511902-0042"
    assert config.get("device", "site_id") == "511902-VIL-03"
    assert config.get("sync", "mqtt_url") == "mqtt://127.0.0.1:18830"
    assert config.data_dir == tmp_path


def test_long_name_wins_over_short_alias():
    config = load_config(None, env={"KIOSK_DATA_DIR": "/a", "KIOSK_DEVICE_DATA_DIR": "/b"})
    assert str(config.data_dir) == "/b"


@pytest.mark.parametrize("text, key, words", [
    ("[web]\nport = \"eighty\"\n", "web.port", "type str"),
    ("[web]\nhost = \"0.0.0.0\"\n", "web.host", "loopback"),
    ("[device]\nid = \"kiosk-7\"\n", "device.id", "does not match"),
    ("[printer]\npaper = 57\n", "printer.paper", "not allowed"),
    ("[session]\nwarn_after_s = 70\nreset_after_s = 60\n", "session.warn_after_s", "before"),
    ("[web]\nprot = 1\n", "web.prot", "not a known key"),
    ("[sync]\nmqtt_url = \"http://x\"\n", "sync.mqtt_url", "MQTT URL"),
    ("web = 3\n", "web", "not a table"),
])
def test_errors_name_key_problem_and_expectation(tmp_path, text, key, words):
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text), env={})
    assert info.value.key == key
    assert words in str(info.value)
    assert "expected" in str(info.value)


def test_env_error_names_the_variable():
    with pytest.raises(ConfigError) as info:
        load_config(None, env={"KIOSK_WEB_PORT": "abc"})
    assert info.value.key == "web.port" and info.value.source == "KIOSK_WEB_PORT"


def test_bad_toml_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write(tmp_path, "[web\n"), env={})
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml", env={})


def test_sync_section_keeps_edge_sync_keys(tmp_path):
    config = load_config(write(tmp_path, "[sync]\nretention_days = 7\n"), env={})
    assert config.raw["sync"]["retention_days"] == 7


def test_override_file_is_checked_like_the_configuration(tmp_path):
    from kiosk.config import OVERRIDE_FILE

    env = {"KIOSK_DEVICE_DATA_DIR": str(tmp_path)}
    (tmp_path / OVERRIDE_FILE).write_text('{"web.host": "0.0.0.0"}', "utf-8")
    with pytest.raises(ConfigError, match=r"web\.host: may not be set remotely"):
        load_config(None, env=env)
    (tmp_path / OVERRIDE_FILE).write_text('{"session.warn_after_s": 3600}', "utf-8")
    with pytest.raises(ConfigError, match=r"session\.warn_after_s"):  # no longer before the reset
        load_config(None, env=env)
    (tmp_path / OVERRIDE_FILE).write_text("{not json", "utf-8")
    with pytest.raises(ConfigError, match="unreadable"):
        load_config(None, env=env)
    (tmp_path / OVERRIDE_FILE).write_text('{"web.idle_after_s": 0}', "utf-8")
    assert load_config(None, env=env).get("web", "idle_after_s") == 0.0


def test_sync_settings_come_from_the_same_load_under_the_kiosks_identity(tmp_path):
    """One loader: the sync engine's settings are read with the kiosk's, from the same file and variables,
    and the identity is the one the kiosk validated (a variable's device id reaches both)."""
    path = write(tmp_path, '[device]\nid = "KSK-511902-0007"\nsite_id = "511902-HALL-01"\n'
                           f'data_dir = "{tmp_path}"\n[sync]\nmqtt_url = "mqtt://127.0.0.1:1884"\n'
                           "ack_timeout_s = 7\nwindow = 50\n")
    config = load_config(path, env={"KIOSK_DEVICE_ID": "KSK-511902-0042", "KIOSK_SYNC_WINDOW": "60"})
    assert config.sync is not None
    assert (config.sync.device_id, config.sync.site_id, config.sync.data_dir, config.sync.mqtt_url) == (
        config.device_id, "511902-HALL-01", config.data_dir, "mqtt://127.0.0.1:1884")
    assert config.device_id == "KSK-511902-0042"
    assert (config.sync.ack_timeout_s, config.sync.window) == (7.0, 60)


def test_sync_off_has_no_sync_settings_and_a_bad_sync_value_is_a_config_error(tmp_path):
    assert load_config(write(tmp_path, "[sync]\nenabled = false\nack_timeout_s = -1\n"), env={}).sync is None
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, "[sync]\nack_timeout_s = -1\n"), env={})
    assert info.value.key == "sync" and "ack_timeout_s must be > 0" in str(info.value)
    with pytest.raises(ConfigError) as info:
        load_config(None, env={"KIOSK_SYNC_COMMAND_KEYS": "{not json"})
    assert info.value.key == "sync" and "KIOSK_SYNC_COMMAND_KEYS" in str(info.value)


def test_kiosk_sync_command_reads_the_same_configuration(tmp_path, capsys):
    import argparse

    from kiosk.cli import sync as sync_cli

    off = write(tmp_path, "[sync]\nenabled = false\n")
    assert sync_cli.run(argparse.Namespace(config=str(off), action="status")) == 2
    assert "sync is off" in capsys.readouterr().err
    bad = write(tmp_path, "[web]\nport = 0\n")
    assert sync_cli.run(argparse.Namespace(config=str(bad), action="status")) == 2
    assert "web.port" in capsys.readouterr().err
