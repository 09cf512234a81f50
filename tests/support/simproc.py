"""Simulator processes for tests: the same wrapper the hall uses."""
from simulators.hall.procs import ManagedProcess, SimProcess

__all__ = ["ManagedProcess", "SimProcess"]
