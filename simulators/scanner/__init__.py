"""Simulated plain-output serial QR scanner module (hardware/scanner.md §2, §7), written from the
hardware notes and independent of ``drivers``."""
