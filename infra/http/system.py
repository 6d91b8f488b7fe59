"""The API's view of the rest of the system, for ``/health`` and ``/metrics``: the database,
Kafka, the schema registry and Redis answering; the outbox backlog; each processor group's lag;
the critical values' detection-to-notification and -to-acknowledgement times."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
from redis import Redis
from sqlalchemy import Engine, text

from infra.http.health import Check
from infra.http.metrics import SystemSources

# the last day's episodes: enough for the histograms, bounded for the scrape
_EPISODES = text(
    """
    SELECT e
      FROM results, jsonb_array_elements(data->'criticals') AS e
     WHERE updated_at > now() - interval '1 day'
    """
)


def health_checks(
    engine: Engine, redis: Redis[bytes], kafka_bootstrap: str, registry_url: str
) -> dict[str, Check]:
    def database() -> None:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def broker() -> None:
        from confluent_kafka.admin import AdminClient

        AdminClient({"bootstrap.servers": kafka_bootstrap}).list_topics(timeout=3)

    def registry() -> None:
        httpx.get(f"{registry_url}/subjects", timeout=3).raise_for_status()

    def cache() -> None:
        redis.ping()

    return {"database": database, "broker": broker, "registry": registry, "redis": cache}


class LiveSources(SystemSources):
    def __init__(
        self, engine: Engine, kafka_bootstrap: str, groups: dict[str, str], topics: tuple[str, ...]
    ) -> None:
        self.engine, self.bootstrap = engine, kafka_bootstrap
        self.groups, self.topics = groups, topics  # processor name -> consumer group

    def outbox_backlog(self) -> int | None:
        with self.engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM outbox")).scalar_one())

    def consumer_lag(self) -> dict[str, int]:
        from confluent_kafka import Consumer, TopicPartition

        lag: dict[str, int] = {}
        for name, group in self.groups.items():
            consumer = Consumer(
                {
                    "bootstrap.servers": self.bootstrap,
                    "group.id": group,
                    "enable.auto.commit": False,
                }
            )
            try:
                metadata = consumer.list_topics(timeout=3)
                partitions = [
                    TopicPartition(topic, p)
                    for topic in self.topics
                    if topic in metadata.topics
                    for p in metadata.topics[topic].partitions
                ]
                committed = consumer.committed(partitions, timeout=3)
                total = 0
                for tp in committed:
                    _, high = consumer.get_watermark_offsets(tp, timeout=3, cached=False)
                    total += high - tp.offset if tp.offset >= 0 else high
                lag[name] = total
            finally:
                consumer.close()
        return lag

    def critical_timings(self) -> tuple[list[float], list[float]]:
        with self.engine.connect() as conn:
            episodes: list[dict[str, Any]] = list(conn.execute(_EPISODES).scalars())
        notified: list[float] = []
        acknowledged: list[float] = []
        for e in episodes:
            detected = datetime.fromisoformat(e["detected_at"])
            # notified_at: set by the notification processor where it records one
            for key, into in (("notified_at", notified), ("acknowledged_at", acknowledged)):
                if e.get(key):
                    into.append(_seconds(datetime.fromisoformat(e[key]) - detected))
        return notified, acknowledged


def _seconds(delta: timedelta) -> float:
    return max(0.0, delta.total_seconds())
