"""The terminal application: session, services, catalog, receipts, web UI, configuration and CLI."""
__version__ = "0.1.0"
