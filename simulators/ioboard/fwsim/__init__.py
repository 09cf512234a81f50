"""Board support that lets the real IO board firmware run on a computer (MicroPython unix port or CPython)."""
