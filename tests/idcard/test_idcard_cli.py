"""``kiosk-device idcard read`` as a subprocess against ``kiosk-sim idcard`` as a subprocess: exit codes,
masking, ``--reveal`` and the one-line reason on stderr."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.idcard import fixtures as fx
from tests.support.simproc import SimProcess

pytestmark = pytest.mark.integration

KEYS = ["name", "gender", "gender_code", "nation", "nation_code", "birth", "address", "id_number", "authority",
        "valid_from", "valid_to", "card_type"]


DEVICE_MAIN = "import sys; from kiosk.cli.device import main; sys.exit(main(sys.argv[1:]))"


def run_device(*args: str, timeout: float = 30.0) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", DEVICE_MAIN, "idcard", *args], capture_output=True, text=True,
                          timeout=timeout)


def test_read_masked_then_revealed_then_no_card(idcard_identities):
    with SimProcess("idcard", "--identities", str(idcard_identities[0]), "--present", "6") as sim:
        done = run_device("read", "--port", sim.port, "--timeout", "5")
        assert done.returncode == 0, done.stderr
        out = json.loads(done.stdout)
        assert list(out) == KEYS
        assert out["name"] == "赵志强" and out["id_number"] == "5119**********109X"
        assert out["address"].startswith("四川省示例市") and "望王山路" not in done.stdout
        assert sim.wait_json(lambda e: e.get("event") == "read")["index"] == 6

        # The card was read: it must leave and come back before it is found again.
        done = run_device("read", "--port", sim.port, "--timeout", "0.5")
        assert done.returncode == 3 and done.stdout == ""
        assert len(done.stderr.strip().splitlines()) == 1 and "no card" in done.stderr

        sim.send("remove")
        sim.send("present 6")
        done = run_device("read", "--port", sim.port, "--timeout", "5", "--reveal")
        assert done.returncode == 0, done.stderr
        out = json.loads(done.stdout)
        assert out["id_number"] == "51190219730415109X" and out["address"].endswith("望王山路9号")


def test_card_presented_while_waiting(idcard_identities):
    with SimProcess("idcard", "--identities", str(idcard_identities[0]), "--time-scale", "10") as sim:
        proc = subprocess.Popen(
            [sys.executable, "-c", DEVICE_MAIN, "idcard", "read", "--port", sim.port, "--timeout", "20"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            sim.send(f"present {idcard_identities[1] + fx.FOREIGNER_2023}")
            out, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert proc.returncode == 0, err
        assert json.loads(out)["card_type"] == "Y"


@pytest.mark.parametrize("fault,reason", [("sam-error", "idcard_sam_fault"), ("silence", "idcard_link_lost"),
                                          ("badsum:read", "idcard_protocol")])
def test_device_faults_exit_4(idcard_identities, fault, reason):
    with SimProcess("idcard", "--identities", str(idcard_identities[0]), "--present", "0",
                    "--fault", fault) as sim:
        done = run_device("read", "--port", sim.port, "--timeout", "1")
        assert done.returncode == 4 and done.stdout == ""
        assert done.stderr.count("\n") == 1 and reason in done.stderr
        assert "5119" not in done.stderr


def test_noisy_fragmented_tcp_reader_still_reads(idcard_identities):
    with SimProcess("idcard", "--identities", str(idcard_identities[0]), "--present", "1", "--link",
                    "tcp:127.0.0.1:0", "--fault", "noise", "--fault", "fragment", "--seed", "3") as sim:
        done = run_device("read", "--port", sim.port, "--timeout", "5")
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["name"] == "欧阳晓雯"


def test_invalid_identity_and_missing_port_exit_4(idcard_identities, tmp_path):
    with SimProcess("idcard", "--identities", str(idcard_identities[0]), "--present",
                    str(idcard_identities[1] + fx.BAD_CHECK)) as sim:
        done = run_device("read", "--port", sim.port)
        assert done.returncode == 4 and "idcard_invalid_identity" in done.stderr
    done = run_device("read", "--port", str(tmp_path / "nothing"))
    assert done.returncode == 4 and "idcard_link_lost" in done.stderr


def test_simulator_rejects_bad_arguments(idcard_identities):
    done = subprocess.run([sys.executable, "-m", "simulators", "idcard", "--identities",
                           str(idcard_identities[0]), "--fault", "melt"], capture_output=True, text=True,
                          timeout=30, stdin=subprocess.DEVNULL)
    assert done.returncode == 2 and "unknown fault" in done.stderr


def test_sam_check(idcard_identities):
    with SimProcess("idcard", "--identities", str(idcard_identities[0])) as sim:
        done = run_device("sam", "--port", sim.port)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout) == {"sam": "ok", "sam_id": "05.01-20260101-0001234567-0000000089"}
    with SimProcess("idcard", "--identities", str(idcard_identities[0]), "--fault", "sam-unauth") as sim:
        done = run_device("sam", "--port", sim.port)
        assert done.returncode == 4 and "idcard_sam_fault" in done.stderr and "66" in done.stderr
