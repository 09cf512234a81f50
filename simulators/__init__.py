"""Device and central-platform simulators: independent implementations written from the device
documentation and the MQTT contract. They never import ``drivers`` or ``edge_sync``."""
