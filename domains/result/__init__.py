"""result domain."""
