"""librdkafka settings shared by the relay, the dead-letter producer, consumers and the benchmark.

One place, so the benchmark's "raw producer" baseline runs with exactly the relay's settings.
"""

from __future__ import annotations

from typing import Any

from infra.settings import Settings


def producer_config(settings: Settings, **overrides: Any) -> dict[str, Any]:
    """An idempotent, acks=all producer tuned for throughput without giving up ordering.

    Idempotence keeps per-partition order and removes duplicates from librdkafka's own retries
    (it implies max.in.flight <= 5 and acks=all). ``delivery.report.only.error`` spares the
    Python callback for every successful message: the relay treats "flush() drained the queue
    and no error report arrived" as "every message acknowledged", which is what we need and
    costs nothing per message.
    """
    config: dict[str, Any] = {
        "bootstrap.servers": settings.kafka_bootstrap,
        "enable.idempotence": True,
        "acks": "all",
        # Batches fill up while the relay is still producing from the same fetch; 5 ms of
        # linger costs nothing at throughput and bounds latency for a lone event.
        "linger.ms": 5,
        "batch.size": 1_000_000,
        "batch.num.messages": 10_000,
        "queue.buffering.max.messages": 500_000,
        "queue.buffering.max.kbytes": 1_048_576,
        # lz4: cheapest CPU per byte on a small machine; Avro records of a lab event compress
        # well because field names are absent but ids and codes repeat.
        "compression.type": "lz4",
        "delivery.report.only.error": True,
        # Give up on a message after two minutes; the relay then re-sends the whole batch.
        "message.timeout.ms": 120_000,
    }
    config.update(overrides)
    return config


def consumer_config(settings: Settings, group_id: str, **overrides: Any) -> dict[str, Any]:
    """At least once: offsets are stored by hand only after the effect committed.

    Auto-commit stays on but only commits what ``store_offsets`` recorded, so a crash between
    the effect and the store re-delivers the message (the inbox makes that a no-op).
    """
    config: dict[str, Any] = {
        "bootstrap.servers": settings.kafka_bootstrap,
        "group.id": group_id,
        "enable.auto.commit": True,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "earliest",
        "isolation.level": "read_committed",
    }
    config.update(overrides)
    return config
