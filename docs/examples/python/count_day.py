"""A downstream Python service reading the LIS event topics with stock confluent-kafka only.

    pip install 'confluent-kafka[avro,schemaregistry]'
    python count_day.py --topics lis.sample.events,lis.result.events --group my-team.count-day

Subscribes as its own consumer group, reads every event from the beginning until it has caught
up with every partition, and prints the number of events per event type. Nothing of the LIS
project is imported: the stock ``AvroDeserializer`` finds each writer schema in the registry by
the id in the message frame, with its default settings.

Delivery is at least once: after a producer retry or a consumer restart an event can arrive
twice, identical, with the same ``metadata.event_id``, so it is counted once per id. Offsets
are committed only after an event was counted (here: at the end).
"""

from __future__ import annotations

import argparse
from collections import Counter

from confluent_kafka import DeserializingConsumer, KafkaError
from confluent_kafka.error import ConsumeError
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import StringDeserializer


def count_day(bootstrap: str, registry: str, topics: list[str], group: str) -> Counter[str]:
    consumer = DeserializingConsumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "enable.partition.eof": True,  # tells when a partition is caught up
            "isolation.level": "read_committed",
            "key.deserializer": StringDeserializer("utf_8"),
            "value.deserializer": AvroDeserializer(SchemaRegistryClient({"url": registry})),
        }
    )
    counts: Counter[str] = Counter()
    seen: set[str] = set()
    caught_up: set[tuple[str, int]] = set()
    consumer.subscribe(topics)
    try:
        while True:
            assigned = {(tp.topic, tp.partition) for tp in consumer.assignment()}
            if assigned and assigned <= caught_up:
                break
            try:
                msg = consumer.poll(1.0)
            except ConsumeError as exc:  # the DeserializingConsumer raises what poll() reports
                if exc.code != KafkaError._PARTITION_EOF:
                    raise
                caught_up.add((exc.kafka_message.topic(), exc.kafka_message.partition()))
                continue
            if msg is None:
                continue
            metadata = msg.value()["metadata"]
            if metadata["event_id"] not in seen:  # at least once: dedupe on event_id
                seen.add(metadata["event_id"])
                counts[metadata["event_type"]] += 1
        consumer.commit(asynchronous=False)
    finally:
        consumer.close()
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description="Count a day's LIS events per event type.")
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--registry", default="http://127.0.0.1:8081/apis/ccompat/v7")
    parser.add_argument("--topics", required=True, help="comma-separated topic names")
    parser.add_argument("--group", required=True, help="this service's consumer group id")
    args = parser.parse_args()
    counts = count_day(args.bootstrap, args.registry, args.topics.split(","), args.group)
    for event_type, n in sorted(counts.items()):
        print(f"{event_type:<28} {n}")
    print(f"{'total':<28} {sum(counts.values())}")


if __name__ == "__main__":
    main()
