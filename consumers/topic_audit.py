"""Does a namespace's event topics keep their contract? Read every event with a stock
``AvroDeserializer`` (what a downstream team would run) and check, per event and per aggregate:

- it decodes, and its ``metadata.aggregate_id`` is the message key;
- it sits on its aggregate's topic, on the partition Kafka's Java clients compute for the key
  (murmur2), so Java services can co-partition with us;
- each aggregate's versions are exactly 1..n, in order on its partition; a redelivery (at least
  once) repeats an event identically, never with other content.

``lis topics verify`` prints the verdict; ``lis demo`` ends with it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import Consumer

from consumers.flow_reader import DEFAULT_TIMEOUT_S, FlowEvent, read_events, watermarks
from producers.partitioning import java_partition
from producers.topics import Topics

_SHOWN = 20  # problems listed in full; the rest are counted


@dataclass
class TopicAudit:
    events: int = 0
    duplicates: int = 0  # identical redeliveries (same event id, same record)
    aggregates: int = 0
    by_type: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        if self.clean:
            return [
                f"{self.events} events of {self.aggregates} aggregates decoded by a stock "
                f"AvroDeserializer ({self.duplicates} identical redeliveries): versions 1..n "
                "per aggregate, every key on its murmur2 (Java) partition"
            ]
        shown = [f"  {p}" for p in self.problems[:_SHOWN]]
        more = len(self.problems) - _SHOWN
        return [
            f"{len(self.problems)} contract problems in {self.events} events:",
            *shown,
            *([f"  ... and {more} more"] if more > 0 else []),
        ]


def audit_topics(
    bootstrap: str, registry_url: str, topics: Topics, *, timeout_s: float = DEFAULT_TIMEOUT_S
) -> TopicAudit:
    start = watermarks(bootstrap, topics.events, end=False)
    counts = _partition_counts(bootstrap, topics.events)
    events = read_events(bootstrap, registry_url, start, timeout_s=timeout_s)
    return audit(events, topics, counts)


def audit(events: list[FlowEvent], topics: Topics, partitions: dict[str, int]) -> TopicAudit:
    """The checks on events read in partition (offset) order."""
    report = TopicAudit()
    seen: dict[str, dict[str, Any]] = {}
    versions: dict[tuple[str, str], list[int]] = defaultdict(list)
    for e in events:
        report.events += 1
        meta = e.metadata
        where = f"{e.topic}[{e.partition}]@{e.offset}"
        event_id, aggregate_id = meta["event_id"], meta["aggregate_id"]
        if (first := seen.get(event_id)) is not None:
            report.duplicates += 1
            if first != e.record:
                report.problems.append(f"{where}: event {event_id} repeated with other content")
            continue
        seen[event_id] = e.record
        report.by_type[meta["event_type"]] += 1
        if topics.aggregate_of(e.topic) != meta["aggregate_type"]:
            report.problems.append(f"{where}: a {meta['aggregate_type']} event on {e.topic}")
        if e.key != aggregate_id:
            report.problems.append(f"{where}: key {e.key!r} is not aggregate {aggregate_id}")
        elif (java := java_partition(e.key, partitions[e.topic])) != e.partition:
            report.problems.append(f"{where}: key {e.key} belongs on partition {java} (murmur2)")
        versions[(meta["aggregate_type"], aggregate_id)].append(int(meta["aggregate_version"]))
    for (kind, aggregate_id), found in versions.items():
        if found != list(range(1, len(found) + 1)):
            report.problems.append(f"{kind} {aggregate_id}: versions {found[:12]}, not 1..n")
    report.aggregates = len(versions)
    return report


def _partition_counts(bootstrap: str, names: tuple[str, ...]) -> dict[str, int]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "lis-topic-audit"})
    try:
        metadata = consumer.list_topics(timeout=10).topics
        return {n: len(metadata[n].partitions) for n in names if n in metadata}
    finally:
        consumer.close()
