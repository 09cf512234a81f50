"""Signed software updates with automatic rollback (issue 14): bundles, side-by-side installs, the health
window, and the update state reported to central. See docs/updates.md."""
from kiosk.update.status import UpdateStatus, update_state

__all__ = ["UpdateStatus", "update_state"]
