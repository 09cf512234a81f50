"""Document-camera frame generator (independent of drivers.camera)."""
