"""Durable store-and-forward between the terminal and the central platform (MQTT 5)."""
