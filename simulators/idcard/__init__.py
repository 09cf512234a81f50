"""Simulated second-generation ID-card reader (SAM serial protocol), written from the hardware document
independently of ``drivers.idcard``."""
