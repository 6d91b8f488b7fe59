"""librdkafka settings of the project's consumers (processors, the consumer base)."""

from __future__ import annotations

from typing import Any


def consumer_config(bootstrap: str, group_id: str, **overrides: Any) -> dict[str, Any]:
    """At least once: offsets are stored by hand only after the effect committed.

    Auto-commit stays on but only commits what ``store_offsets`` recorded, so a crash between
    the effect and the store re-delivers the message (the inbox makes that a no-op).
    """
    config: dict[str, Any] = {
        "bootstrap.servers": bootstrap,
        "group.id": group_id,
        "enable.auto.commit": True,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "earliest",
        "isolation.level": "read_committed",
        # A worker killed outright (kill -9, a lost machine) holds its partitions until the
        # broker gives up on it: 10 s rather than librdkafka's 45, so a restarted or surviving
        # worker takes over soon; heartbeats go every 3 s, so a live one is never mistaken.
        "session.timeout.ms": 10_000,
    }
    config.update(overrides)
    return config
