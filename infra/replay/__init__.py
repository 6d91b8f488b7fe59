"""``lis replay``: event topics to JSON Lines, CSV or Parquet (see consumers.replay)."""
