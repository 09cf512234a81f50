"""A city fleet on one machine: N real sync engines (``edge_sync.SyncEngine``) in several processes against
a real mosquitto and one or two central simulator instances. Figures (median and spread of the rounds):

- steady state: ack latency p50/p99 of cases submitted at a steady pace;
- broker restart: seconds from the broker's return until every outbox is empty (goal ≤ 5 s, 50 terminals);
- central pause: re-sends while central is paused past the ack timeout, seconds to empty after it resumes;
- catalog change: catalog bytes each terminal receives for one new version, over its compressed size;
- scale-out: cases per second central works off from a burst, two instances on PostgreSQL over one.

    .venv/bin/python bench/fleet.py --terminals 50 [--rounds 3] [--only restart,catalog]

Timings are ratios or counts measured in the same run; the machine is shared, so see `uptime` (printed)."""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.scratch import scratch_dir  # noqa: E402
from edge_sync import SyncConfig, SyncEngine  # noqa: E402
from edge_sync.fleet import Backoff  # noqa: E402
from simulators.central import store  # noqa: E402
from tests.edge_sync.conftest import sample_case  # noqa: E402
from tests.fleet.harness import command, start_central, stats  # noqa: E402
from tests.support.broker import Broker  # noqa: E402
from tests.support.postgres import PostgresCluster  # noqa: E402

PER_PROCESS = 25
SHARED = Path(os.environ.get("KIOSK_SHARED_DIR", REPO.parent / "shared"))


# ---- the terminals' side: one process holds up to PER_PROCESS engines ------------------------------

def worker(conn: Any, url: str, root: str, first: int, n: int, keys: dict[str, str]) -> None:
    engines = []
    for i in range(first, first + n):
        cfg = SyncConfig(device_id=f"BEN-{i // 10000:06d}-{i % 10000:04d}", site_id="511902-HALL-01", mqtt_url=url,
                         data_dir=Path(root) / f"t{i}", min_free_mb=1, catalog_keys=keys)
        engine = SyncEngine(cfg)
        engine.catalog_bytes = 0  # type: ignore[attr-defined]
        inner = engine.session._on_message

        def counting(msg: Any, e: SyncEngine = engine, inner: Any = inner) -> None:
            if msg.topic.startswith("gov/v1/catalog/"):
                e.catalog_bytes += len(msg.topic) + len(msg.payload) + 5  # type: ignore[attr-defined]
            inner(msg)
        engine.session._on_message = counting
        engines.append(engine.start())
    latencies: list[float] = []
    while True:
        cmd, arg = conn.recv()
        if cmd == "submit":
            for engine in engines:
                for k in range(arg):
                    engine.submit_case(sample_case(k))
            conn.send(True)
        elif cmd == "steady":
            seconds, interval = arg
            latencies = _steady(engines, seconds, interval)
            conn.send(latencies)
        elif cmd == "mode":
            # Baseline in the same run: "old" is the behaviour before issue 13 (a fixed ack timeout without
            # jitter, no re-send on central's birth); "new" restores the engine's own.
            for engine in engines:
                if arg == "old":
                    engine.drain.backoff = Backoff(engine.config.ack_timeout_s, engine.config.ack_timeout_s, 0.0)
                    engine.downlink.on_central_state = None
                else:
                    engine.drain.backoff = Backoff(engine.config.ack_timeout_s, 300.0)
                    engine.downlink.on_central_state = engine.drain.central_state
            conn.send(True)
        elif cmd == "outbox":
            conn.send(sum(int(e.store.scalar("SELECT COUNT(*) FROM outbox")) for e in engines))
        elif cmd == "stats":
            conn.send({"resent": sum(e.drain.stats["resent"] for e in engines),
                       "sent": sum(e.drain.stats["sent"] for e in engines),
                       "busy": sum(e.drain.stats["busy"] for e in engines),
                       "catalog_bytes": [e.catalog_bytes for e in engines],  # type: ignore[attr-defined]
                       "catalog": [None if (c := e.current_catalog()) is None else c[0] for e in engines],
                       "online": sum(e.session.connected.is_set() for e in engines)})
        elif cmd == "stop":
            for engine in engines:
                engine.stop()
            conn.send(True)
            return


def _steady(engines: list[SyncEngine], seconds: float, interval: float) -> list[float]:
    out: list[float] = []
    lock = threading.Lock()

    def run(engine: SyncEngine) -> None:
        end = time.monotonic() + seconds
        time.sleep(random.uniform(0, interval))
        while time.monotonic() < end:
            t = time.perf_counter()
            sub = engine.submit_case(sample_case(0))
            if engine.wait_case_ack(sub.case_id, 60) is not None:
                with lock:
                    out.append(time.perf_counter() - t)
            time.sleep(max(0.0, interval - (time.perf_counter() - t)))
    threads = [threading.Thread(target=run, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


class Terminals:
    def __init__(self, url: str, n: int, keys: dict[str, str], first: int = 0) -> None:
        self.root = scratch_dir("bench-fleet-")
        ctx = mp.get_context("spawn")
        self.pipes = []
        self.procs = []
        for start in range(first, first + n, PER_PROCESS):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=worker, args=(child, url, self.root, start, min(PER_PROCESS, first + n - start),
                                                    keys), daemon=True)
            proc.start()
            self.pipes.append(parent)
            self.procs.append(proc)

    def all(self, cmd: str, arg: Any = None) -> list[Any]:
        for pipe in self.pipes:
            pipe.send((cmd, arg))
        return [pipe.recv() for pipe in self.pipes]

    def outbox(self) -> int:
        return sum(self.all("outbox"))

    def stats(self) -> dict[str, Any]:
        parts = self.all("stats")
        return {"resent": sum(p["resent"] for p in parts), "sent": sum(p["sent"] for p in parts),
                "busy": sum(p["busy"] for p in parts), "online": sum(p["online"] for p in parts),
                "catalog_bytes": [b for p in parts for b in p["catalog_bytes"]],
                "catalog": [c for p in parts for c in p["catalog"]]}

    def wait_empty(self, timeout: float = 300) -> float:
        start = time.monotonic()
        while self.outbox() and time.monotonic() - start < timeout:
            time.sleep(0.05)
        return time.monotonic() - start

    def wait_online(self, n: int, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while self.stats()["online"] < n and time.monotonic() < deadline:
            time.sleep(0.2)

    def stop(self) -> None:
        self.all("stop")
        for proc in self.procs:
            proc.join(30)


# ---- scenarios ----------------------------------------------------------------------------------------

def steady(terms: Terminals, seconds: float, interval: float) -> tuple[float, float, int]:
    lat = sorted(x for part in terms.all("steady", (seconds, interval)) for x in part)
    return statistics.median(lat) * 1000, lat[int(0.99 * (len(lat) - 1))] * 1000, len(lat)


def broker_restart(broker: Broker, terms: Terminals, per_terminal: int, outage: float) -> tuple[float, int]:
    """Seconds from the broker's return to every outbox empty; re-sends by timer meanwhile."""
    terms.wait_empty()
    before = terms.stats()["resent"]
    broker.stop()
    terms.all("submit", per_terminal)
    time.sleep(outage)
    broker.start()
    seconds = terms.wait_empty()
    return seconds, terms.stats()["resent"] - before


def central_pause(central: Any, terms: Terminals, per_terminal: int, pause: float) -> tuple[int, float, int]:
    """(re-sends during the pause, seconds to empty after resume, sent during the pause)."""
    terms.wait_empty()
    before = terms.stats()
    command(central, "pause")
    terms.all("submit", per_terminal)
    time.sleep(pause)
    during = terms.stats()
    command(central, "resume")
    seconds = terms.wait_empty()
    return during["resent"] - before["resent"], seconds, during["sent"] - before["sent"]


def catalog_change(central: Any, terms: Terminals, path: Path, version: int, size: int) -> float:
    before = terms.stats()["catalog_bytes"]
    central.send(f"publish-catalog {path}")
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        now = terms.stats()
        if all(v == version for v in now["catalog"]):
            break
        time.sleep(0.2)
    after = terms.stats()["catalog_bytes"]
    return max(a - b for a, b in zip(after, before, strict=True)) / size


def big_catalog(version: int, items: int) -> tuple[Path, int]:
    """A catalog JSON of ``items`` extra items and its gzip size as central publishes it."""
    import gzip
    base = json.loads((SHARED / "data" / "catalog-sample.json").read_text(encoding="utf-8"))
    rng = random.Random(version)
    extra = [{**base["items"][i % len(base["items"])], "code": f"511900-ZZ-{version}{i:05d}",
              "name": "".join(chr(0x4E00 + rng.randrange(0x5000)) for _ in range(40))} for i in range(items)]
    data = {**base, "version": version, "items": base["items"] + extra}
    path = Path(scratch_dir("bench-cat-")) / f"catalog-v{version}.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    raw = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return path, len(gzip.compress(raw, compresslevel=9, mtime=0))


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds so far of ``pids`` (Linux /proc)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def pg_pids(pg: PostgresCluster) -> list[int]:
    """The cluster's postmaster and every process it started (one backend per central connection)."""
    master = int((pg.data / "postmaster.pid").read_text().split()[0])
    kids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == master:
                    kids.append(int(entry.name))
            except (OSError, ValueError, IndexError):
                continue
    return [master, *kids]


def scale_out(broker: Broker, pg: PostgresCluster, n_terms: int, per_terminal: int,
              instances: int) -> tuple[float, float]:
    """(cases/s central works off from a burst held while paused, CPU ms per case of the central side:
    the instances, PostgreSQL and mosquitto) with ``instances`` instances on PostgreSQL."""
    workdir = Path(scratch_dir("bench-scale-"))
    db = pg.new_database()
    sims = [start_central(broker.url, workdir, None, "--instance", f"c{n}", "--busy-after", "0", db=db,
                          keys=workdir / "keys") for n in range(instances)]
    terms = Terminals(broker.url, n_terms, {}, first=100_000 * instances)
    try:
        terms.wait_online(n_terms)
        for sim in sims:
            command(sim, "pause")
        terms.all("submit", per_terminal)
        total = n_terms * per_terminal
        deadline = time.monotonic() + 120
        while sum(stats(s)["held"] for s in sims) < total and time.monotonic() < deadline:
            time.sleep(0.1)
        assert broker.proc is not None
        pids = [s.proc.pid for s in sims if s.proc is not None] + pg_pids(pg) + [broker.proc.pid]
        cpu = cpu_seconds(pids)
        start = time.monotonic()
        for sim in sims:
            command(sim, "resume")
        # Central's own pace: until every case is in its store (the terminals' ack handling is not timed).
        while store.counts(db)["cases"] < total and time.monotonic() - start < 300:
            time.sleep(0.02)
        elapsed = time.monotonic() - start
        used = (cpu_seconds(pids + pg_pids(pg)) - cpu) * 1000 / total
        if os.environ.get("BENCH_DEBUG"):
            print([{k: v for k, v in stats(s).items() if k in ("handled", "parked", "taken_with_gap", "busy")}
                   for s in sims], f"{elapsed:.2f}s", flush=True)
        terms.wait_empty()
        return total / elapsed, used
    finally:
        terms.stop()
        for sim in sims:
            sim.stop()


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} (min {min(values):.2f}, max {max(values):.2f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--terminals", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", default="steady,restart,pause,catalog,scale")
    args = parser.parse_args()
    only = set(args.only.split(","))
    print(f"# bench/fleet.py: {args.terminals} terminals, {args.rounds} rounds; load: {os.getloadavg()}")
    results: dict[str, Any] = {}
    broker = Broker().start()
    workdir = Path(scratch_dir("bench-central-"))
    central = start_central(broker.url, workdir, SHARED / "data" / "catalog-sample.json")
    keys = {"cat-2026": (workdir / "keys" / "cat-2026.pub").read_text().strip()}
    terms = Terminals(broker.url, args.terminals, keys)
    try:
        terms.wait_online(args.terminals)
        if "steady" in only:
            runs = [steady(terms, 10, 2.0) for _ in range(args.rounds)]
            results["steady"] = {"p50_ms": spread([r[0] for r in runs]), "p99_ms": spread([r[1] for r in runs]),
                                 "acks": sum(r[2] for r in runs)}
            print("steady", results["steady"], flush=True)
        if "restart" in only:
            runs2 = [broker_restart(broker, terms, 20, 3.0) for _ in range(args.rounds)]
            terms.all("mode", "old")
            old = broker_restart(broker, terms, 20, 3.0)
            terms.all("mode", "new")
            results["restart"] = {"seconds_to_empty": spread([r[0] for r in runs2]),
                                  "timer_resends": [r[1] for r in runs2],
                                  "baseline_before_issue_13_s": round(old[0], 2), "baseline_timer_resends": old[1]}
            print("restart", results["restart"], flush=True)
        if "pause" in only:
            runs3 = [central_pause(central, terms, 20, 25.0) for _ in range(args.rounds)]
            terms.all("mode", "old")
            old3 = central_pause(central, terms, 20, 25.0)
            terms.all("mode", "new")
            results["pause"] = {"resends_during_25s_pause": [r[0] for r in runs3],
                                "sent_during_pause": [r[2] for r in runs3],
                                "seconds_to_empty_after_resume": spread([r[1] for r in runs3]),
                                "baseline_resends_during_pause": old3[0]}
            print("pause", results["pause"], flush=True)
        if "catalog" in only:
            ratios = []
            for n in range(args.rounds):
                path, size = big_catalog(2 + n, 3500)   # ≈ 2.4 MB compressed, as in issue 13
                ratios.append(catalog_change(central, terms, path, 2 + n, size))
            results["catalog"] = {"bytes_per_terminal_over_compressed": spread(ratios)}
            print("catalog", results["catalog"], flush=True)
    finally:
        terms.stop()
        central.stop()
    if "scale" in only:
        with PostgresCluster() as pg:
            rates = [(scale_out(broker, pg, 20, 100, 1), scale_out(broker, pg, 20, 100, 2))
                     for _ in range(args.rounds)]
        results["scale"] = {"one_cases_per_s": spread([r[0][0] for r in rates]),
                            "two_cases_per_s": spread([r[1][0] for r in rates]),
                            "two_over_one": spread([r[1][0] / r[0][0] for r in rates]),
                            "central_cpu_ms_per_case_one": spread([r[0][1] for r in rates]),
                            "central_cpu_ms_per_case_two": spread([r[1][1] for r in rates])}
        print("scale", results["scale"], flush=True)
    broker.cleanup()
    print(json.dumps(results, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
