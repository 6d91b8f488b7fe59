"""How far behind a consumer group is: per partition, the end offset minus what it committed.

Read without joining the group (an offset fetch, not a subscription), so asking never moves a
partition away from a running worker. A partition the group never committed counts from its
first offset (the groups start at "earliest").
"""

from __future__ import annotations

from collections.abc import Iterable

from confluent_kafka import Consumer, TopicPartition

_TIMEOUT_S = 10.0


def group_lag(bootstrap: str, group: str, topics: Iterable[str]) -> dict[tuple[str, int], int]:
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False}
    )
    try:
        metadata = consumer.list_topics(timeout=_TIMEOUT_S).topics
        partitions = [
            TopicPartition(topic, p)
            for topic in topics
            if topic in metadata
            for p in sorted(metadata[topic].partitions)
        ]
        lag: dict[tuple[str, int], int] = {}
        for tp in consumer.committed(partitions, timeout=_TIMEOUT_S) if partitions else []:
            low, high = consumer.get_watermark_offsets(
                TopicPartition(tp.topic, tp.partition), timeout=_TIMEOUT_S
            )
            done = tp.offset if tp.offset >= 0 else low
            lag[(tp.topic, tp.partition)] = max(0, int(high) - int(done))
        return lag
    finally:
        consumer.close()
