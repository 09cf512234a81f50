"""Entry point of the firmware under simulation: ``INTERPRETER simmain.py PTY_PATH [setting=ms ...]``
with the firmware directory and this directory on the module path (MICROPYPATH / PYTHONPATH)."""
import sys

from app import FIRMWARE_VERSION, App
from simboard import SimBoard


def main(argv):
    settings = {}
    for item in argv[2:]:
        key, value = item.split("=")
        settings[key] = int(value)
    board = SimBoard(argv[1])
    board.trace({"firmware": "%d.%d.%d" % FIRMWARE_VERSION, "implementation": sys.implementation.name})
    App(board, **settings).run()


main(sys.argv)
