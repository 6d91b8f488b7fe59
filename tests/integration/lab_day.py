"""A simulated lab day in a topic namespace of its own, for tests that read days back: the
relay and the lab's processors run on threads while the staff work, as in ``make demo``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date

from consumers.flow_reader import FlowEvent, read_events, watermarks
from domains.catalog.model import load_catalog
from infra.bootstrap import bootstrap
from infra.config.settings import Settings
from infra.simulation.day import run_day
from tests.integration.lab import lab_running, own_namespace


@dataclass(frozen=True)
class PublishedDay:
    settings: Settings  # pointed at the day's own namespace and database
    published: int  # records on the day's topics
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
    with own_namespace(stack, database_url, "day") as settings:
        catalog = load_catalog()
        bus = bootstrap(settings, catalog=catalog)
        with lab_running(settings) as lab:
            for i, org in enumerate(organizations):
                run_day(
                    bus, catalog, organization_id=org, patients=patients, seed=seed + i,
                    today=date.today(),
                )  # fmt: skip
            lab.settle()
        start = watermarks(settings.kafka_bootstrap, settings.topics().events, end=False)
        ends = watermarks(settings.kafka_bootstrap, settings.topics().events)
        published = sum(e.offset - s.offset for s, e in zip(start, ends, strict=True))
        events = read_events(settings.kafka_bootstrap, settings.schema_registry_url, start)
        yield PublishedDay(settings, published, events)
