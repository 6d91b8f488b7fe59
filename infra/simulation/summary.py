"""What a simulated day put on Kafka, read back with stock Confluent clients."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from confluent_kafka import Consumer, DeserializingConsumer, TopicPartition
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import StringDeserializer

from domains.events import TOPIC_BY_AGGREGATE

TOPICS = sorted(set(TOPIC_BY_AGGREGATE.values()))


def end_offsets(bootstrap: str, topics: Iterable[str] = TOPICS) -> list[TopicPartition]:
    """The current end of every partition: read from here to see only what comes next."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "lis-summary-probe"})
    try:
        marks = []
        metadata = consumer.list_topics(timeout=10)
        for topic in topics:
            for partition in sorted(metadata.topics[topic].partitions):
                _low, high = consumer.get_watermark_offsets(
                    TopicPartition(topic, partition), timeout=10
                )
                marks.append(TopicPartition(topic, partition, high))
        return marks
    finally:
        consumer.close()


def read_events(
    bootstrap: str,
    registry_url: str,
    start: list[TopicPartition],
    correlation_ids: set[str],
) -> list[tuple[str, str, dict[str, Any]]]:
    """(topic, key, record) of every event of these flows published after ``start``, in
    partition order, decoded with a stock AvroDeserializer and nothing of this project's:
    proof that any downstream service can read the topics."""
    registry = SchemaRegistryClient({"url": registry_url})
    consumer = DeserializingConsumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "lis-summary",
            "enable.auto.commit": False,
            "key.deserializer": StringDeserializer("utf_8"),
            "value.deserializer": AvroDeserializer(registry),
        }
    )
    ends = {(tp.topic, tp.partition): _high(consumer, tp) for tp in start}
    todo = [tp for tp in start if ends[(tp.topic, tp.partition)] > tp.offset]
    remaining = {(tp.topic, tp.partition) for tp in todo}
    consumer.assign(todo)
    events: list[tuple[str, str, dict[str, Any]]] = []
    try:
        while remaining:
            msg = consumer.poll(5.0)
            if msg is None:
                break
            if msg.error():
                raise RuntimeError(str(msg.error()))
            topic, partition, offset = str(msg.topic()), int(msg.partition() or 0), msg.offset()
            value: Any = msg.value()
            if value["metadata"]["correlation_id"] in correlation_ids:
                events.append((topic, str(msg.key()), value))
            if (offset or 0) + 1 >= ends[(topic, partition)]:
                remaining.discard((topic, partition))
    finally:
        consumer.close()
    return events


def count_events(
    bootstrap: str,
    registry_url: str,
    start: list[TopicPartition],
    correlation_ids: set[str],
) -> Counter[tuple[str, str]]:
    """(topic, event_type) counts of the events of these flows."""
    return Counter(
        (topic, record["metadata"]["event_type"])
        for topic, _key, record in read_events(bootstrap, registry_url, start, correlation_ids)
    )


def _high(consumer: DeserializingConsumer, tp: TopicPartition) -> int:
    _low, high = consumer.get_watermark_offsets(TopicPartition(tp.topic, tp.partition), timeout=10)
    return int(high)


def format_counts(counts: Counter[tuple[str, str]]) -> list[str]:
    lines = []
    for topic in TOPICS:
        per_type = {t: n for (tp, t), n in counts.items() if tp == topic}
        if not per_type:
            continue
        lines.append(f"{topic:<26} {sum(per_type.values()):>7}")
        lines += [f"    {etype:<32} {n:>7}" for etype, n in sorted(per_type.items())]
    lines.append(f"{'total':<26} {sum(counts.values()):>7}")
    return lines
