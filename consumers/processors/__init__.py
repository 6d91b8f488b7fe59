"""Stream processors: one module per reaction to events (see ``base``)."""
