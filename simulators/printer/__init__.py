"""Simulated ESC/POS thermal printer: an independent byte interpreter and a paper roll rendered to PNG."""
