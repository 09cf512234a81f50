"""The kiosk side of the crash-safety test, run as a subprocess that the test kills with SIGKILL:
submits numbered cases up to ``--total`` (continuing after a restart) while the engine drains."""
from __future__ import annotations

import argparse
import json
import sys
import time

from edge_sync import SyncConfig, SyncEngine
from tests.edge_sync.conftest import DEVICE, SITE, sample_case


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--broker", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--total", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=400.0, help="cases per second")
    parser.add_argument("--finish", action="store_true", help="exit once everything is acked")
    args = parser.parse_args()
    cfg = SyncConfig(device_id=DEVICE, site_id=SITE, mqtt_url=args.broker, data_dir=args.data, ack_timeout_s=2.0,
                     reconnect_min_s=0.1, reconnect_max_s=1.0, min_free_mb=1)
    engine = SyncEngine(cfg).start()
    done = engine.store.scalar("SELECT COUNT(*) FROM cases")
    print(json.dumps({"ready": True, "cases": done}), flush=True)
    started = time.monotonic()
    submitted = 0
    while done < args.total:
        engine.submit_case(sample_case(done, item={"code": f"N{done:05d}", "situation": "S01"}))
        done += 1
        submitted += 1
        lag = submitted / args.rate - (time.monotonic() - started)
        if lag > 0:
            time.sleep(lag)
    if args.finish:
        deadline = time.monotonic() + 120
        while engine.status()["outbox_total"] and time.monotonic() < deadline:
            time.sleep(0.1)
        left = engine.status()["outbox_total"]
        engine.stop()
        print(json.dumps({"done": left == 0, "left": left}), flush=True)
        return 0 if left == 0 else 1
    while True:
        time.sleep(1)


if __name__ == "__main__":
    sys.exit(main())
