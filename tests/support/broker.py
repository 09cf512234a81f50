"""A real mosquitto for tests: the same wrapper the hall uses."""
from simulators.hall.broker import MOSQUITTO, Broker

__all__ = ["MOSQUITTO", "Broker"]
