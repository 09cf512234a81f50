"""Command-line entry points: ``kiosk`` (application and operations) and ``kiosk-device`` (technician)."""
