"""IO board simulator: runs the real firmware from ``firmware/io_board`` on simulated pins."""
