"""Read back one or more business flows (by correlation id) from the event topics.

Filtering uses the ``correlation_id`` header, so only matching messages are decoded; decoding is
confluent_kafka's stock ``AvroDeserializer`` with nothing of this project's, as any downstream
service would do it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext

from domains.events import TOPIC_BY_AGGREGATE

EVENT_TOPICS = sorted(set(TOPIC_BY_AGGREGATE.values()))


@dataclass(frozen=True)
class FlowEvent:
    topic: str
    partition: int
    offset: int
    key: str
    record: dict[str, Any]

    @property
    def metadata(self) -> dict[str, Any]:
        return dict(self.record["metadata"])


def watermarks(
    bootstrap: str, topics: Iterable[str] = EVENT_TOPICS, *, end: bool = True
) -> list[TopicPartition]:
    """Every partition's end (or start) offset: read from the end to see only what comes next."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "lis-flow-reader"})
    try:
        marks = []
        metadata = consumer.list_topics(timeout=10)
        for topic in topics:
            if topic not in metadata.topics:
                continue
            for partition in sorted(metadata.topics[topic].partitions):
                low, high = consumer.get_watermark_offsets(
                    TopicPartition(topic, partition), timeout=10
                )
                marks.append(TopicPartition(topic, partition, high if end else low))
        return marks
    finally:
        consumer.close()


def read_flows(
    bootstrap: str,
    registry_url: str,
    start: list[TopicPartition],
    correlation_ids: set[str],
) -> list[FlowEvent]:
    """The events of these flows from ``start`` to the current end, in partition order."""
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": "lis-flow-reader", "enable.auto.commit": False}
    )
    # A timeout: without one a lost registry response would stall the reader for good.
    decode = AvroDeserializer(SchemaRegistryClient({"url": registry_url, "timeout": 10}))
    ends = {(tp.topic, tp.partition): _high(consumer, tp) for tp in start}
    todo = [tp for tp in start if ends[(tp.topic, tp.partition)] > tp.offset]
    remaining = {(tp.topic, tp.partition) for tp in todo}
    wanted = {c.encode() for c in correlation_ids}
    consumer.assign(todo)
    found: list[FlowEvent] = []
    try:
        while remaining:
            msg = consumer.poll(5.0)
            if msg is None:
                break
            if msg.error():
                raise RuntimeError(str(msg.error()))
            topic, partition = str(msg.topic()), int(msg.partition() or 0)
            offset = msg.offset() or 0
            headers = dict(msg.headers() or [])
            if headers.get("correlation_id") in wanted:
                record = decode(msg.value(), SerializationContext(topic, MessageField.VALUE))
                key = (msg.key() or b"").decode()
                found.append(FlowEvent(topic, partition, offset, key, record))
            if offset + 1 >= ends[(topic, partition)]:
                remaining.discard((topic, partition))
    finally:
        consumer.close()
    return found


def _high(consumer: Consumer, tp: TopicPartition) -> int:
    _low, high = consumer.get_watermark_offsets(TopicPartition(tp.topic, tp.partition), timeout=10)
    return int(high)
