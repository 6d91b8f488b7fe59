"""Read back events from the event topics: one or more business flows (by correlation id), or
everything from some offsets on.

Filtering uses the ``correlation_id`` header, so only matching messages are decoded; decoding is
confluent_kafka's stock ``AvroDeserializer`` with nothing of this project's, as any downstream
service would do it.

The read is complete or it fails: it goes on until every partition has reached the end offset
noted when it began, however long the broker pauses between fetches, and raises
``FlowReadTimeout`` (naming the partitions short of their end) if the overall deadline passes
first. A partial flow that looks whole would mislead whoever is tracing a lab incident.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, KafkaError, TopicPartition
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext

DEFAULT_TIMEOUT_S = 120.0
# Partitions are assigned, never subscribed, and no offset is committed: the id joins no group.
_READER_GROUP = "lis-flow-reader"


class FlowReadTimeout(RuntimeError):
    """The topics could not be read to their end in time; the flow would be incomplete."""


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


def watermarks(bootstrap: str, topics: Iterable[str], *, end: bool = True) -> list[TopicPartition]:
    """Every partition's end (or start) offset: read from the end to see only what comes next."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": _READER_GROUP})
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
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> list[FlowEvent]:
    """The events of these flows from ``start`` to the end offsets of now, in partition order.

    Raises ``FlowReadTimeout`` if some partition has not been read to its end within
    ``timeout_s``: never a silently partial result.
    """
    wanted = {c.encode() for c in correlation_ids}
    return read_events(
        bootstrap,
        registry_url,
        start,
        keep=lambda headers: headers.get("correlation_id") in wanted,
        timeout_s=timeout_s,
    )


def read_events(
    bootstrap: str,
    registry_url: str,
    start: list[TopicPartition],
    *,
    keep: Callable[[dict[str, bytes | None]], bool] = lambda _headers: True,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> list[FlowEvent]:
    """Every event from ``start`` to the end offsets of now whose headers ``keep`` accepts
    (only those are decoded), in partition order; ``FlowReadTimeout`` as ``read_flows``."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": _READER_GROUP,
            "enable.auto.commit": False,
            # An explicit "reached the end" per partition, so the loop need not infer it.
            "enable.partition.eof": True,
        }
    )
    # A timeout: without one a lost registry response would stall the reader for good.
    decode = AvroDeserializer(SchemaRegistryClient({"url": registry_url, "timeout": 10}))
    deadline = time.monotonic() + timeout_s
    ends = {(tp.topic, tp.partition): _high(consumer, tp) for tp in start}
    todo = [tp for tp in start if ends[(tp.topic, tp.partition)] > tp.offset]
    remaining = {(tp.topic, tp.partition) for tp in todo}
    found: list[FlowEvent] = []
    try:
        if todo:
            consumer.assign(todo)
        while remaining:
            left = deadline - time.monotonic()
            if left <= 0:
                raise FlowReadTimeout(_short_of_end(consumer, remaining, ends, timeout_s))
            # Short polls: a quiet partition is not an end, only the end offset is.
            msg = consumer.poll(min(1.0, left))
            if msg is None:
                continue
            topic, partition = str(msg.topic()), int(msg.partition() or 0)
            if (err := msg.error()) is not None:
                if err.code() == KafkaError._PARTITION_EOF:
                    remaining.discard((topic, partition))
                    continue
                raise RuntimeError(f"reading {topic}[{partition}]: {err}")
            offset = msg.offset() or 0
            headers: dict[str, bytes | None] = dict(msg.headers() or [])  # type: ignore[arg-type]
            if keep(headers):
                record = decode(msg.value(), SerializationContext(topic, MessageField.VALUE))
                key = (msg.key() or b"").decode()
                found.append(FlowEvent(topic, partition, offset, key, record))
            if offset + 1 >= ends[(topic, partition)]:
                remaining.discard((topic, partition))
    finally:
        consumer.close()
    return found


def _short_of_end(
    consumer: Consumer,
    remaining: set[tuple[str, int]],
    ends: dict[tuple[str, int], int],
    timeout_s: float,
) -> str:
    positions = consumer.position([TopicPartition(t, p) for t, p in sorted(remaining)])
    behind = ", ".join(
        f"{tp.topic}[{tp.partition}] at {tp.offset if tp.offset >= 0 else 'start'}"
        f" of {ends[(tp.topic, tp.partition)]}"
        for tp in positions
    )
    return (
        f"could not read the event topics to their end within {timeout_s:.0f} s "
        f"({behind}); the flow would be incomplete. Is Kafka ({len(remaining)} partitions "
        "behind) slow or unreachable? Try again, or raise the timeout."
    )


def _high(consumer: Consumer, tp: TopicPartition) -> int:
    _low, high = consumer.get_watermark_offsets(TopicPartition(tp.topic, tp.partition), timeout=10)
    return int(high)
