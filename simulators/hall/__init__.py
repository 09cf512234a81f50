"""The simulated hall: a local mosquitto, the central simulator, every device simulator and the
terminal, started and stopped together (``kiosk-sim hall``). Tests reuse the same process wrappers."""
