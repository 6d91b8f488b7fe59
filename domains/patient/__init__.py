"""patient domain."""
