"""Entry point of the firmware under simulation:
``INTERPRETER simmain.py PTY_PATH FLASH_DIR RESET_CAUSE [setting=ms ...]`` with the flash folder (the
firmware's files, as on the board) and this directory on the module path (MICROPYPATH / PYTHONPATH).
The boot guard (fwboot.py, from the flash folder) runs exactly as on the board."""
import sys

import fwboot
from simboard import SimBoard


def main(argv):
    settings = {}
    for item in argv[4:]:
        key, value = item.split("=")
        settings[key] = int(value)
    board = SimBoard(argv[1], argv[2], int(argv[3]))
    fwboot.run(board, **settings)


main(sys.argv)
