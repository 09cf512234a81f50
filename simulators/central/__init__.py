"""Central-platform simulator (智慧政务平台): plays the central side of contract central-mqtt-v1 over a
real MQTT 5 broker, written from the contract alone (never imports drivers, edge_sync or kiosk)."""
