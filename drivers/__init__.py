"""Device drivers: each a pure protocol part (bytes in, objects out) and a transport part that opens a
port by pyserial URL."""
