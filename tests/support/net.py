"""Loopback ports for tests: the same helpers the hall uses."""
from simulators.hall.net import free_port, wait_for_port

__all__ = ["free_port", "wait_for_port"]
