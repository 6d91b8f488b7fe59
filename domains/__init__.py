"""Pure domain layer: aggregates, commands, events and handlers. No Kafka, no SQL."""
