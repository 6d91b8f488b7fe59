"""A simulated lab day in a topic namespace of its own, for tests that read days back."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date

from confluent_kafka.admin import AdminClient

from consumers.flow_reader import FlowEvent, read_events, watermarks
from domains.catalog.model import load_catalog
from infra.bootstrap import bootstrap, build_relay
from infra.config.settings import Settings
from infra.simulation.day import run_day
from producers.topics import ensure_topics


@dataclass(frozen=True)
class PublishedDay:
    settings: Settings  # pointed at the day's own namespace and database
    published: int
    events: list[FlowEvent]  # read back with the stock AvroDeserializer (the ground truth)


@contextmanager
def lab_day(
    stack: Settings,
    database_url: str,
    *,
    organizations: tuple[str, ...] = ("org-day",),
    patients: int = 3,
    seed: int = 7,
) -> Iterator[PublishedDay]:
    """Each organization's visits through the bus and the relay into fresh topics, deleted
    afterwards."""
    namespace = f"{stack.topic_namespace}-day-{uuid.uuid4().hex[:8]}"
    settings = stack.model_copy(update={"database_url": database_url, "topic_namespace": namespace})
    ensure_topics(settings.kafka_bootstrap, settings.topics())
    try:
        catalog = load_catalog()
        bus = bootstrap(settings, catalog=catalog)
        for i, org in enumerate(organizations):
            run_day(
                bus, catalog, organization_id=org, patients=patients, seed=seed + i,
                today=date.today(),
            )  # fmt: skip
        relay = build_relay(settings, 500)
        try:
            published = relay.drain()
        finally:
            relay.close()
        start = watermarks(settings.kafka_bootstrap, settings.topics().events, end=False)
        events = read_events(settings.kafka_bootstrap, settings.schema_registry_url, start)
        yield PublishedDay(settings, published, events)
    finally:
        admin = AdminClient({"bootstrap.servers": stack.kafka_bootstrap})
        for future in admin.delete_topics(list(settings.topics().events)).values():
            future.result(60)  # wait: a session that exits first never sends the request
