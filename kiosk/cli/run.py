"""``kiosk run``: the terminal application in one process (web UI, devices, sync), until SIGTERM (exit 0)
or central's reboot command (exit 75, kiosk.commands.REBOOT_EXIT_CODE, for systemd to restart it)."""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable

from kiosk.catalog import CatalogError
from kiosk.config import ConfigError, load_config
from kiosk.memory import tune_malloc


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="TOML configuration file (default: $KIOSK_CONFIG, else defaults)")
    parser.add_argument("--catalog", help="catalog JSON to serve instead of the installed version")
    parser.add_argument("--port", type=int, help="web port (overrides [web] port)")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])


def run(args: argparse.Namespace) -> int:
    tune_malloc()       # before any thread starts (kiosk.memory)
    logging.basicConfig(level=args.log_level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"kiosk run: {exc}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(_serve(config, args))
    except CatalogError as exc:
        print(f"kiosk run: {exc}", file=sys.stderr)
        return 3


async def _serve(config, args: argparse.Namespace) -> int:
    from kiosk.assemble import assemble

    kiosk, engine = assemble(config, args.catalog)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    exit_code = 0

    def exit_with(code: int) -> None:  # central's reboot: systemd (Restart=always) starts us again
        nonlocal exit_code
        exit_code = code
        stop.set()
    kiosk.on_exit = exit_with
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if engine is not None:
        engine.start()
    try:
        url = await kiosk.start(port=args.port)
        print(json.dumps({"device": "kiosk", "url": url, "catalog": kiosk.catalog.version}), flush=True)
        await stop.wait()
    finally:
        # A clean stop normally takes well under a second; should a device or the broker hang it, end
        # the process anyway. Nothing is lost by that: every case is committed before it is confirmed.
        deadline = threading.Timer(SHUTDOWN_GRACE_S, _exit_now, args=(lambda: exit_code,))
        deadline.daemon = True
        deadline.start()
        await kiosk.stop()
        if engine is not None:
            await loop.run_in_executor(None, engine.stop)
        deadline.cancel()
    return exit_code


SHUTDOWN_GRACE_S = 8.0


def _exit_now(code: Callable[[], int]) -> None:
    logging.getLogger("kiosk").error("shutdown took longer than %.0f s: exiting without waiting", SHUTDOWN_GRACE_S)
    logging.shutdown()
    os._exit(code())
