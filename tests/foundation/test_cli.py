"""The three console scripts exist, list their sub-commands and refuse unknown ones."""
import subprocess
import sys

import pytest


@pytest.mark.parametrize("module, names", [
    ("kiosk.cli.main", ["run", "sync", "doctor"]),
    ("kiosk.cli.device", ["idcard", "scanner", "printer", "camera"]),
    ("simulators.cli", ["idcard", "scanner", "printer", "central", "hall"]),
])
def test_help_lists_subcommands_and_unknown_is_refused(module, names):
    code = f"import sys; from {module} import main; sys.exit(main(sys.argv[1:]))"
    ok = subprocess.run([sys.executable, "-c", code, "--help"], capture_output=True, text=True, timeout=30)
    assert ok.returncode == 0
    for name in names:
        assert name in ok.stdout
    bad = subprocess.run([sys.executable, "-c", code, "no-such-thing"], capture_output=True, text=True, timeout=30)
    assert bad.returncode == 2
