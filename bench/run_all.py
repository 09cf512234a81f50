"""Every bench in one run, unpinned and (where it means something) with the measuring process pinned to one
core (``taskset -c 0``, a Raspberry Pi proxy), written to ``docs/bench/run-all.md`` with the commit, the
machine and its load before and after each bench, so that docs/BENCHMARKS.md is read from one run.

Each bench measures its own like-for-like baselines before and after the product and flags ratios above
their ceiling; this script only runs them in turn and keeps what they print. A bench that fails is
recorded with its exit status and the end of its error output, and the run goes on.

Run: .venv/bin/python bench/run_all.py [--only sync,idle] [--quick] [--out docs/bench/run-all.md]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PY = sys.executable


@dataclass(frozen=True)
class Bench:
    name: str
    argv: tuple[str, ...]            # after the interpreter
    pinned: tuple[str, ...] | None   # the pinned variant: extra arguments, or () for taskset on the whole run
    quick: tuple[str, ...] = ()      # arguments that shorten it (--quick)


BENCHES = [
    Bench("commit_wear", ("bench/commit_wear.py",), ("--pinned",), ("--rounds", "1")),
    Bench("sync", ("bench/sync.py",), ("--pinned",)),
    Bench("commit_load", ("bench/commit_load.py",), ("--pinned",), ("--rounds", "1", "--backlog", "20000")),
    # Pinned with the broker and central peer off the terminal's core (commit latency as in the field).
    Bench("commit_load_apart", ("bench/commit_load.py", "--apart"), None, ("--rounds", "1", "--backlog", "20000")),
    # Unpinned, with the broker and central peer taking only the CPU the terminal leaves (nice 19).
    Bench("commit_load_standins_low", ("bench/commit_load.py", "--standins-nice", "19"), None,
          ("--rounds", "1", "--backlog", "20000")),
    Bench("print_notice", ("bench/print_notice.py",), (), ("--rounds", "1")),
    # idle and kiosk_real pin only the terminal's process themselves (the hall's simulators keep every CPU).
    Bench("idle", ("bench/idle.py",), ("--pinned",), ("--rounds", "1")),
    Bench("kiosk_real", ("bench/kiosk_real.py",), None, ("--rounds", "1")),
    Bench("kiosk", ("bench/kiosk.py",), (), ("--rounds", "1")),
    Bench("idcard_read", ("bench/idcard_read.py", "--write", os.devnull), None),
    Bench("scanner", ("bench/scanner.py",), ()),
    Bench("ioboard", ("bench/ioboard.py",), None, ("--rounds", "1")),
    Bench("capture_pipeline", ("bench/capture_pipeline.py",), (), ("--seeds", "1")),
    Bench("fleet", ("bench/fleet.py",), None, ("--rounds", "1", "--terminals", "10")),
]
TIMEOUT_S = 1800


def load() -> str:
    return " ".join(f"{v:.1f}" for v in os.getloadavg())


def run(bench: Bench, pinned: bool, quick: bool) -> str:
    argv = [PY, *bench.argv, *(bench.quick if quick else ())]
    if pinned:
        argv = ["taskset", "-c", "0", *argv] if bench.pinned == () else [*argv, *(bench.pinned or ())]
    label = f"{bench.name}{' (pinned)' if pinned else ''}"
    print(f"run_all: {label}: {' '.join(argv[argv.index(PY):]).replace(PY, 'python')}", file=sys.stderr, flush=True)
    before, started = load(), time.monotonic()
    try:
        done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=TIMEOUT_S)
        out, rc, err = done.stdout, done.returncode, done.stderr
    except subprocess.TimeoutExpired as exc:
        out, rc, err = str(exc.stdout or ""), -1, f"timed out after {TIMEOUT_S} s"
    took = time.monotonic() - started
    text = f"### {label}\n\n`{' '.join(argv).replace(PY, 'python')}` — {took:.0f} s, load {before} → {load()}"
    text += "" if rc == 0 else f", **exit {rc}**"
    text += f"\n\n```\n{out.strip()}\n```\n"
    if rc != 0:
        text += "\nError output (end):\n\n```\n" + "\n".join(err.strip().splitlines()[-15:]) + "\n```\n"
    return text


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated bench names (default: all)")
    parser.add_argument("--quick", action="store_true", help="fewer rounds (a smoke run, not figures)")
    parser.add_argument("--no-pinned", action="store_true", help="skip the pinned variants")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "bench" / "run-all.md")
    args = parser.parse_args()
    wanted = {n for n in args.only.split(",") if n}
    unknown = wanted - {b.name for b in BENCHES}
    if unknown:
        parser.error(f"unknown bench(es): {', '.join(sorted(unknown))}")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                            text=True).stdout.strip() or "unknown"
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO,
                           capture_output=True, text=True).stdout.strip()
    sections = [f"# One run of every bench (`bench/run_all.py`)\n\nGenerated {time.strftime('%Y-%m-%d %H:%M %Z')} "
                f"at commit {commit}{' with local changes' if dirty else ''}, {os.cpu_count()} CPUs, "
                f"load at start {load()}{', quick (not figures)' if args.quick else ''}. Each bench's method is in "
                "its docstring and in docs/BENCHMARKS.md.\n"]
    failed = 0
    for bench in BENCHES:
        if wanted and bench.name not in wanted:
            continue
        for pinned in (False, True):
            if pinned and (bench.pinned is None or args.no_pinned):
                continue
            section = run(bench, pinned, args.quick)
            failed += "**exit" in section.split("\n", 3)[2]
            sections.append(section)
            args.out.write_text("\n".join(sections), "utf-8")   # kept as it goes: a long run can be read early
    print(f"run_all: wrote {args.out} ({failed} failed)", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
