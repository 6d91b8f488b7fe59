"""payment domain."""
