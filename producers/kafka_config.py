"""librdkafka settings of every producer the project runs: the relay, dead letters, benchmarks.

One place, so the benchmark's "raw producer" baseline runs with exactly the relay's settings,
and so every producer partitions keys the same way.
"""

from __future__ import annotations

from typing import Any


def producer_config(bootstrap: str, **overrides: Any) -> dict[str, Any]:
    """An idempotent, acks=all producer tuned for throughput without giving up ordering.

    Idempotence keeps per-partition order and removes duplicates from librdkafka's own retries
    (it implies max.in.flight <= 5 and acks=all). ``delivery.report.only.error`` spares the
    Python callback for every successful message: the relay treats "flush() drained the queue
    and no error report arrived" as "every message acknowledged", which is what we need and
    costs nothing per message.
    """
    config: dict[str, Any] = {
        "bootstrap.servers": bootstrap,
        # Kafka's Java clients (default partitioner), Kafka Streams and ksqlDB put a key on
        # murmur2(key) % partitions; librdkafka's default is CRC32. With murmur2 a Java service
        # can co-partition and join with our topics. ("_random": a null key, which we never
        # send, would go to a random partition, as in Java.)
        "partitioner": "murmur2_random",
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
