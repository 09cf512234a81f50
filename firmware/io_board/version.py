"""The firmware's version, reported in WELCOME (MAJOR, MINOR, PATCH). A module of its own so that an
update can be told apart by this file alone."""
FIRMWARE_VERSION = (1, 0, 0)
