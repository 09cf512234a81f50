"""Lazy sub-command dispatch shared by ``kiosk`` and ``kiosk-device``: each sub-command lives in its
own module with ``add_arguments(parser)`` and ``run(args) -> int``, imported only when chosen."""
from __future__ import annotations

import argparse
import importlib
import sys


def dispatch(prog: str, description: str, commands: dict[str, tuple[str, str]], argv: list[str] | None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in commands:
        lines = [f"usage: {prog} COMMAND ...", "", description, "", "commands:"]
        lines += [f"  {name:<10} {help_text}" for name, (_, help_text) in commands.items()]
        asked = bool(argv) and argv[0] in ("-h", "--help")
        print("\n".join(lines), file=sys.stdout if asked else sys.stderr)
        if argv and not asked:
            print(f"{prog}: unknown command {argv[0]!r}", file=sys.stderr)
        return 0 if asked else 2
    module = importlib.import_module(commands[argv[0]][0])
    parser = argparse.ArgumentParser(prog=f"{prog} {argv[0]}", description=commands[argv[0]][1])
    module.add_arguments(parser)
    args = parser.parse_args(argv[1:])
    try:
        return int(module.run(args) or 0)
    except KeyboardInterrupt:
        return 130
