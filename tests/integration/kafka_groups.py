"""Consumer groups for tests on the shared stack: each test has a fresh database, so a worker
must not re-apply the events earlier tests (or earlier runs) left on the namespace's topics."""

from __future__ import annotations

from collections.abc import Sequence

from confluent_kafka import Consumer, TopicPartition

from consumers.flow_reader import watermarks
from infra.config.settings import Settings


def commit_at_end(settings: Settings, group: str, topics: Sequence[str]) -> None:
    """Commit ``group``'s offsets at the topics' current end: its next member starts there
    (and, unlike ``auto.offset.reset=latest``, misses nothing produced while it joins)."""
    consumer = Consumer({"bootstrap.servers": settings.kafka_bootstrap, "group.id": group})
    try:
        ends = [
            TopicPartition(t.topic, t.partition, t.offset)
            for t in watermarks(settings.kafka_bootstrap, topics)
        ]
        consumer.commit(offsets=ends, asynchronous=False)
    finally:
        consumer.close()
