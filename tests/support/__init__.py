"""Test harness pieces shared by every test package: simulator processes, a real mosquitto."""
