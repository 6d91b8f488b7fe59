"""The one list of topics: every topic, consumer group and dead-letter name comes from here.

Names live in a namespace (``LIS_TOPIC_NAMESPACE``, default ``lis``): ``lis.sample.events``,
``lis.dlq.<consumer>``, consumer group ``lis.<consumer>``. A test run uses its own namespace,
so it never writes into the topics a developer's stack (``make demo``) serves.

Retention: event topics are kept forever (``retention.ms=-1``, ``retention.bytes=-1``) with
``cleanup.policy=delete``. Not ``compact``: compaction keeps only the latest record per key, and
the key is the aggregate id, so it would throw away every event of a sample but its last. The
topics are the lab's audit trail (who collected, received, verified, amended what, and when)
and the source analysts and new services replay from, so every event must stay. "delete" with
infinite retention never deletes; storage is sized for it (tiered storage is the lever if not).

``min.insync.replicas``: 1 while RF <= 2 (with RF 2, requiring both replicas would stop all
writes whenever one broker restarts), else a majority of the replicas, so that with acks=all an
acknowledged event survives the loss of any minority of brokers.

Dead-letter topics get the same settings: a poisoned lab event must be kept until someone looks
at it, however long that takes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient
from confluent_kafka.admin._config import ConfigResource  # re-exported, but not for mypy
from confluent_kafka.cimpl import NewTopic

from domains.events import ALL_EVENTS
from domains.shared.messages import Event

# One topic per aggregate that publishes events, in the contract's order (DESIGN.md).
AGGREGATE_TYPES: tuple[str, ...] = tuple(dict.fromkeys(e.aggregate_type for e in ALL_EVENTS))
_LEGAL = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$")
_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Topics:
    """Topic names and settings of one namespace."""

    namespace: str = "lis"
    partitions: int = 6
    replication_factor: int = 1

    def __post_init__(self) -> None:
        if not _LEGAL.match(self.namespace) or len(self.namespace) > 100:
            raise ValueError(
                f"topic namespace {self.namespace!r}: letters, digits, '_', '-' and inner dots"
            )

    def for_aggregate(self, aggregate_type: str) -> str:
        if aggregate_type not in AGGREGATE_TYPES:
            raise LookupError(f"no topic for aggregate type {aggregate_type!r}")
        return f"{self.namespace}.{aggregate_type.lower()}.events"

    def for_event(self, event: Event | type[Event]) -> str:
        return self.for_aggregate(event.aggregate_type)

    @property
    def events(self) -> tuple[str, ...]:
        """Every event topic, in the contract's order."""
        return tuple(self.for_aggregate(a) for a in AGGREGATE_TYPES)

    def aggregate_of(self, topic: str) -> str | None:
        """The aggregate type whose events ``topic`` holds (None: not one of ours)."""
        return next((a for a in AGGREGATE_TYPES if self.for_aggregate(a) == topic), None)

    def dlq(self, consumer: str) -> str:
        return f"{self.namespace}.dlq.{consumer}"

    def group(self, consumer: str) -> str:
        """The consumer group id of a processor (or any named reader)."""
        return f"{self.namespace}.{consumer}"

    def config(self) -> dict[str, str]:
        return {
            "cleanup.policy": "delete",
            "retention.ms": "-1",
            "retention.bytes": "-1",
            "min.insync.replicas": str(min_insync_replicas(self.replication_factor)),
        }


def min_insync_replicas(replication_factor: int) -> int:
    return 1 if replication_factor <= 2 else replication_factor // 2 + 1


@dataclass
class TopicsReport:
    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    # topic -> {config name: (expected, actual)}; partition count drift is reported as a config.
    drift: dict[str, dict[str, tuple[str, str]]] = field(default_factory=dict)


def ensure_topics(
    bootstrap: str,
    topics: Topics,
    names: Iterable[str] | None = None,
    *,
    admin: AdminClient | None = None,
) -> TopicsReport:
    """Create missing topics (default: the namespace's event topics); report, never silently
    change, the settings of existing ones."""
    admin = admin or AdminClient({"bootstrap.servers": bootstrap})
    wanted = topics.config()
    report = TopicsReport()
    new = [
        NewTopic(n, topics.partitions, topics.replication_factor, config=wanted)
        for n in (topics.events if names is None else names)
    ]
    for name, future in admin.create_topics(new, request_timeout=_TIMEOUT_S).items():
        try:
            future.result()
            report.created.append(name)
        except KafkaException as exc:
            if exc.args[0].name() != "TOPIC_ALREADY_EXISTS":
                raise
            report.existing.append(name)
    if report.existing:
        report.drift = _drift(admin, report.existing, wanted, topics.partitions)
    return report


def _drift(
    admin: AdminClient, names: list[str], wanted: dict[str, str], partitions: int
) -> dict[str, dict[str, tuple[str, str]]]:
    drift: dict[str, dict[str, tuple[str, str]]] = {}
    resources = [ConfigResource(ConfigResource.Type.TOPIC, n) for n in names]
    for resource, future in admin.describe_configs(resources, request_timeout=_TIMEOUT_S).items():
        actual: dict[str, Any] = future.result()
        diff = {
            key: (value, str(actual[key].value))
            for key, value in wanted.items()
            if key in actual and str(actual[key].value) != value
        }
        if diff:
            drift[resource.name] = diff
    metadata = admin.list_topics(timeout=_TIMEOUT_S).topics
    for name in names:
        count = len(metadata[name].partitions) if name in metadata else 0
        if count != partitions:
            drift.setdefault(name, {})["partitions"] = (str(partitions), str(count))
    return drift
