"""The event topics and their settings; ``lis topics create`` makes them, idempotently.

Retention: event topics are kept forever (``retention.ms=-1``, ``retention.bytes=-1``) with
``cleanup.policy=delete``. Not ``compact``: compaction keeps only the latest record per key, and
the key is the aggregate id, so it would throw away every event of a sample but its last. The
topics are the lab's audit trail (who collected, received, verified, amended what, and when)
and the source analysts and new services replay from, so every event must stay. "delete" with
infinite retention never deletes; storage is sized for it (tiered storage is the lever if not).

``min.insync.replicas``: 1 while RF <= 2 (with RF 2, requiring both replicas would stop all
writes whenever one broker restarts), else a majority of the replicas, so that with acks=all an
acknowledged event survives the loss of any minority of brokers.

Dead-letter topics (``lis.dlq.<consumer>``) get the same settings: a poisoned lab event must be
kept until someone looks at it, however long that takes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient
from confluent_kafka.admin._config import ConfigResource  # re-exported, but not for mypy
from confluent_kafka.cimpl import NewTopic

from infra.settings import Settings

EVENT_TOPICS: tuple[str, ...] = (
    "lis.patient.events",
    "lis.order.events",
    "lis.sample.events",
    "lis.result.events",
    "lis.report.events",
    "lis.payment.events",
    "lis.notification.events",
)

_TIMEOUT_S = 30.0


def dlq_topic(consumer: str) -> str:
    return f"lis.dlq.{consumer}"


def min_insync_replicas(replication_factor: int) -> int:
    return 1 if replication_factor <= 2 else replication_factor // 2 + 1


def topic_config(replication_factor: int) -> dict[str, str]:
    return {
        "cleanup.policy": "delete",
        "retention.ms": "-1",
        "retention.bytes": "-1",
        "min.insync.replicas": str(min_insync_replicas(replication_factor)),
    }


@dataclass
class TopicsReport:
    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    # topic -> {config name: (expected, actual)}; partition count drift is reported as a config.
    drift: dict[str, dict[str, tuple[str, str]]] = field(default_factory=dict)


def ensure_topics(
    settings: Settings,
    names: Iterable[str] = EVENT_TOPICS,
    *,
    admin: AdminClient | None = None,
) -> TopicsReport:
    """Create missing topics; report (never silently change) settings of existing ones."""
    admin = admin or AdminClient({"bootstrap.servers": settings.kafka_bootstrap})
    rf = settings.topic_replication_factor
    wanted = topic_config(rf)
    report = TopicsReport()
    new = [NewTopic(n, settings.topic_partitions, rf, config=wanted) for n in names]
    for name, future in admin.create_topics(new, request_timeout=_TIMEOUT_S).items():
        try:
            future.result()
            report.created.append(name)
        except KafkaException as exc:
            if exc.args[0].name() != "TOPIC_ALREADY_EXISTS":
                raise
            report.existing.append(name)
    if report.existing:
        report.drift = _drift(admin, report.existing, wanted, settings.topic_partitions)
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
