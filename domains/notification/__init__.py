"""notification domain."""
